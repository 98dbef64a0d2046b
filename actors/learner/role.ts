// The learner as an XState v5 machine: collect rollouts → update the policy → publish it (→ collect …)
// until the step budget is spent. The trainer supplies the three phases (grpo-trainer.ts: rollouts
// from a RolloutSource, the clipped-surrogate step, then logging / checkpoint / publishing to the
// model servers / reporting on NATS); the machine owns their order and the step count, and a failed
// phase ends the run in `failed` with the error (the caller rethrows it).
//
//   next ─► collecting ─► updating ─► publishing ─► next …   next ─► done (steps spent)
//                 └───────────┴────────────┴──► failed
// It is hosted in the `troupe train grpo` process (train-run.ts), which reports each finished step
// on the bus as `learn.step.completed` (protocols/learner.ts).
import { assign, createActor, fromPromise, setup, toPromise } from 'xstate';
import type { Collected, GrpoPhases, GrpoStepMetrics } from './phases.ts';

export interface LearnerInput {
  steps: number;
  phases: GrpoPhases;
}

interface LearnerContext {
  steps: number;
  phases: GrpoPhases;
  step: number;
  collected: Collected | null;
  last: GrpoStepMetrics | null;
  metrics: GrpoStepMetrics[];
  error: unknown;
}

export interface LearnerOutput {
  metrics: GrpoStepMetrics[];
  error?: unknown;
}

export const learnerMachine = setup({
  types: { context: {} as LearnerContext, input: {} as LearnerInput, output: {} as LearnerOutput },
  actors: {
    collect: fromPromise<Collected, { phases: GrpoPhases; step: number }>(({ input }) => input.phases.collect(input.step)),
    update: fromPromise<GrpoStepMetrics, { phases: GrpoPhases; step: number; collected: Collected }>(({ input }) => input.phases.update(input.step, input.collected)),
    publish: fromPromise<void, { phases: GrpoPhases; metrics: GrpoStepMetrics }>(({ input }) => input.phases.publish(input.metrics)),
  },
  guards: {
    stepsLeft: ({ context }) => context.step < context.steps,
  },
}).createMachine({
  id: 'learner',
  context: ({ input }) => ({ steps: input.steps, phases: input.phases, step: 0, collected: null, last: null, metrics: [], error: null }),
  initial: 'next',
  states: {
    next: {
      always: [{ guard: 'stepsLeft', target: 'collecting', actions: assign({ step: ({ context }) => context.step + 1 }) }, { target: 'done' }],
    },
    collecting: {
      invoke: {
        src: 'collect',
        input: ({ context }) => ({ phases: context.phases, step: context.step }),
        onDone: { target: 'updating', actions: assign({ collected: ({ event }) => event.output }) },
        onError: { target: 'failed', actions: assign({ error: ({ event }) => event.error }) },
      },
    },
    updating: {
      invoke: {
        src: 'update',
        input: ({ context }) => ({ phases: context.phases, step: context.step, collected: context.collected! }),
        onDone: { target: 'publishing', actions: assign({ last: ({ event }) => event.output, metrics: ({ context, event }) => [...context.metrics, event.output], collected: null }) },
        onError: { target: 'failed', actions: assign({ error: ({ event }) => event.error }) },
      },
    },
    publishing: {
      invoke: {
        src: 'publish',
        input: ({ context }) => ({ phases: context.phases, metrics: context.last! }),
        onDone: { target: 'next' },
        onError: { target: 'failed', actions: assign({ error: ({ event }) => event.error }) },
      },
    },
    done: { type: 'final' },
    failed: { type: 'final' },
  },
  output: ({ context }) => (context.error ? { metrics: context.metrics, error: context.error } : { metrics: context.metrics }),
});

/** Runs the learner machine to the end; `onState` sees each state entered (with the step). Rethrows a phase's error. */
export async function runLearnerRole(input: LearnerInput & { onState?: (state: string, step: number) => void }): Promise<{ metrics: GrpoStepMetrics[] }> {
  const actor = createActor(learnerMachine, { input });
  let lastState = '';
  if (input.onState) {
    actor.subscribe((snap) => {
      const s = String(snap.value);
      if (s !== lastState && s !== 'next') input.onState!(s, snap.context.step);
      lastState = s;
    });
  }
  const done = toPromise(actor);
  actor.start();
  const out = await done;
  if (out.error) throw out.error;
  return { metrics: out.metrics };
}
