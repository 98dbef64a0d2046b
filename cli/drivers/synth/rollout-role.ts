// The hostable `rollout` role (`troupe up`, `troupe worker --roles rollout`): the scene's rollout
// machine (actors/scene/rollout.ts) with its two players. It lives here, not in actors/scene/,
// because it wires three roles' code together — the scene, the actor (or its gold-action teacher)
// and the user simulator — and a role folder may import only its own files and the kit.
import type { RoleContext, RoleDefinition } from '../../../runtime/host/role.ts';
import { getDomain } from '../../../domains/registry.ts';
import { rolloutRole } from '../../../actors/scene/rollout.ts';
import { clientFor, loadRolesConfig } from './roles-config.ts';
import { rolloutPlayers } from './players.ts';

/**
 * Settings from the worker's environment: TROUPE_ROLES_CONFIG (a roles config file, as
 * `troupe synth --roles-config`), TROUPE_ROLLOUT_AGENT=llm|oracle, TROUPE_ROLLOUT_MAX_STEPS, and the
 * actor's and user simulator's models (TROUPE_ACTOR_MODEL / TROUPE_USER_SIMULATOR_MODEL, …).
 */
export async function createRole(_ctx: RoleContext): Promise<RoleDefinition> {
  const config = loadRolesConfig(process.env.TROUPE_ROLES_CONFIG || undefined);
  const a = process.env.TROUPE_ROLLOUT_AGENT;
  if (a && a !== 'llm' && a !== 'oracle') throw new Error(`TROUPE_ROLLOUT_AGENT must be llm or oracle (got "${a}")`);
  if (a) config.actor = a as 'llm' | 'oracle';
  const steps = process.env.TROUPE_ROLLOUT_MAX_STEPS;
  if (steps) config.maxSteps = Number(steps);
  const { players } = rolloutPlayers(config, { actor: clientFor(config, 'actor'), user: clientFor(config, 'user-simulator') });
  return rolloutRole({ domain: getDomain, players, maxSteps: config.maxSteps, timeoutMs: config.dialogueTimeoutMs });
}
