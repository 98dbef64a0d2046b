// Plan streams as an XState machine (the first level of evolution; role instructions are the second,
// machine.ts). S streams, one plan pair each, run K rounds together:
//
//   load ─► produce ─► collect ─► rewrite ─► validate ─► decide ─► record ─► (next round) produce
//                         │ last round / baseline │ no candidate         │
//                         └──────────────────────►└─────────────────────►record ─► done
//
// produce: one synthesis run with the streams' pairs as fixed plans (S × T items, seed S₀ + 1000k);
// collect: each stream's items, failures (with blame side) and task kinds, by plan slot; rewrite: per
// stream, a rule-based rewrite of its pair from its own failures (streams.ts), kept apart from the
// other streams' plans; validate: the streams with a candidate, current pairs vs candidate pairs, two
// validation runs on the same seed (V items per stream per arm; item k of slot q pairs with item k of
// slot q); decide: McNemar exact on each stream's pairs (paired.ts, STREAM_RULE); record: each kept
// rewrite becomes a new revision of the plan library `plan.<domain>` with lineage (parent, the failures
// it answers, the moves and the test), and the round's record holds the diff. Effects are injected
// (StreamEnv), so the machine runs against a live society or a scripted one in a test.
import { assign, createActor, fromPromise, setup } from 'xstate';
import type { KV } from '@nats-io/kv';
import { PlanLibrarySchema, type SynthRunRequest, type TaskKind } from '../../protocols/synthesis.ts';
import { getValue, putValue, unifiedDiff, valueKey } from '../../runtime/instructions/index.ts';
import type { ToolEntities } from '../kit/plan-signature.ts';
import { failureRecords, type FailureRecord } from './failures.ts';
import { pairedDecision, STREAM_RULE, type PairedDecision } from './paired.ts';
import { itemOutcomes, type RunResult } from './run.ts';
import { blameMix, kindsBySlot, rewritePair, slotOf, type BlameSide, type PlanPair, type Rewrite } from './streams.ts';

export interface StreamConfig {
  sessionId: string;
  domain: string;
  rounds: number;
  /** Production items per stream per round. */
  tasksPerPlan: number;
  /** Validation items per stream per arm. */
  validationSize: number;
  maxRevisions: number;
  seed: number;
  /** false: production rounds only, the pairs never change (the baseline, same seeds). */
  evolve: boolean;
  /** The paired test's threshold (paired.ts; default 0.5). */
  alpha?: number;
  /** The streams' starting pairs (written to the plan library as a new revision); else the library's current pairs. */
  pairs?: PlanPair[];
  instance: string;
}

/** The plan library `plan.<domain>` as the machine reads and writes it. */
export interface PlanStore {
  key: string;
  read(): Promise<{ revision: number; pairs: PlanPair[] } | null>;
  write(pairs: PlanPair[], meta: { author: string; rationale: string; failures?: string[]; parent?: number }): Promise<number>;
}

export function kvPlanStore(kv: KV, domain: string): PlanStore {
  const key = valueKey('plan', domain);
  return {
    key,
    async read() {
      const v = await getValue(kv, key, PlanLibrarySchema);
      return v ? { revision: v.revision, pairs: v.value } : null;
    },
    async write(pairs, meta) {
      return (await putValue(kv, key, PlanLibrarySchema, pairs, meta)).revision;
    },
  };
}

export interface StreamEnv {
  /** One synthesis run, followed to its end (runSynthesis against the live society). */
  run(req: SynthRunRequest): Promise<RunResult>;
  store: PlanStore;
  entities: ToolEntities;
  log(line: string): void;
}

export interface StreamRound {
  stream: number;
  /** The pair this round's production ran. */
  pair: PlanPair;
  items: number;
  passed: number;
  blame: Record<BlameSide, number>;
  failureKinds: Record<string, number>;
  kinds: Partial<Record<TaskKind, number>>;
  /** The rewrite proposed after this round (absent on the last round and in the baseline). */
  rewrite?: Rewrite & {
    kept?: boolean;
    decision?: Omit<PairedDecision, 'keep'>;
    current?: { passed: number; items: number };
    candidate?: { passed: number; items: number };
    diff?: string;
    libraryRevision?: number;
  };
  /** Why there was no rewrite. */
  noRewrite?: string;
}

export interface StreamRoundRecord {
  round: number;
  runId: string;
  seconds: number;
  libraryRevision: number;
  streams: StreamRound[];
  validation?: { currentRunId: string; candidateRunId: string; seconds: number };
}

interface Ctx {
  cfg: StreamConfig;
  env: StreamEnv;
  round: number;
  pairs: PlanPair[];
  libraryRevision: number;
  records: StreamRoundRecord[];
  production?: RunResult;
  current?: StreamRound[];
  candidates?: (Rewrite | null)[];
  validation?: { current: RunResult; candidate: RunResult; streams: number[] };
  error?: string;
}

const author = (cfg: StreamConfig) => `evolver/${cfg.instance}`;
const pretty = (p: PlanPair) => JSON.stringify(p, null, 2) + '\n';

async function load(c: Ctx): Promise<{ pairs: PlanPair[]; revision: number }> {
  if (c.cfg.pairs?.length) {
    const prev = await c.env.store.read();
    const revision = await c.env.store.write(c.cfg.pairs, { author: author(c.cfg), rationale: `the ${c.cfg.pairs.length} stream pair(s) of evolve session ${c.cfg.sessionId}`, ...(prev ? { parent: prev.revision } : {}) });
    return { pairs: c.cfg.pairs, revision };
  }
  const cur = await c.env.store.read();
  if (!cur) throw new Error(`${c.env.store.key} holds no plans and none were given: write the streams' pairs first (troupe instructions set ${c.env.store.key} --file …, or --plans-file)`);
  return { pairs: cur.pairs, revision: cur.revision };
}

function produce(c: Ctx): Promise<RunResult> {
  const { cfg } = c;
  return c.env.run({ runId: `${cfg.sessionId}-r${c.round}`, domain: cfg.domain, plans: c.pairs.length, tasksPerPlan: cfg.tasksPerPlan, maxRevisions: cfg.maxRevisions, fixedPlans: c.pairs, seed: cfg.seed + 1000 * c.round });
}

/** Per stream: items, passes, failures with blame side, task kinds, from the production run's messages. */
export function collectStreams(runId: string, pairs: readonly PlanPair[], r: Pick<RunResult, 'envelopes'>): { rounds: StreamRound[]; failures: FailureRecord[][] } {
  const outcomes = itemOutcomes(runId, r.envelopes);
  const records = failureRecords(r.envelopes, runId);
  const kinds = kindsBySlot(runId, r.envelopes);
  const failures = pairs.map((_, i) => records.filter((f) => slotOf(runId, f.itemId) === i));
  const rounds = pairs.map((pair, i): StreamRound => {
    const mine = Object.entries(outcomes).filter(([place]) => place.startsWith(`p${i}-`));
    const failureKinds: Record<string, number> = {};
    for (const f of failures[i]) failureKinds[f.kind] = (failureKinds[f.kind] ?? 0) + 1;
    return { stream: i, pair, items: mine.length, passed: mine.filter(([, ok]) => ok).length, blame: blameMix(failures[i]), failureKinds, kinds: kinds[i] ?? {} };
  });
  return { rounds, failures };
}

function rewriteAll(c: Ctx, failures: FailureRecord[][]): { candidates: (Rewrite | null)[]; rounds: StreamRound[] } {
  const rounds = c.current!.map((s) => ({ ...s }));
  const candidates = c.pairs.map((pair, i) => {
    const others = c.pairs.filter((_, j) => j !== i).map((p) => p.synthesis);
    const r = rewritePair(pair, failures[i], { passed: rounds[i].passed, items: rounds[i].items, others, entities: c.env.entities });
    if (r.rewrite) rounds[i].rewrite = { ...r.rewrite };
    else rounds[i].noRewrite = r.reason;
    return r.rewrite;
  });
  return { candidates, rounds };
}

async function validate(c: Ctx): Promise<{ current: RunResult; candidate: RunResult; streams: number[] }> {
  const { cfg } = c;
  const streams = c.candidates!.map((x, i) => (x ? i : -1)).filter((i) => i >= 0);
  const base = { domain: cfg.domain, plans: streams.length, tasksPerPlan: cfg.validationSize, maxRevisions: cfg.maxRevisions, seed: cfg.seed + 1000 * c.round + 500, validation: true };
  c.env.log(`[streams] round ${c.round}: validating ${streams.length} rewrite(s) (streams ${streams.join(', ')}), ${cfg.validationSize} item(s) per stream per arm`);
  const [current, candidate] = await Promise.all([
    c.env.run({ ...base, runId: `${cfg.sessionId}-r${c.round}-current`, fixedPlans: streams.map((i) => c.pairs[i]) }),
    c.env.run({ ...base, runId: `${cfg.sessionId}-r${c.round}-candidate`, fixedPlans: streams.map((i) => c.candidates![i]!.pair) }),
  ]);
  return { current, candidate, streams };
}

/** Per validated stream: the paired decision on its slot's items. */
export function decideStreams(v: { current: Pick<RunResult, 'runId' | 'envelopes'>; candidate: Pick<RunResult, 'runId' | 'envelopes'>; streams: number[] }, alpha = STREAM_RULE.alpha): Map<number, { d: PairedDecision; current: { passed: number; items: number }; candidate: { passed: number; items: number } }> {
  const cur = itemOutcomes(v.current.runId, v.current.envelopes);
  const cand = itemOutcomes(v.candidate.runId, v.candidate.envelopes);
  const out = new Map<number, { d: PairedDecision; current: { passed: number; items: number }; candidate: { passed: number; items: number } }>();
  v.streams.forEach((stream, q) => {
    const pick = (o: Record<string, boolean>) => Object.fromEntries(Object.entries(o).filter(([k]) => k.startsWith(`p${q}-`)));
    const a = pick(cur);
    const b = pick(cand);
    const count = (o: Record<string, boolean>) => ({ passed: Object.values(o).filter(Boolean).length, items: Object.keys(o).length });
    out.set(stream, { d: pairedDecision(a, b, { ...STREAM_RULE, alpha }, `stream ${stream} yield`), current: count(a), candidate: count(b) });
  });
  return out;
}

async function record(c: Ctx): Promise<{ rec: StreamRoundRecord; pairs: PlanPair[]; revision: number }> {
  const { cfg } = c;
  const rounds = c.current!;
  let pairs = [...c.pairs];
  let revision = c.libraryRevision;
  const prod = c.production!;
  const rec: StreamRoundRecord = { round: c.round, runId: prod.runId, seconds: Math.round((prod.endedAt - prod.startedAt) / 1000), libraryRevision: revision, streams: rounds };
  if (c.validation) {
    const decisions = decideStreams(c.validation, cfg.alpha);
    rec.validation = { currentRunId: c.validation.current.runId, candidateRunId: c.validation.candidate.runId, seconds: Math.round((Math.max(c.validation.current.endedAt, c.validation.candidate.endedAt) - c.validation.current.startedAt) / 1000) };
    for (const [i, r] of decisions) {
      const s = rounds[i];
      const { keep, ...decision } = r.d;
      s.rewrite = { ...s.rewrite!, kept: keep, decision, current: r.current, candidate: r.candidate };
      if (!keep) {
        c.env.log(`[streams] round ${c.round}: stream ${i} rewrite DROPPED: ${r.d.why}`);
        continue;
      }
      const next = c.candidates![i]!.pair;
      const before = pairs[i];
      pairs = pairs.map((p, j) => (j === i ? next : p));
      const parent = revision;
      revision = await c.env.store.write(pairs, {
        author: author(cfg),
        rationale: `stream ${i}, round ${c.round} of ${cfg.sessionId}: ${s.rewrite.moves.join('; ')} (${s.rewrite.rationale}); kept: ${r.d.why}`,
        failures: s.rewrite.addresses,
        parent,
      });
      s.rewrite.libraryRevision = revision;
      s.rewrite.diff = unifiedDiff(pretty(before), pretty(next), { fromLabel: `${c.env.store.key}@${parent} stream ${i}`, toLabel: `${c.env.store.key}@${revision} stream ${i}` });
      c.env.log(`[streams] round ${c.round}: stream ${i} rewrite KEPT as ${c.env.store.key}@${revision}: ${s.rewrite.moves.join('; ')}`);
    }
  }
  rec.libraryRevision = revision;
  const line = rounds.map((s) => `s${s.stream} ${s.passed}/${s.items}`).join(', ');
  c.env.log(`[streams] round ${c.round}/${cfg.rounds} done: ${line}`);
  return { rec, pairs, revision };
}

export const streamMachine = setup({
  types: { context: {} as Ctx, input: {} as { cfg: StreamConfig; env: StreamEnv } },
  actors: {
    load: fromPromise(async ({ input }: { input: Ctx }) => load(input)),
    produce: fromPromise(async ({ input }: { input: Ctx }) => produce(input)),
    validate: fromPromise(async ({ input }: { input: Ctx }) => validate(input)),
    record: fromPromise(async ({ input }: { input: Ctx }) => record(input)),
  },
  guards: {
    // After the last round nothing would use a rewrite; the baseline never rewrites.
    rewriteThisRound: ({ context }) => context.cfg.evolve && context.round < context.cfg.rounds,
    anyCandidate: ({ context }) => (context.candidates ?? []).some((x) => x !== null),
    moreRounds: ({ context }) => context.round < context.cfg.rounds,
  },
}).createMachine({
  id: 'streams',
  context: ({ input }) => ({ cfg: input.cfg, env: input.env, round: 1, pairs: [], libraryRevision: 0, records: [] }),
  initial: 'load',
  states: {
    load: {
      invoke: { src: 'load', input: ({ context }) => context, onDone: { target: 'produce', actions: assign({ pairs: ({ event }) => event.output.pairs, libraryRevision: ({ event }) => event.output.revision }) }, onError: { target: 'failed', actions: assign({ error: ({ event }) => String((event.error as Error)?.message ?? event.error) }) } },
    },
    produce: {
      invoke: { src: 'produce', input: ({ context }) => context, onDone: { target: 'collect', actions: assign({ production: ({ event }) => event.output }) }, onError: { target: 'failed', actions: assign({ error: ({ event }) => String((event.error as Error)?.message ?? event.error) }) } },
    },
    collect: {
      entry: assign(({ context }) => ({ current: collectStreams(context.production!.runId, context.pairs, context.production!).rounds })),
      always: [{ guard: 'rewriteThisRound', target: 'rewrite' }, { target: 'record' }],
    },
    rewrite: {
      entry: assign(({ context }) => {
        const failures = collectStreams(context.production!.runId, context.pairs, context.production!).failures;
        const r = rewriteAll(context, failures);
        return { candidates: r.candidates, current: r.rounds };
      }),
      always: [{ guard: 'anyCandidate', target: 'validate' }, { target: 'record' }],
    },
    validate: {
      invoke: { src: 'validate', input: ({ context }) => context, onDone: { target: 'record', actions: assign({ validation: ({ event }) => event.output }) }, onError: { target: 'failed', actions: assign({ error: ({ event }) => String((event.error as Error)?.message ?? event.error) }) } },
    },
    record: {
      invoke: {
        src: 'record',
        input: ({ context }) => context,
        onDone: [
          {
            guard: 'moreRounds',
            target: 'produce',
            actions: assign(({ context, event }) => ({ records: [...context.records, event.output.rec], pairs: event.output.pairs, libraryRevision: event.output.revision, round: context.round + 1, production: undefined, current: undefined, candidates: undefined, validation: undefined })),
          },
          { target: 'done', actions: assign(({ context, event }) => ({ records: [...context.records, event.output.rec], pairs: event.output.pairs, libraryRevision: event.output.revision })) },
        ],
        onError: { target: 'failed', actions: assign({ error: ({ event }) => String((event.error as Error)?.message ?? event.error) }) },
      },
    },
    done: { type: 'final' },
    failed: { type: 'final' },
  },
});

export interface StreamsResult {
  records: StreamRoundRecord[];
  pairs: PlanPair[];
  error?: string;
}

/** Run the streams to their end; `onState` sees every state entered. */
export function runStreams(cfg: StreamConfig, env: StreamEnv, onState?: (state: string, round: number) => void): Promise<StreamsResult> {
  return new Promise((resolve) => {
    const actor = createActor(streamMachine, { input: { cfg, env } });
    let last = '';
    actor.subscribe((snap) => {
      const state = String(snap.value);
      if (state !== last) onState?.((last = state), snap.context.round);
      if (snap.status === 'done') resolve({ records: snap.context.records, pairs: snap.context.pairs, error: snap.value === 'failed' ? snap.context.error : undefined });
    });
    actor.start();
  });
}
