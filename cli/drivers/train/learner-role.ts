// The learner role's module as workers load it (`troupe worker --roles learner`, `troupe up`): the
// hosted role of actors/learner/role.ts with the training run of this driver injected (a role folder
// never reaches the CLI). `troupe up` hands its workers this file's path, so the wiring lives in a
// module, not only in the role table.
import type { RoleContext, RoleDefinition } from '../../../runtime/host/role.ts';
import { createLearnerRole } from '../../../actors/learner/role.ts';

export async function createRole(ctx: RoleContext): Promise<RoleDefinition> {
  // TensorFlow.js loads with the first run, not when the worker starts.
  return createLearnerRole(ctx, async (mode, cfg, opts) => (await import('./train-run.ts')).runTraining(mode, cfg, opts));
}
