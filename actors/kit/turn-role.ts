// What the two turn-answering roles (actor, user simulator) share: the turn machine, and when a
// worker hosts them, the domains they answer for. Each domain is its own request/reply subject
// (`troupe.rpc.agent.<domain>`, `troupe.rpc.user.<domain>`), so an instance subscribes to the ones
// it was given.
import { assign, fromPromise, setup } from 'xstate';
import { domainNames } from '../../domains/registry.ts';
import type { RoleInput } from '../../runtime/host/role.ts';

/**
 * `TROUPE_<ROLE>_DOMAINS` (comma-separated), else every known domain. A domain's data is loaded on
 * its first request, so serving a domain whose τ² data is missing fails that request, not the start.
 */
export function servedDomains(role: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const key = `TROUPE_${role.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_DOMAINS`;
  const raw = env[key];
  if (raw === undefined || raw.trim() === '') return domainNames();
  const want = raw.split(',').map((d) => d.trim()).filter(Boolean);
  const known = new Set(domainNames());
  for (const d of want) if (!known.has(d)) throw new Error(`${key}: unknown domain "${d}" (known: ${[...known].join(', ')})`);
  return want;
}

/** What differs between the two turn machines; the states and their order are shared. */
export interface TurnMachineSpec<Req extends { domain: string }, Reply> {
  /** Machine id (the role name). */
  id: string;
  /** Domains answered; a request for another domain fails in `checking`. */
  domains: readonly string[];
  /** The error of a request for a domain not served here. */
  refuseDomain: (domain: string) => Error;
  /**
   * A second check, `checkingTask`, between `checking` and `composing`: the request must name what
   * the role plays (the user simulator's task). Absent: no such state.
   */
  task?: { has: (req: Req) => boolean; refuse: () => Error };
  /** One turn: the reply to this request. */
  compose: (req: Req, signal: AbortSignal) => Promise<Reply>;
  /** The message of the error raised when the failure carried no Error. */
  failedMessage: string;
}

interface TurnCtx<Req, Reply> {
  input: RoleInput<Req>;
  reply?: Reply;
  error?: unknown;
}

/**
 * One request/reply turn as a machine (one actor per request; the output is the reply):
 *
 *   checking ─► [checkingTask ─►] composing ─► answering (final: the reply)
 *      │ domain not served │ no task  │ compose failed (model error, bad output)
 *      └───────────────────┴──────────┴──► failed (throws: the host answers with an rpc-error whose
 *                                          code follows the error's class)
 */
export function turnMachine<Req extends { domain: string }, Reply>(spec: TurnMachineSpec<Req, Reply>) {
  const task = spec.task;
  const afterDomain = task ? 'checkingTask' : 'composing';
  return setup({
    types: { input: {} as RoleInput<Req>, context: {} as TurnCtx<Req, Reply>, output: {} as Reply },
    actors: {
      // Input typed `unknown` here: xstate cannot resolve its input typing over a generic request.
      compose: fromPromise<Reply, unknown>(({ input, signal }) => spec.compose(input as Req, signal)),
    },
    guards: {
      // A request names its domain; answering it with another domain's policy and tools would be wrong.
      servedDomain: ({ context }) => spec.domains.includes(context.input.data.domain),
      hasTask: ({ context }) => !task || task.has(context.input.data),
    },
    actions: {
      refuseDomain: assign({ error: ({ context }) => spec.refuseDomain(context.input.data.domain) }),
      refuseNoTask: assign({ error: () => (task ? task.refuse() : new Error(spec.failedMessage)) }),
    },
  }).createMachine({
    id: spec.id,
    context: ({ input }) => ({ input }),
    initial: 'checking',
    states: {
      checking: {
        always: [{ guard: 'servedDomain', target: afterDomain }, { target: 'failed', actions: 'refuseDomain' }],
      },
      ...(task
        ? { checkingTask: { always: [{ guard: 'hasTask', target: 'composing' }, { target: 'failed', actions: 'refuseNoTask' }] } }
        : {}),
      composing: {
        invoke: {
          src: 'compose',
          input: ({ context }: { context: TurnCtx<Req, Reply> }) => context.input.data,
          onDone: { target: 'answering', actions: assign({ reply: ({ event }) => event.output as Reply }) },
          onError: { target: 'failed', actions: assign({ error: ({ event }) => event.error }) },
        },
      },
      answering: { type: 'final' },
      failed: {
        // Erroring the actor is how the host learns of the failure; the error's class (an
        // infrastructure error or not) decides which rpc-error the caller gets.
        entry: ({ context }) => {
          throw context.error instanceof Error ? context.error : new Error(String(context.error ?? spec.failedMessage));
        },
      },
    },
    output: ({ context }) => context.reply!,
  });
}
