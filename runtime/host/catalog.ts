// Role name → module path. A role module's default export is a RoleDefinition, or — for a role that
// needs live dependencies (a KV bucket, a model client) — it exports `createRole(ctx)` that builds
// one from the worker's NATS connection (the synthesis roles). By convention role
// `x` lives in `actors/x/role.ts` and needs no entry here; the table below names the exceptions
// (the runtime's own test roles in tests/fixtures/roles).
import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { RoleContext, RoleDefinition } from './role.ts';

export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

export const roleCatalog: Record<string, string> = {
  'stage-a': 'tests/fixtures/roles/stage-a.ts',
  'stage-b': 'tests/fixtures/roles/stage-b.ts',
  'stage-c': 'tests/fixtures/roles/stage-c.ts',
};

/** Absolute module path for a role name or a module path (relative to cwd, then the repo root). */
export function resolveRoleModule(roleOrPath: string): string {
  if (/[/\\]|\.[cm]?[jt]s$/.test(roleOrPath)) {
    return isAbsolute(roleOrPath) ? roleOrPath : resolve(process.cwd(), roleOrPath);
  }
  const rel = roleCatalog[roleOrPath];
  if (rel) return resolve(REPO_ROOT, rel);
  const conventional = join(REPO_ROOT, 'actors', roleOrPath, 'role.ts');
  if (existsSync(conventional)) return conventional;
  throw new Error(`unknown role "${roleOrPath}": no actors/${roleOrPath}/role.ts and not in the catalog (${Object.keys(roleCatalog).join(', ')}); pass a module path instead`);
}

/**
 * Load a role module. Besides the role, a module may export `defaultInstructions` (a string): the
 * text a host seeds into the instructions bucket when the role's key has never been written.
 */
export async function loadRole(roleOrPath: string, expectRole?: string, ctx?: RoleContext): Promise<{ def: RoleDefinition; module: string; defaultInstructions?: string }> {
  const module = resolveRoleModule(roleOrPath);
  let mod: { default?: RoleDefinition; role?: RoleDefinition; createRole?: (ctx: RoleContext) => Promise<RoleDefinition>; defaultInstructions?: unknown };
  try {
    mod = await import(pathToFileURL(module).href);
  } catch (err) {
    throw new Error(`cannot load role module ${module}: ${(err as Error).message}`);
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
