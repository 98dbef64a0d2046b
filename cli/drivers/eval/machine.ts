// `troupe eval`'s run as an XState machine: the decisions (what a finished dialogue means, retry or
// give up, when the run is over) are named states and guards here; the effects (NATS, services, the
// scene host, grading, the results file) are the runner's (runner.ts), handed in as `EvalEffects`.
//
//   opening ─► live: subscribing ─► starting ─► requesting ─► next ◄──────────────────────────────┐
//      │                                                     │ all recorded → closing → done     │
//      │ (open failed) → failed                              │ deadline passed → closing → timedOut
//      │                                                     │ inbox empty → idle (waits for events)
//      │                                                     ▼                                    │
//      │                         triage ─► grading ─► recording ───────────────────────────────────┤
//      │                           │ not ours ───────────────────────────────────────────────────┤
//      │                           │ infrastructure_error (the scene retried it) → recording     │
//      │                           │ dead letter / rerun role error / grading error → retrying   │
//      │                         retrying ─► requestingAgain (attempts left) ─────────────────────┤
//      │                                 └─► givingUp (→ recording an infrastructure_error) ──────┘
//
// Results arrive as events (`completed`, `deadLettered`) from the listener the live state invokes and
// wait in the inbox; one item is handled at a time, so results are graded and written in order.
import { assign, fromCallback, fromPromise, setup, type AnyEventObject } from 'xstate';
import type { DialogueResult } from '../../../protocols/dialogue.ts';
import type { RewardInfo, SimulationRun } from '../../../protocols/tau2/results.ts';
import { simKey, type PlannedSimulation } from './plan.ts';

/** Role errors τ² treats as a failed run (re-run, then infrastructure_error), not as the agent's failure. */
export const RERUN_ROLE_ERROR = /\(invalid_json\)|returned an empty message/;

export type EvalEvent =
  | { type: 'listening' }
  | { type: 'listenFailed'; error: unknown }
  | { type: 'completed'; result: DialogueResult }
  | { type: 'deadLettered'; dialogueId: string; reason: string }
  | { type: 'deadline' };

type Arrival = Extract<EvalEvent, { type: 'completed' | 'deadLettered' }>;

/** What the runner does for the machine. */
export interface EvalEffects {
  /** Start the scene host (if any) and tell the caller the bus is ready. */
  start(): Promise<void>;
  /** Publish `dialogue.requested` for one planned simulation under a fresh id. */
  request(p: PlannedSimulation, attempt: number): Promise<string>;
  /** Subscribe to results and dead letters; call `send` with each; return the unsubscribe. */
  listen(send: (e: EvalEvent) => void): () => void;
  /** Grade a finished dialogue (strict replay, the evaluator). */
  grade(result: DialogueResult): Promise<RewardInfo>;
  /** A grading failure that repeats on every try (no NL judge, bad criteria): not worth a re-run. */
  deterministicGradingError(err: unknown): boolean;
  /** Write the results file with `sim` in it and report progress. */
  recorded(sim: SimulationRun): Promise<void>;
  /** The simulation run for a dialogue (reward null: not graded). */
  toSimulation(result: DialogueResult, reward: RewardInfo | null): SimulationRun;
  /** The record of a simulation that never produced a dialogue result. */
  emptyResult(dialogueId: string, p: PlannedSimulation): DialogueResult;
  /** Stop listeners, the scene host, services and the bus. */
  close(): Promise<void>;
  log(line: string): void;
}

export interface EvalMachineInput {
  plan: PlannedSimulation[];
  maxAttempts: number;
  deadlineMs?: number;
  effects: EvalEffects;
}

export interface EvalMachineOutput {
  ran: number;
  reRequested: number;
  /** Simulations still unrecorded (non-zero only when the deadline passed or the run failed). */
  unfinished: number;
  error?: unknown;
}

/** The run's ledger: requests in flight by dialogue id, and which planned simulations still wait for a record. */
interface Ledger {
  pending: Map<string, { plan: PlannedSimulation; attempt: number }>;
  waiting: Set<string>;
}

interface Current {
  arrival: Arrival;
  item?: { plan: PlannedSimulation; attempt: number };
  /** Why the current dialogue failed, and whether another attempt may fix it. */
  why?: string;
  retry?: boolean;
  result?: DialogueResult;
  sim?: SimulationRun;
}

interface Ctx {
  input: EvalMachineInput;
  ledger: Ledger;
  inbox: Arrival[];
  current: Current | null;
  deadlinePassed: boolean;
  ran: number;
  reRequested: number;
  error?: unknown;
}

const idOf = (a: Arrival) => (a.type === 'completed' ? a.result.dialogueId : a.dialogueId);
const keyOf = (p: PlannedSimulation) => simKey(p.taskId, p.trial);
const message = (e: unknown) => (e instanceof Error ? `${e.name}: ${e.message}` : String(e));

export const evalMachine = setup({
  types: { input: {} as EvalMachineInput, context: {} as Ctx, events: {} as EvalEvent, output: {} as EvalMachineOutput },
  actors: {
    start: fromPromise<void, EvalEffects>(({ input }) => input.start()),
    requestAll: fromPromise<void, { effects: EvalEffects; plan: PlannedSimulation[]; ledger: Ledger }>(async ({ input }) => {
      for (const p of input.plan) input.ledger.pending.set(await input.effects.request(p, 1), { plan: p, attempt: 1 });
    }),
    requestAgain: fromPromise<void, { effects: EvalEffects; item: { plan: PlannedSimulation; attempt: number }; ledger: Ledger }>(async ({ input }) => {
      const attempt = input.item.attempt + 1;
      input.ledger.pending.set(await input.effects.request(input.item.plan, attempt), { plan: input.item.plan, attempt });
    }),
    grade: fromPromise<RewardInfo, { effects: EvalEffects; result: DialogueResult }>(({ input }) => input.effects.grade(input.result)),
    record: fromPromise<void, { effects: EvalEffects; sim: SimulationRun }>(({ input }) => input.effects.recorded(input.sim)),
    close: fromPromise<void, EvalEffects>(({ input }) => input.close()),
    listen: fromCallback<AnyEventObject, EvalEffects>(({ input, sendBack }) => input.listen((e) => sendBack(e))),
    deadline: fromCallback<AnyEventObject, number | undefined>(({ input, sendBack }) => {
      if (!input) return; // no deadline: wait as long as it takes
      const t = setTimeout(() => sendBack({ type: 'deadline' }), input);
      return () => clearTimeout(t);
    }),
  },
  guards: {
    allRecorded: ({ context }) => context.ledger.waiting.size === 0,
    inboxEmpty: ({ context }) => context.inbox.length === 0,
    deadlinePassed: ({ context }) => context.deadlinePassed,
    // Another run's dialogue, a copy of one already handled, or a simulation already recorded.
    notOurs: ({ context }) => !context.current!.item || !context.ledger.waiting.has(keyOf(context.current!.item.plan)),
    deadLetter: ({ context }) => context.current!.arrival.type === 'deadLettered',
    // The scene role already replayed it INFRA_ATTEMPTS times: recorded as it is (excluded from pass^k).
    infrastructureError: ({ context }) => context.current!.result?.terminationReason === 'infrastructure_error',
    // τ² raises on undecodable tool arguments or an empty message and re-runs the simulation.
    rerunRoleError: ({ context }) => {
      const r = context.current!.result!;
      return (r.terminationReason === 'agent_error' || r.terminationReason === 'user_error') && RERUN_ROLE_ERROR.test(r.error ?? '');
    },
    deterministicGradingError: ({ context, event }) => context.input.effects.deterministicGradingError((event as unknown as { error: unknown }).error),
    attemptsLeft: ({ context }) => context.current!.retry !== false && context.current!.item!.attempt < context.input.maxAttempts,
  },
  actions: {
    enqueue: assign({ inbox: ({ context, event }) => [...context.inbox, event as Arrival] }),
    take: assign(({ context }) => {
      const [arrival, ...rest] = context.inbox;
      const item = context.ledger.pending.get(idOf(arrival));
      return { inbox: rest, current: { arrival, item, result: arrival.type === 'completed' ? arrival.result : undefined } };
    }),
    forget: ({ context }) => {
      const c = context.current!;
      if (c.item) context.ledger.pending.delete(idOf(c.arrival));
    },
    markDeadline: assign({ deadlinePassed: true }),
  },
}).createMachine({
  id: 'eval',
  context: ({ input }) => ({
    input,
    ledger: { pending: new Map(), waiting: new Set(input.plan.map(keyOf)) },
    inbox: [],
    current: null,
    deadlinePassed: false,
    ran: 0,
    reRequested: 0,
  }),
  initial: 'live',
  states: {
    live: {
      invoke: [
        { src: 'listen', input: ({ context }) => context.input.effects },
        { src: 'deadline', input: ({ context }) => context.input.deadlineMs },
      ],
      on: {
        completed: { actions: 'enqueue' },
        deadLettered: { actions: 'enqueue' },
        deadline: { actions: 'markDeadline' },
        listenFailed: { target: 'closing', actions: assign({ error: ({ event }) => event.error }) },
      },
      initial: 'subscribing',
      states: {
        // Listening before the first request, so no result can slip past.
        subscribing: { on: { listening: 'starting' } },
        starting: {
          invoke: {
            src: 'start',
            input: ({ context }) => context.input.effects,
            onDone: 'requesting',
            onError: { target: '#eval.closing', actions: assign({ error: ({ event }) => event.error }) },
          },
        },
        requesting: {
          invoke: {
            src: 'requestAll',
            input: ({ context }) => ({ effects: context.input.effects, plan: context.input.plan, ledger: context.ledger }),
            onDone: 'next',
            onError: { target: '#eval.closing', actions: assign({ error: ({ event }) => event.error }) },
          },
        },
        next: {
          always: [
            { guard: 'allRecorded', target: '#eval.closing' },
            { guard: { type: 'inboxEmpty' }, target: 'idle' },
            { target: 'triage', actions: 'take' },
          ],
        },
        idle: {
          always: { guard: 'deadlinePassed', target: '#eval.closing' },
          on: {
            completed: { target: 'next', actions: 'enqueue' },
            deadLettered: { target: 'next', actions: 'enqueue' },
            deadline: { target: '#eval.closing', actions: 'markDeadline' },
          },
        },
        triage: {
          always: [
            { guard: 'notOurs', target: 'next', actions: 'forget' },
            {
              guard: 'deadLetter',
              target: 'retrying',
              actions: assign({ current: ({ context }) => ({ ...context.current!, why: `dead-lettered: ${(context.current!.arrival as Extract<Arrival, { type: 'deadLettered' }>).reason}` }) }),
            },
            {
              guard: 'infrastructureError',
              target: 'recording',
              actions: ['forget', assign({ current: ({ context }) => ({ ...context.current!, sim: context.input.effects.toSimulation(context.current!.result!, null) }) })],
            },
            {
              guard: 'rerunRoleError',
              target: 'retrying',
              actions: assign({ current: ({ context }) => ({ ...context.current!, why: `${context.current!.result!.terminationReason}: ${context.current!.result!.error}` }) }),
            },
            { target: 'grading' },
          ],
        },
        grading: {
          invoke: {
            src: 'grade',
            input: ({ context }) => ({ effects: context.input.effects, result: context.current!.result! }),
            onDone: {
              target: 'recording',
              actions: ['forget', assign({ current: ({ context, event }) => ({ ...context.current!, sim: context.input.effects.toSimulation(context.current!.result!, event.output) }) })],
            },
            onError: [
              // The same failure every time: record it now rather than re-run.
              { guard: 'deterministicGradingError', target: 'retrying', actions: assign({ current: ({ context, event }) => ({ ...context.current!, why: `grading: ${message(event.error)}`, retry: false }) }) },
              { target: 'retrying', actions: assign({ current: ({ context, event }) => ({ ...context.current!, why: `grading: ${message(event.error)}` }) }) },
            ],
          },
        },
        retrying: {
          entry: 'forget',
          always: [
            {
              guard: 'attemptsLeft',
              target: 'requestingAgain',
              actions: [
                assign({ reRequested: ({ context }) => context.reRequested + 1 }),
                ({ context }) => {
                  const c = context.current!;
                  context.input.effects.log(`eval: ${c.item!.plan.taskId} trial ${c.item!.plan.trial} attempt ${c.item!.attempt} failed (${c.why}); retrying`);
                },
              ],
            },
            { target: 'givingUp' },
          ],
        },
        requestingAgain: {
          invoke: {
            src: 'requestAgain',
            input: ({ context }) => ({ effects: context.input.effects, item: context.current!.item!, ledger: context.ledger }),
            onDone: 'next',
            onError: { target: 'next', actions: ({ context, event }) => context.input.effects.log(`eval: internal error: ${message(event.error)}`) },
          },
        },
        givingUp: {
          // Out of attempts (or not worth one): an infrastructure_error, excluded from pass^k.
          always: {
            target: 'recording',
            actions: assign({
              current: ({ context }) => {
                const c = context.current!;
                const base = c.result ?? context.input.effects.emptyResult(idOf(c.arrival), c.item!.plan);
                return { ...c, sim: context.input.effects.toSimulation({ ...base, terminationReason: 'infrastructure_error', error: c.why }, null) };
              },
            }),
          },
        },
        recording: {
          entry: [
            // The first result of a (task, trial) wins; a later copy never reaches here (notOurs).
            ({ context }) => context.ledger.waiting.delete(simKey(context.current!.sim!.task_id, context.current!.sim!.trial ?? 0)),
            assign({ ran: ({ context }) => context.ran + 1 }),
          ],
          invoke: {
            src: 'record',
            input: ({ context }) => ({ effects: context.input.effects, sim: context.current!.sim! }),
            onDone: { target: 'next', actions: assign({ current: null }) },
            onError: { target: 'next', actions: [assign({ current: null }), ({ context, event }) => context.input.effects.log(`eval: internal error: ${message(event.error)}`)] },
          },
        },
      },
    },
    closing: {
      invoke: {
        src: 'close',
        input: ({ context }) => context.input.effects,
        onDone: [
          { guard: ({ context }) => context.error !== undefined, target: 'failed' },
          { guard: 'allRecorded', target: 'done' },
          { target: 'timedOut' },
        ],
        onError: { target: 'failed', actions: assign({ error: ({ context, event }) => context.error ?? event.error }) },
      },
    },
    done: { type: 'final' },
    timedOut: { type: 'final' },
    failed: { type: 'final' },
  },
  output: ({ context }) => ({ ran: context.ran, reRequested: context.reRequested, unfinished: context.ledger.waiting.size, ...(context.error !== undefined ? { error: context.error } : {}) }),
});
