// The learner as an XState v5 machine: collect rollouts → update the policy → publish it (→ collect …)
// until the step budget is spent. The trainer supplies the three phases (grpo-trainer.ts: rollouts
// from a RolloutSource, the clipped-surrogate step, then logging / checkpoint / publishing to the
// model servers / reporting on NATS); the machine owns their order and the step count, and a failed
// phase ends the run in `failed` with the error (the caller rethrows it).
//
//   next ─► collecting ─► updating ─► publishing ─► next …   next ─► done (steps spent)
//                 └───────────┴────────────┴──► failed
// It runs inside a training run (cli/drivers/train/train-run.ts → grpo-trainer.ts), which reports each
// finished step on the bus as `learn.step.completed` (protocols/learner.ts). A training run is started
// by `troupe train`, or — the hosted learner role at the end of this file — by a `learn.run.requested`
// message to `troupe worker --roles learner`.
import { join } from 'node:path';
import { assign, createActor, emit, fromPromise, setup, toPromise } from 'xstate';
import { LearnRunCompleted, LearnRunRequested, LearnStepCompleted, LearnPolicyPublished, type LearnRunRequest, type LearnRunResult } from '../../protocols/learner.ts';
import { defineRole, output, type RoleContext, type RoleDefinition, type RoleInput } from '../../runtime/host/role.ts';
import type { NatsSettings } from '../../runtime/nats/connect.ts';
import { runsDir } from '../../runtime/config/paths.ts';
import { TrainConfig } from './config.ts';
import { natsRefBase } from './nats-ref.ts';
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

// ---------------------------------------------------------------------------------------------
// The hosted learner role (`troupe worker --roles learner`): consumes `learn.run.requested`, runs the
// training it describes (for GRPO, the machine above drives each step), publishes `learn.run.completed`.
//
//   checking ─► training ─► reporting ─► done
//      │ refused (bad configuration)   ▲ (a failed run is reported with its error)
//      └───────────────────────────────┘

/** A training run, as cli/drivers/train/train-run.ts runs one (injected: the role folder does not reach the CLI). */
export type TrainFn = (mode: LearnRunRequest['mode'], cfg: TrainConfig, opts: { resume?: boolean; quiet?: boolean }) => Promise<{ dir: string; report: string; summary: Record<string, unknown> }>;

export interface LearnerRoleDeps {
  train: TrainFn;
  /** The society's NATS, for rollouts and publishes whose configuration names none. */
  nats?: NatsSettings;
}

/**
 * The configuration a request runs with, or why it cannot run. Defaults for a hosted run: the run
 * directory is `<runs dir>/learn-<runId>` (so the same run id resumes from its checkpoint), and
 * society rollouts and publishes go to the society the learner lives in.
 */
export function hostedTrainConfig(req: LearnRunRequest, nats: NatsSettings | undefined): { cfg: TrainConfig } | { error: string } {
  const r = TrainConfig.safeParse(req.config);
  if (!r.success) return { error: `config: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}` };
  const cfg = r.data;
  cfg.output.dir ??= join(runsDir(), `learn-${req.runId}`);
  const raw = req.config as { rollouts?: { nats?: unknown }; publish?: { nats?: unknown } };
  const society = () => {
    if (!nats) throw new Error('no NATS settings from the worker');
    return natsRefBase(nats);
  };
  try {
    if (cfg.rollouts?.source === 'society' && raw.rollouts?.nats === undefined) cfg.rollouts.nats = society();
    if (cfg.publish && cfg.publish.nats === undefined) cfg.publish.nats = society();
  } catch (e) {
    return { error: `the configuration names no NATS server and ${(e as Error).message}` };
  }
  if (req.mode !== 'grpo' && !cfg.data) return { error: `${req.mode} needs data.path (a JSONL of OpenAI-format dialogues on the learner's machine)` };
  return { cfg };
}

interface HostedCtx {
  input: RoleInput<LearnRunRequest>;
  cfg?: TrainConfig;
  result?: LearnRunResult;
}

export function learnerRoleMachine(deps: LearnerRoleDeps) {
  const prepared = (c: HostedCtx) => hostedTrainConfig(c.input.data, deps.nats);
  return setup({
    types: { input: {} as RoleInput<LearnRunRequest>, context: {} as HostedCtx },
    actors: {
      train: fromPromise<{ dir: string; report: string; summary: Record<string, unknown> }, { req: LearnRunRequest; cfg: TrainConfig }>(({ input }) =>
        // Always resume: a run id names one run directory, so a redelivered or repeated request continues from its checkpoint.
        deps.train(input.req.mode, input.cfg, { resume: true }),
      ),
    },
    guards: { runnable: ({ context }) => 'cfg' in prepared(context) },
  }).createMachine({
    id: 'learner-role',
    context: ({ input }) => ({ input }),
    initial: 'checking',
    states: {
      checking: {
        always: [
          { guard: 'runnable', target: 'training', actions: assign({ cfg: ({ context }) => (prepared(context) as { cfg: TrainConfig }).cfg }) },
          {
            target: 'reporting',
            actions: assign({ result: ({ context }) => ({ runId: context.input.data.runId, mode: context.input.data.mode, ok: false, error: `refused: ${(prepared(context) as { error: string }).error}` }) }),
          },
        ],
      },
      training: {
        invoke: {
          src: 'train',
          input: ({ context }) => ({ req: context.input.data, cfg: context.cfg! }),
          onDone: { target: 'reporting', actions: assign({ result: ({ context, event }) => ({ runId: context.input.data.runId, mode: context.input.data.mode, ok: true, dir: event.output.dir, report: event.output.report, summary: event.output.summary }) }) },
          // Reported, not retried: a retry would repeat a long run; the same run id asked again resumes it.
          onError: { target: 'reporting', actions: assign({ result: ({ context, event }) => ({ runId: context.input.data.runId, mode: context.input.data.mode, ok: false, dir: context.cfg?.output.dir, error: String((event.error as Error)?.message ?? event.error) }) }) },
        },
      },
      reporting: {
        entry: emit(({ context }) => output(LearnRunCompleted, context.result!)),
        always: 'done',
      },
      done: { type: 'final' },
    },
  });
}

export function learnerRole(deps: LearnerRoleDeps): RoleDefinition {
  return defineRole({
    name: 'learner',
    impl: 'learner@1',
    version: '1',
    consumes: [LearnRunRequested],
    produces: [LearnRunCompleted, LearnStepCompleted, LearnPolicyPublished],
    machine: learnerRoleMachine(deps),
    // One run at a time: a run holds the machine's memory and cores.
    concurrency: 1,
    timeoutMs: 7 * 24 * 3_600_000,
  });
}

/** The learner as `troupe worker --roles learner` hosts it; `train` is wired in by the role table (cli/roles.ts). */
export function createLearnerRole(ctx: RoleContext, train: TrainFn): RoleDefinition {
  return learnerRole({ train, nats: ctx.nats });
}
