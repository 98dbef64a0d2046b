// The scene: one dialogue as an XState v5 machine, following τ²-bench's half-duplex orchestration.
//
//   greeting (or the task's message_history) ─► route ─► agent | user | env ─► afterStep ─► route …
//
// Every agent message, user message and environment batch is one step. After a step the limits are
// checked — unless a tool batch is waiting for the environment, as in τ²: `max_steps`, and the
// cumulative tool-error count `too_many_errors`. The user ends the dialogue with a stop token
// (`user_stop`); an agent that may stop (oracle harness, solo agents) sets `stop` (`agent_stop`).
// The agent, user and environment are ports carried in the input, so the same machine runs with
// in-process objects in tests and with NATS request/reply clients in the society.
import { assign, createActor, fromPromise, setup, toPromise } from 'xstate';
import {
  AgentTurnReply,
  DialogueLimits,
  GREETING,
  ToolMessage,
  UserTurnReply,
  type DialogueResult,
  type Message,
  type SpokenMessage,
  type TerminationReason,
  type ToolCall,
  type Usage,
} from '../../protocols/dialogue.ts';
import type { AgentPort, EnvPort, UserPort } from '../kit/ports.ts';
import { agentView, isUserStop, isValidSpoken, nextRole, userView } from '../kit/views.ts';

import { InfrastructureError } from '../../runtime/rpc/errors.ts';

export { InfrastructureError };

export interface SceneInput {
  dialogueId: string;
  domain: string;
  taskId: string;
  trial?: number;
  seed?: number;
  agent: AgentPort;
  user: UserPort;
  env: EnvPort;
  /** The task's `initial_state.message_history`; without one the dialogue opens with the greeting. */
  messageHistory?: Message[];
  limits?: Partial<DialogueLimits>;
  /** Called with every message as it joins the log (progress, streaming, tracing). */
  onMessage?: (m: Message) => void;
}

interface SceneContext {
  input: SceneInput;
  limits: DialogueLimits;
  messages: Message[];
  steps: number;
  numErrors: number;
  termination: TerminationReason | null;
  error: string | null;
  startedAt: number;
  agentUsage: Usage;
  userUsage: Usage;
  agentCost: number;
  userCost: number;
}

const MAX_TIMER_MS = 2 ** 31 - 1; // setTimeout's ceiling: "no limit"

const nowIso = () => new Date().toISOString();
const addUsage = (a: Usage, b: Usage | null | undefined): Usage =>
  b ? { prompt_tokens: a.prompt_tokens + b.prompt_tokens, completion_tokens: a.completion_tokens + b.completion_tokens } : a;

function stamp<M extends Message>(m: M, index: number): M {
  return { ...m, turn_idx: index, timestamp: m.timestamp ?? nowIso() };
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Map a port failure to a termination reason: plumbing failures are infrastructure errors. */
function failureReason(side: 'agent' | 'user' | 'env', e: unknown): TerminationReason {
  if (e instanceof InfrastructureError || side === 'env') return 'infrastructure_error';
  return side === 'agent' ? 'agent_error' : 'user_error';
}

function pendingToolCalls(messages: Message[]): ToolCall[] {
  const last = messages[messages.length - 1];
  return last && last.role !== 'tool' && last.tool_calls ? last.tool_calls : [];
}

export const sceneMachine = setup({
  types: {
    context: {} as SceneContext,
    input: {} as SceneInput,
    output: {} as DialogueResult,
  },
  actors: {
    agentTurn: fromPromise<AgentTurnReply, { port: AgentPort; ctx: SceneContext }>(async ({ input, signal }) => {
      const { ctx } = input;
      const raw = await input.port.nextTurn(
        {
          dialogueId: ctx.input.dialogueId,
          domain: ctx.input.domain,
          taskId: ctx.input.taskId,
          history: agentView(ctx.messages),
          seed: ctx.input.seed,
        },
        signal,
      );
      const reply = AgentTurnReply.parse(raw);
      if (!reply.stop && !isValidSpoken(reply.message)) throw new Error('agent sent a message with neither text nor tool calls');
      for (const c of reply.message.tool_calls ?? []) c.requestor = 'assistant';
      return reply;
    }),
    userTurn: fromPromise<UserTurnReply, { port: UserPort; ctx: SceneContext }>(async ({ input, signal }) => {
      const { ctx } = input;
      const raw = await input.port.nextTurn(
        {
          dialogueId: ctx.input.dialogueId,
          domain: ctx.input.domain,
          taskId: ctx.input.taskId,
          history: userView(ctx.messages),
          seed: ctx.input.seed,
        },
        signal,
      );
      const reply = UserTurnReply.parse(raw);
      if (!isValidSpoken(reply.message)) throw new Error('user simulator sent a message with neither text nor tool calls');
      for (const c of reply.message.tool_calls ?? []) c.requestor = 'user';
      return reply;
    }),
    envTurn: fromPromise<ToolMessage[], { port: EnvPort; calls: ToolCall[] }>(async ({ input, signal }) => {
      const results = (await input.port.execute(input.calls, signal)).map((r) => ToolMessage.parse(r));
      if (results.length !== input.calls.length) {
        throw new Error(`environment answered ${results.length} results for ${input.calls.length} tool calls`);
      }
      results.forEach((r, i) => {
        if (r.id !== input.calls[i].id) throw new Error(`environment result ${i} has id ${r.id}, expected ${input.calls[i].id}`);
      });
      return results;
    }),
  },
  delays: {
    dialogueTimeout: ({ context }) => Math.min(context.limits.timeoutMs ?? MAX_TIMER_MS, MAX_TIMER_MS),
    turnTimeout: ({ context }) => Math.min(context.limits.turnTimeoutMs ?? MAX_TIMER_MS, MAX_TIMER_MS),
  },
  guards: {
    terminated: ({ context }) => context.termination !== null,
    nextIsAgent: ({ context }) => nextRole(context.messages[context.messages.length - 1]) === 'agent',
    nextIsUser: ({ context }) => nextRole(context.messages[context.messages.length - 1]) === 'user',
    nextIsEnv: ({ context }) => nextRole(context.messages[context.messages.length - 1]) === 'env',
  },
}).createMachine({
  id: 'scene',
  context: ({ input }) => {
    const limits = DialogueLimits.parse(input.limits ?? {});
    const history = input.messageHistory ?? [];
    const opening: Message[] =
      history.length > 0
        ? history
        : [{ role: 'assistant', content: GREETING, tool_calls: null, cost: 0, usage: null }];
    const messages = opening.map((m, i) => stamp(m, i));
    const last = messages[messages.length - 1];
    // A history that already ends with the user's stop token is a finished dialogue (as in τ²).
    const endedByHistory = history.length > 0 && last.role === 'user' && isUserStop(last);
    for (const m of messages) input.onMessage?.(m);
    return {
      input,
      limits,
      messages,
      steps: 0,
      numErrors: 0,
      termination: endedByHistory ? ('user_stop' as const) : null,
      error: null,
      startedAt: Date.now(),
      agentUsage: { prompt_tokens: 0, completion_tokens: 0 },
      userUsage: { prompt_tokens: 0, completion_tokens: 0 },
      agentCost: 0,
      userCost: 0,
    };
  },
  initial: 'running',
  states: {
    running: {
      after: {
        dialogueTimeout: {
          target: 'done',
          actions: assign({ termination: 'timeout', error: 'dialogue timed out' }),
        },
      },
      initial: 'route',
      states: {
        route: {
          always: [
            { guard: 'terminated', target: '#scene.done' },
            { guard: 'nextIsAgent', target: 'agent' },
            { guard: 'nextIsUser', target: 'user' },
            { guard: 'nextIsEnv', target: 'env' },
          ],
        },
        agent: {
          invoke: {
            src: 'agentTurn',
            input: ({ context }) => ({ port: context.input.agent, ctx: context }),
            onDone: {
              target: 'afterStep',
              actions: assign(({ context, event }) => {
                const { message, stop } = event.output;
                const spoke = isValidSpoken(message);
                const messages = spoke ? [...context.messages, stamp(message, context.messages.length)] : context.messages;
                if (spoke) context.input.onMessage?.(messages[messages.length - 1]);
                return {
                  messages,
                  steps: context.steps + (spoke ? 1 : 0),
                  agentUsage: addUsage(context.agentUsage, message.usage),
                  agentCost: context.agentCost + (message.cost ?? 0),
                  termination: stop ? ('agent_stop' as const) : context.termination,
                };
              }),
            },
            onError: {
              target: '#scene.done',
              actions: assign(({ event }) => ({ termination: failureReason('agent', event.error), error: errorText(event.error) })),
            },
          },
          after: {
            turnTimeout: {
              target: '#scene.done',
              actions: assign({ termination: 'agent_error', error: 'agent turn timed out' }),
            },
          },
        },
        user: {
          invoke: {
            src: 'userTurn',
            input: ({ context }) => ({ port: context.input.user, ctx: context }),
            onDone: {
              target: 'afterStep',
              actions: assign(({ context, event }) => {
                const message = stamp(event.output.message, context.messages.length) as SpokenMessage;
                context.input.onMessage?.(message);
                return {
                  messages: [...context.messages, message],
                  steps: context.steps + 1,
                  userUsage: addUsage(context.userUsage, message.usage),
                  userCost: context.userCost + (message.cost ?? 0),
                  termination: isUserStop(message) ? ('user_stop' as const) : context.termination,
                };
              }),
            },
            onError: {
              target: '#scene.done',
              actions: assign(({ event }) => ({ termination: failureReason('user', event.error), error: errorText(event.error) })),
            },
          },
          after: {
            turnTimeout: {
              target: '#scene.done',
              actions: assign({ termination: 'user_error', error: 'user turn timed out' }),
            },
          },
        },
        env: {
          invoke: {
            src: 'envTurn',
            input: ({ context }) => ({ port: context.input.env, calls: pendingToolCalls(context.messages) }),
            onDone: {
              target: 'afterStep',
              actions: assign(({ context, event }) => {
                const base = context.messages.length;
                const results = event.output.map((m, i) => stamp(m, base + i));
                for (const r of results) context.input.onMessage?.(r);
                return {
                  messages: [...context.messages, ...results],
                  steps: context.steps + 1,
                  numErrors: context.numErrors + results.filter((r) => r.error).length,
                };
              }),
            },
            onError: {
              target: '#scene.done',
              actions: assign(({ event }) => ({ termination: failureReason('env', event.error), error: errorText(event.error) })),
            },
          },
          after: {
            turnTimeout: {
              target: '#scene.done',
              actions: assign({ termination: 'infrastructure_error', error: 'environment call timed out' }),
            },
          },
        },
        afterStep: {
          // τ²'s limit check, run after every step unless a tool batch waits for the environment. As in
          // the reference it overwrites a stop made in the same step (max_steps, then too_many_errors).
          entry: assign(({ context }) => {
            if (nextRole(context.messages[context.messages.length - 1]) === 'env') return {};
            let termination = context.termination;
            if (context.steps >= context.limits.maxSteps) termination = 'max_steps';
            if (context.numErrors >= context.limits.maxErrors) termination = 'too_many_errors';
            return { termination };
          }),
          always: [{ guard: 'terminated', target: '#scene.done' }, { target: 'route' }],
        },
      },
    },
    done: { type: 'final' },
  },
  output: ({ context }) => {
    const end = Date.now();
    const c = context;
    return {
      dialogueId: c.input.dialogueId,
      domain: c.input.domain,
      taskId: c.input.taskId,
      trial: c.input.trial ?? 0,
      ...(c.input.seed !== undefined ? { seed: c.input.seed } : {}),
      terminationReason: c.termination ?? 'infrastructure_error',
      messages: c.messages,
      steps: c.steps,
      numErrors: c.numErrors,
      startTime: new Date(c.startedAt).toISOString(),
      endTime: new Date(end).toISOString(),
      durationMs: end - c.startedAt,
      agentCost: c.agentCost,
      userCost: c.userCost,
      agentUsage: c.agentUsage,
      userUsage: c.userUsage,
      ...(c.error ? { error: c.error } : {}),
    };
  },
});

/** Play one dialogue to the end and return its result (in-process driver of `sceneMachine`). */
export async function runScene(input: SceneInput): Promise<DialogueResult> {
  const actor = createActor(sceneMachine, { input });
  const done = toPromise(actor);
  actor.start();
  return done;
}

