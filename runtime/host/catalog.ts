// Loading a role: by name from an explicit table of role modules (the CLI's, `cli/roles.ts`), or
// from a module path (a user's own implementation, e.g. `troupe swap critic --impl ./my-critic.ts`).
// A role module's default export is a RoleDefinition, or — for a role that needs live dependencies
// (a KV bucket, a model client) — it exports `createRole(ctx)` that builds one from the worker's
// NATS connection. The runtime names no role itself: the table is handed in by whoever hosts.
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { RoleContext, RoleDefinition } from './role.ts';

export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

/** What a role module exports. */
export interface RoleModule {
  default?: RoleDefinition;
  role?: RoleDefinition;
  createRole?: (ctx: RoleContext) => Promise<RoleDefinition>;
  /** Text a host seeds into the instructions bucket when the role's key has never been written. */
  defaultInstructions?: unknown;
}

export interface RoleEntry {
  /** One line for `troupe worker --help` and the docs. */
  summary: string;
  /** Where the implementation lives (shown by `ps`; informational). */
  module: string;
  load: () => Promise<RoleModule>;
}

/** Role name → module. Explicit imports, so a rename breaks the typecheck, not a run. */
export type RoleCatalog = Readonly<Record<string, RoleEntry>>;

/** True when `impl` names a module file rather than a role of the catalog. */
export function isModulePath(impl: string): boolean {
  return /[/\\]|\.[cm]?[jt]s$/.test(impl);
}

function modulePath(impl: string): string {
  return isAbsolute(impl) ? impl : resolve(process.cwd(), impl);
}

/**
 * Load a role by catalog name or module path. `expectRole` (the role it must implement) defaults
 * to the catalog name.
 */
export async function loadRole(
  roleOrPath: string,
  expectRole: string | undefined,
  ctx: RoleContext | undefined,
  catalog: RoleCatalog,
): Promise<{ def: RoleDefinition; module: string; defaultInstructions?: string }> {
  let module: string;
  let mod: RoleModule;
  if (isModulePath(roleOrPath)) {
    module = modulePath(roleOrPath);
    try {
      mod = (await import(pathToFileURL(module).href)) as RoleModule;
    } catch (err) {
      throw new Error(`cannot load role module ${module}: ${(err as Error).message}`);
    }
  } else {
    const entry = Object.hasOwn(catalog, roleOrPath) ? catalog[roleOrPath] : undefined;
    if (!entry) throw new Error(`unknown role "${roleOrPath}": the roles are ${Object.keys(catalog).join(', ')}; or pass a module path`);
    module = entry.module;
    try {
      mod = await entry.load();
    } catch (err) {
      throw new Error(`cannot load role ${roleOrPath} (${module}): ${(err as Error).message}`);
    }
  }
  let def = mod.default ?? mod.role;
  if (!def && typeof mod.createRole === 'function') {
    if (!ctx) throw new Error(`role module ${module} builds its role from a NATS connection (createRole): host it with troupe worker`);
    try {
      def = await mod.createRole(ctx);
    } catch (err) {
      throw new Error(`role module ${module}: createRole failed: ${(err as Error).message}`);
    }
  }
  if (!def || typeof def !== 'object' || !def.machine || !def.name) {
    throw new Error(`role module ${module} must export a RoleDefinition (defineRole(...)) as default, or createRole(ctx)`);
  }
  if (expectRole && def.name !== expectRole) {
    throw new Error(`role module ${module} implements role "${def.name}", not "${expectRole}"`);
  }
  const defaultInstructions = typeof mod.defaultInstructions === 'string' && mod.defaultInstructions.trim() ? mod.defaultInstructions : undefined;
  return { def, module, defaultInstructions };
}
