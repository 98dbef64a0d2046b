// The scene as a hosted role: consumes `dialogue.requested` (JetStream work), plays the dialogue with
// the agent, user simulator and environment services over request/reply, and publishes
// `dialogue.completed`. The host acks only after publishing, with an output id derived from the
// input id, so a scene replica killed mid-dialogue leads to a replay on another replica and one
// stored result, never a lost or doubled one.
//
// A dialogue that ends in `infrastructure_error` (a service unreachable or timing out) is retried by
// failing the item, as τ² retries a simulation that raised; after `INFRA_ATTEMPTS` deliveries it is
// published as it is (τ² then excludes it from pass^k).
import type { NatsConnection } from '@nats-io/transport-node';
import { emit, fromPromise, setup } from 'xstate';
import { DialogueCompleted, DialogueRequested, type DialogueRequest, type DialogueResult, type Message } from '../../protocols/dialogue.ts';
import { defineRole, output, type RoleInput } from '../../runtime/host/role.ts';
import { connectNats, natsSettingsFromEnv } from '../../runtime/nats/connect.ts';
import { playRemoteScene } from './play.ts';
import { historyFromTask, taskResolver } from '../kit/task-env.ts';
import { getDomain } from '../../domains/registry.ts';
import type { Task } from '../../protocols/tau2/task.ts';

/** Deliveries of one dialogue request before an infrastructure error is recorded rather than retried. */
export const INFRA_ATTEMPTS = 4;

export interface SceneRoleDeps {
  /** The connection the scene makes its request/reply calls on. */
  connection: () => Promise<NatsConnection>;
  /** The task's message_history (the scene opens from it instead of the greeting). */
  historyOf?: (req: DialogueRequest) => Message[] | Promise<Message[]>;
  rpcTimeoutMs?: number;
}

let shared: Promise<NatsConnection> | undefined;
/** One connection per process, from TROUPE_NATS_* (the society passes them to every worker). */
function envConnection(): Promise<NatsConnection> {
  shared ??= (async () => {
    const s = natsSettingsFromEnv();
    if (!s) throw new Error('the scene role needs a NATS server: set TROUPE_NATS_URL (the society sets it for its workers)');
    return connectNats({ ...s, name: 'scene' });
  })();
  return shared;
}

export function sceneMachineFor(deps: SceneRoleDeps) {
  return setup({
    types: { input: {} as RoleInput<DialogueRequest>, context: {} as { input: RoleInput<DialogueRequest> } },
    actors: {
      play: fromPromise<DialogueResult, RoleInput<DialogueRequest>>(async ({ input }) => {
        const req = input.data;
        const nc = await deps.connection();
        const result = await playRemoteScene(
          nc,
          {
            dialogueId: req.dialogueId,
            domain: req.domain,
            taskId: req.taskId,
            trial: req.trial,
            seed: req.seed,
            limits: req.limits,
            messageHistory: deps.historyOf ? await deps.historyOf(req) : undefined,
          },
          { from: { role: input.role.name, instance: input.role.instance, impl: input.role.impl }, timeoutMs: deps.rpcTimeoutMs },
        );
        if (result.terminationReason === 'infrastructure_error' && input.delivery < INFRA_ATTEMPTS) {
          throw new Error(`dialogue ${req.dialogueId} hit an infrastructure error (attempt ${input.delivery}): ${result.error ?? ''}`);
        }
        return result;
      }),
    },
  }).createMachine({
    id: 'scene-role',
    context: ({ input }) => ({ input }),
    initial: 'playing',
    states: {
      playing: {
        invoke: {
          src: 'play',
          input: ({ context }) => context.input,
          // No onError: a failed play errors the actor, and the host naks the item for redelivery.
          onDone: { target: 'done', actions: emit(({ event }) => output(DialogueCompleted, event.output)) },
        },
      },
      done: { type: 'final' },
    },
  });
}

const resolvers = new Map<string, (taskId: string) => Task>();
/** The task's message_history, from the domain's task file (all splits). */
function defaultHistory(req: DialogueRequest): Message[] {
  let resolve = resolvers.get(req.domain);
  if (!resolve) resolvers.set(req.domain, (resolve = taskResolver(getDomain(req.domain))));
  return historyFromTask(resolve(req.taskId));
}

export default defineRole({
  name: 'scene',
  impl: 'scene@1',
  version: '1',
  consumes: [DialogueRequested],
  produces: [DialogueCompleted],
  machine: sceneMachineFor({ connection: envConnection, historyOf: defaultHistory }),
  concurrency: 8,
  timeoutMs: 30 * 60_000,
});
