// Role name → module path. A role module's default export is a RoleDefinition. Real roles (actors/)
// add themselves here; until they exist, the runtime's test roles live in tests/fixtures/roles.
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { RoleDefinition } from './role.ts';

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
  if (!rel) throw new Error(`unknown role "${roleOrPath}" (known: ${Object.keys(roleCatalog).join(', ')}); pass a module path instead`);
  return resolve(REPO_ROOT, rel);
}

export async function loadRole(roleOrPath: string, expectRole?: string): Promise<{ def: RoleDefinition; module: string }> {
  const module = resolveRoleModule(roleOrPath);
  let mod: { default?: RoleDefinition; role?: RoleDefinition };
  try {
    mod = await import(pathToFileURL(module).href);
  } catch (err) {
    throw new Error(`cannot load role module ${module}: ${(err as Error).message}`);
  }
  const def = mod.default ?? mod.role;
  if (!def || typeof def !== 'object' || !def.machine || !def.name) {
    throw new Error(`role module ${module} must export a RoleDefinition (defineRole(...)) as default`);
  }
  if (expectRole && def.name !== expectRole) {
    throw new Error(`role module ${module} implements role "${def.name}", not "${expectRole}"`);
  }
  return { def, module };
}
