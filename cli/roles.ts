// The roles `troupe up`, `troupe worker` and `troupe swap` know by name: one explicit table, so a
// moved or renamed module breaks the typecheck rather than a run. Any other implementation is given
// by module path (`--impl ./my-critic.ts`). Cross-role dependencies are wired at this level, by
// injection (the learner's training run: cli/drivers/train/learner-role.ts; a role folder never
// reaches the CLI).
import type { RoleCatalog } from '../runtime/host/catalog.ts';

export const ROLES: RoleCatalog = {
  scene: { summary: 'plays one τ² dialogue (agent, user simulator, environment over NATS) for eval', module: 'actors/scene/role.ts', load: () => import('../actors/scene/role.ts') },
  'meta-planner': { summary: 'writes synthesis and evaluation plans for a run', module: 'actors/meta-planner/role.ts', load: () => import('../actors/meta-planner/role.ts') },
  scriptwriter: { summary: 'explores the domain and drafts tasks from a plan', module: 'actors/scriptwriter/role.ts', load: () => import('../actors/scriptwriter/role.ts') },
  critic: { summary: 'reviews drafted tasks (deterministic checks, optional model review)', module: 'actors/critic/role.ts', load: () => import('../actors/critic/role.ts') },
  verifier: { summary: 'writes and validates each task\'s checker; judges dialogues', module: 'actors/verifier/role.ts', load: () => import('../actors/verifier/role.ts') },
  actor: { summary: 'the agent: answers dialogue turns (troupe.rpc.agent.<domain>) with the domain\'s policy and tools', module: 'actors/actor/role.ts', load: () => import('../actors/actor/role.ts') },
  'user-simulator': { summary: 'the user: answers dialogue turns (troupe.rpc.user.<domain>) from the task\'s scenario', module: 'actors/user-simulator/role.ts', load: () => import('../actors/user-simulator/role.ts') },
  evolver: { summary: 'runs evolve sessions (evolver.run.requested): production, reflection, validation, promotion', module: 'actors/evolver/role.ts', load: () => import('../actors/evolver/role.ts') },
  // The role lives in actors/learner/role.ts; this module injects the training run (cli/drivers/train).
  learner: { summary: 'runs training runs (learn.run.requested): SFT, user SFT, GRPO with rollouts through the society', module: 'cli/drivers/train/learner-role.ts', load: () => import('./drivers/train/learner-role.ts') },
  rollout: { summary: 'plays one synthesis dialogue (agent or its gold-action teacher, user simulator, the task\'s environment)', module: 'cli/drivers/synth/rollout-role.ts', load: () => import('./drivers/synth/rollout-role.ts') },
  dataset: { summary: 'stores verified dialogues in the dataset stream', module: 'actors/dataset/role.ts', load: () => import('../actors/dataset/role.ts') },
};
