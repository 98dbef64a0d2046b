// The evolver as an XState actor: one named state per step of a round, looping over the rounds.
//
//   produce ─► collectFailures ─► reflect ─► validate ─► decide ─► record ─► (next round) produce
//                    │ no failures / baseline    │ no usable rewrite                │
//                    └──────────────────────────►└─────────────────────────────────►record ─► done
//
// Every step is an invoked promise (steps.ts): the machine holds what the round has learned so far
// and decides where to go next; the effects (NATS runs, KV writes, the model) live in the steps.
import { assign, createActor, fromPromise, setup } from 'xstate';
import type { EvolverRound } from '../../protocols/evolver.ts';
import type { PromotionDecision } from './promotion.ts';
import { batchOutcome, type FixedPlan, type RunResult } from './run.ts';
import {
  armOutcome,
  collectFailures,
  decide,
  digest,
  produce,
  publishRound,
  creditProduction,
  loadArchive,
  recordDecision,
  reflectStep,
  restoreAll,
  storeArchive,
  validate,
  type Candidate,
  type Collected,
  type EvolveConfig,
  type EvolverEnv,
  type Production,
  type RoundRecord,
} from './steps.ts';

interface Ctx {
  cfg: EvolveConfig;
  env: EvolverEnv;
  round: number;
  /** Plans of round 1, replayed by later production runs when `samePlans`. */
  plans?: FixedPlan[];
  records: RoundRecord[];
  production?: Production;
  collected?: Collected;
  candidate?: Candidate | null;
  reflectProblems: string[];
  evolverTokens: { prompt: number; completion: number };
  validation?: { current: RunResult; candidate: RunResult; currentRevision: number };
  decision?: PromotionDecision;
  error?: string;
  /** Set on entering `failed`: `error` is then why the session stopped (elsewhere it may be a round's note). */
  stopped: boolean;
}

type Input = { cfg: EvolveConfig; env: EvolverEnv };

const fresh = { production: undefined, collected: undefined, candidate: undefined, validation: undefined, decision: undefined, reflectProblems: [] as string[], evolverTokens: { prompt: 0, completion: 0 } };

async function recordRound(c: Ctx): Promise<RoundRecord> {
  const { cfg, env, round } = c;
  const prod = c.production!;
  const col = c.collected!;
  const rec: RoundRecord = {
    round,
    production: digest(prod),
    plans: prod.plans,
    failures: { total: col.total, byRole: col.byRole, groups: col.groups.map((g) => ({ kind: g.kind, role: g.role, count: g.ids.length })) },
    target: cfg.evolve ? (col.target?.role ?? null) : null,
    outcome: 'baseline',
    reason: '',
    liveRevision: null,
    evolverTokens: c.evolverTokens,
  };
  if (c.candidate) (rec.kind = c.candidate.kind), (rec.candidate = { kind: c.candidate.kind, key: c.candidate.key, ...(c.candidate.rule ? { rule: c.candidate.rule } : {}), revision: c.candidate.revision, parent: c.candidate.parent, rationale: c.candidate.rationale, addresses: c.candidate.addresses, attempts: c.candidate.attempts, problems: c.candidate.problems });
  if (c.reflectProblems.length) rec.reflectProblems = c.reflectProblems;
  if (!cfg.evolve) rec.reason = 'baseline: production only, no reflection';
  else if (!col.target) (rec.outcome = 'no-failures'), (rec.reason = `no failure attributable to ${cfg.roles.join('/')}`);
  else if (!c.candidate) (rec.outcome = 'no-candidate'), (rec.reason = `the evolver's model gave no usable rewrite: ${c.reflectProblems.join(' | ').slice(0, 300)}`);
  else if (!c.validation || !c.decision) (rec.outcome = 'no-validation'), (rec.reason = c.error ?? 'no plans to validate on');
  if (cfg.evolve) {
    // The archive: the production run's yield for every live revision, the validation arms, and a
    // restore for any role whose live revision fell clearly behind its archived best.
    let archive = creditProduction(await loadArchive(env.kv), prod, round, cfg);
    if (c.candidate && c.validation && c.decision) {
      const v = c.validation;
      const r = await recordDecision(env, cfg, round, c.candidate, v, c.decision, archive);
      archive = r.archive;
      rec.validation = { current: { ...digest(v.current), revision: v.currentRevision }, candidate: { ...digest(v.candidate), revision: c.candidate.revision } };
      rec.decision = c.decision;
      rec.outcome = c.decision.promote ? 'promote' : 'rollback';
      rec.reason = c.decision.reason;
      rec.liveRevision = r.liveRevision;
      rec.promotedDiff = r.promotedDiff;
    }
    const restored = await restoreAll(env, cfg, round, archive);
    if (restored.length) rec.restored = restored;
    const mine = restored.find((x) => x.role === (c.candidate?.key ?? rec.target));
    if (mine) rec.liveRevision = mine.revision;
    await storeArchive(env, cfg, round, archive);
  }
  const msg: EvolverRound = {
    sessionId: cfg.sessionId,
    domain: cfg.domain,
    round,
    productionRunId: prod.runId,
    production: { items: prod.summary.items, passed: prod.summary.dialoguePassed },
    failures: col.total,
    target: rec.target,
    ...(rec.kind ? { kind: rec.kind, key: c.candidate?.key } : {}),
    outcome: rec.outcome,
    reason: rec.reason,
    liveRevision: rec.liveRevision,
    ...(c.validation ? { current: armOutcome(c.validation.current, c.validation.currentRevision), candidate: armOutcome(c.validation.candidate, c.candidate?.revision ?? null) } : {}),
    ...(rec.restored ? { restored: rec.restored } : {}),
  };
  await publishRound(env, msg);
  env.log(`[evolve] round ${round}/${cfg.rounds} done: ${rec.outcome} — production ${prod.summary.dialoguePassed}/${prod.summary.items} passed`);
  return rec;
}

export interface EvolveResult {
  records: RoundRecord[];
  error?: string;
}

export const evolverMachine = setup({
  types: { context: {} as Ctx, input: {} as Input, output: {} as EvolveResult },
  actors: {
    produce: fromPromise(async ({ input: c }: { input: Ctx }): Promise<Production> => produce(c.env, c.cfg, c.round, c.plans)),
    collectFailures: fromPromise(async ({ input: c }: { input: Ctx }) => collectFailures(c.env, c.cfg, c.production!.runId, c.production!.startedAt)),
    reflect: fromPromise(async ({ input: c }: { input: Ctx }) => reflectStep(c.env, c.cfg, c.round, c.collected!.target!)),
    validate: fromPromise(async ({ input: c }: { input: Ctx }) => validate(c.env, c.cfg, c.round, c.candidate!, c.production!.plans)),
    decide: fromPromise(async ({ input: c }: { input: Ctx }) => decide(c.cfg, batchOutcome(c.validation!.current), batchOutcome(c.validation!.candidate))),
    record: fromPromise(async ({ input: c }: { input: Ctx }) => recordRound(c)),
  },
  guards: {
    moreRounds: ({ context }) => context.round < context.cfg.rounds,
    // A meta-planner candidate writes its own validation plans (steps.ts, validationRequest).
    noPlans: ({ context }) => !context.production?.plans.length && context.collected?.target?.role !== 'meta-planner',
  },
}).createMachine({
  id: 'evolver',
  context: ({ input }) => ({ cfg: input.cfg, env: input.env, round: 1, records: [], plans: input.cfg.fixedPlans, ...fresh, stopped: false }),
  initial: 'produce',
  states: {
    produce: {
      invoke: {
        src: 'produce',
        input: ({ context }) => context,
        onDone: {
          target: 'collectFailures',
          actions: assign(({ context, event }) => ({
            production: event.output,
            plans: context.plans ?? (context.cfg.samePlans && event.output.plans.length ? event.output.plans : undefined),
          })),
        },
        onError: { target: 'failed', actions: assign({ error: ({ event }) => String((event.error as Error)?.message ?? event.error) }) },
      },
    },
    collectFailures: {
      invoke: {
        src: 'collectFailures',
        input: ({ context }) => context,
        onDone: [
          { guard: ({ context, event }) => !context.cfg.evolve || !event.output.target, target: 'record', actions: assign({ collected: ({ event }) => event.output }) },
          { target: 'reflect', actions: assign({ collected: ({ event }) => event.output }) },
        ],
        onError: { target: 'failed', actions: assign({ error: ({ event }) => String((event.error as Error)?.message ?? event.error) }) },
      },
    },
    reflect: {
      invoke: {
        src: 'reflect',
        input: ({ context }) => context,
        onDone: [
          {
            guard: ({ event }) => !event.output.candidate,
            target: 'record',
            actions: assign({ candidate: null, reflectProblems: ({ event }) => event.output.problems, evolverTokens: ({ event }) => event.output.tokens }),
          },
          {
            guard: 'noPlans',
            target: 'record',
            actions: assign({ candidate: ({ event }) => event.output.candidate, reflectProblems: ({ event }) => event.output.problems, evolverTokens: ({ event }) => event.output.tokens, error: 'the production run issued no plan to validate on' }),
          },
          { target: 'validate', actions: assign({ candidate: ({ event }) => event.output.candidate, reflectProblems: ({ event }) => event.output.problems, evolverTokens: ({ event }) => event.output.tokens }) },
        ],
        onError: { target: 'failed', actions: assign({ error: ({ event }) => String((event.error as Error)?.message ?? event.error) }) },
      },
    },
    validate: {
      invoke: {
        src: 'validate',
        input: ({ context }) => context,
        onDone: { target: 'decide', actions: assign({ validation: ({ event }) => event.output }) },
        onError: { target: 'failed', actions: assign({ error: ({ event }) => String((event.error as Error)?.message ?? event.error) }) },
      },
    },
    decide: {
      invoke: {
        src: 'decide',
        input: ({ context }) => context,
        onDone: { target: 'record', actions: assign({ decision: ({ event }) => event.output }) },
        onError: { target: 'failed', actions: assign({ error: ({ event }) => String((event.error as Error)?.message ?? event.error) }) },
      },
    },
    record: {
      invoke: {
        src: 'record',
        input: ({ context }) => context,
        onDone: [
          { guard: 'moreRounds', target: 'produce', actions: assign(({ context, event }) => ({ records: [...context.records, event.output], round: context.round + 1, ...fresh, error: undefined })) },
          { target: 'done', actions: assign(({ context, event }) => ({ records: [...context.records, event.output] })) },
        ],
        onError: { target: 'failed', actions: assign({ error: ({ event }) => String((event.error as Error)?.message ?? event.error) }) },
      },
    },
    done: { type: 'final' },
    failed: { type: 'final', entry: assign({ stopped: true }) },
  },
  output: ({ context }) => ({ records: context.records, ...(context.stopped ? { error: context.error ?? 'failed' } : {}) }),
});

/** Run the machine to its end; `onState` sees every state it enters (progress). */
export function runEvolver(cfg: EvolveConfig, env: EvolverEnv, onState?: (state: string, round: number) => void): Promise<EvolveResult> {
  return new Promise((resolve) => {
    const actor = createActor(evolverMachine, { input: { cfg, env } });
    let last = '';
    actor.subscribe((snap) => {
      const state = String(snap.value);
      if (state !== last) {
        last = state;
        onState?.(state, snap.context.round);
      }
      if (snap.status === 'done') resolve(snap.output!);
    });
    actor.start();
  });
}
