// The roles `troupe up`, `troupe worker` and `troupe swap` know by name: one explicit table, so a
// moved or renamed module breaks the typecheck rather than a run. Any other implementation is given
// by module path (`--impl ./my-critic.ts`).
import type { RoleCatalog } from '../runtime/host/catalog.ts';

export const ROLES: RoleCatalog = {
  scene: { summary: 'plays one τ² dialogue (agent, user simulator, environment over NATS) for eval', module: 'actors/scene/role.ts', load: () => import('../actors/scene/role.ts') },
  'meta-planner': { summary: 'writes synthesis and evaluation plans for a run', module: 'actors/meta-planner/role.ts', load: () => import('../actors/meta-planner/role.ts') },
  scriptwriter: { summary: 'explores the domain and drafts tasks from a plan', module: 'actors/scriptwriter/role.ts', load: () => import('../actors/scriptwriter/role.ts') },
  critic: { summary: 'reviews drafted tasks (deterministic checks, optional model review)', module: 'actors/critic/role.ts', load: () => import('../actors/critic/role.ts') },
  verifier: { summary: 'writes and validates each task\'s checker; judges dialogues', module: 'actors/verifier/role.ts', load: () => import('../actors/verifier/role.ts') },
  rollout: { summary: 'plays one synthesis dialogue (agent or its gold-action teacher, user simulator, the task\'s environment)', module: 'cli/drivers/synth/rollout-role.ts', load: () => import('./drivers/synth/rollout-role.ts') },
  dataset: { summary: 'stores verified dialogues in the dataset stream', module: 'actors/dataset/role.ts', load: () => import('../actors/dataset/role.ts') },
};
