// The user simulator as a hosted role: it answers `dialogue.user-turn` requests on
// `troupe.rpc.user.<domain>` (queue group `user-simulator`) with one machine actor per turn, and the
// machine's output is the reply. Stateless between turns: every request carries the user's whole
// view of the dialogue and the task id the simulator is built from.
//
//   checking ─► checkingTask ─► composing ─► answering (final: the reply)
//      │ domain not served │ no task id  │ the simulator failed (model error, bad output)
//      └───────────────────┴─────────────┴──► failed (the caller gets an rpc-error: user_error, or
//                                             infrastructure_error when the model endpoint is down)
// The machine is the kit's turn machine (actors/kit/turn-role.ts), with the task check.
import { QUEUE, UserTurnAnswered, UserTurnAsked, userTurnSubject, type UserTurnReply, type UserTurnRequest } from '../../protocols/dialogue.ts';
import { defineRole, type RoleContext, type RoleDefinition } from '../../runtime/host/role.ts';
import { getDomain } from '../../domains/registry.ts';
import type { Task } from '../../protocols/tau2/task.ts';
import { USER_OPENINGS, type ChatModel, type UserOpening, type UserPort } from '../kit/ports.ts';
import { llmClientChatModel } from '../kit/llm-chat-model.ts';
import { taskResolver } from '../kit/task-env.ts';
import { workerLlm } from '../kit/work-role.ts';
import { servedDomains, turnMachine } from '../kit/turn-role.ts';
import { createTaskUser, type TaskUserOptions } from './for-task.ts';

export interface UserSimulatorRoleDeps {
  /** Implementation id (registry, `from.impl` of every reply): `user-simulator-llm@1`, or a test harness's. */
  impl: string;
  domains: readonly string[];
  /** The simulator for this request (the task's LLM user; the scripted harness). */
  userFor: (req: UserTurnRequest & { taskId: string }) => UserPort | Promise<UserPort>;
  /** A harness that needs no task (the scripted user) answers requests without one. */
  needsTask?: boolean;
  concurrency?: number;
}

export function userSimulatorMachine(deps: Pick<UserSimulatorRoleDeps, 'domains' | 'userFor' | 'needsTask'>) {
  return turnMachine<UserTurnRequest, UserTurnReply>({
    id: 'user-simulator',
    domains: deps.domains,
    refuseDomain: (domain) => new Error(`user-simulator: domain "${domain}" is not served here (${deps.domains.join(', ')})`),
    // The simulator plays the task's user: without the task there is nothing to play.
    task: {
      has: (req) => deps.needsTask === false || !!req.taskId,
      refuse: () => new Error('dialogue.user-turn without taskId: the user simulator needs the task'),
    },
    compose: async (req, signal) => (await deps.userFor(req as UserTurnRequest & { taskId: string })).nextTurn(req, signal),
    failedMessage: 'user simulator failed',
  });
}

export function userSimulatorRole(deps: UserSimulatorRoleDeps): RoleDefinition {
  return defineRole({
    name: 'user-simulator',
    impl: deps.impl,
    version: '1',
    consumes: [],
    produces: [],
    serves: deps.domains.map((d) => ({ subject: userTurnSubject(d), queue: QUEUE.user, request: UserTurnAsked, reply: UserTurnAnswered })),
    machine: userSimulatorMachine(deps),
    concurrency: deps.concurrency ?? 16,
    timeoutMs: 10 * 60_000,
  });
}

/** The LLM user of each task, built on its first turn and kept (the system prompt is a pure function of the task). */
export function taskUsers(model: ChatModel, taskOf: (domain: string, taskId: string) => Task, opts: TaskUserOptions) {
  const users = new Map<string, UserPort>();
  return (req: { domain: string; taskId: string }): UserPort => {
    const key = `${req.domain}\u0000${req.taskId}`;
    let u = users.get(key);
    if (!u) users.set(key, (u = createTaskUser(getDomain(req.domain), taskOf(req.domain, req.taskId), model, opts)));
    return u;
  };
}

/**
 * The LLM user simulator, as `troupe worker --roles user-simulator` hosts it: model from
 * `--model user-simulator=M` or TROUPE_USER_SIMULATOR_MODEL / _BASE_URL / _API_KEY_ENV (default: the
 * embedded local model, temperature 0, 120 tokens a reply, as in synthesis); domains from
 * TROUPE_USER_SIMULATOR_DOMAINS (default: all); tasks from each domain's τ² task file, or from
 * TROUPE_USER_SIMULATOR_TASKS (a task file, e.g. synthesized tasks); the opening from
 * TROUPE_USER_OPENING (`model`, the default, or `scenario`: see UserOpening).
 */
export async function createRole(ctx: RoleContext): Promise<RoleDefinition> {
  const llm = workerLlm('user-simulator', ctx, { temperature: 0, maxTokens: 120 });
  const taskFile = process.env.TROUPE_USER_SIMULATOR_TASKS || undefined;
  const resolvers = new Map<string, (id: string) => Task>();
  const taskOf = (domain: string, id: string) => {
    let r = resolvers.get(domain);
    if (!r) resolvers.set(domain, (r = taskResolver(getDomain(domain), taskFile)));
    return r(id);
  };
  return userSimulatorRole({
    impl: 'user-simulator-llm@1',
    domains: servedDomains('user-simulator'),
    userFor: taskUsers(llmClientChatModel(llm), taskOf, { temperature: llm.config.temperature, maxTokens: llm.config.maxTokens, opening: userOpeningFromEnv() }),
  });
}

/** TROUPE_USER_OPENING, checked: an unknown value is an error at start, not a silent default. */
export function userOpeningFromEnv(env: NodeJS.ProcessEnv = process.env): UserOpening {
  const v = env.TROUPE_USER_OPENING?.trim() || 'model';
  if (!(USER_OPENINGS as readonly string[]).includes(v)) throw new Error(`TROUPE_USER_OPENING: "${v}" is not one of ${USER_OPENINGS.join(', ')}`);
  return v as UserOpening;
}
