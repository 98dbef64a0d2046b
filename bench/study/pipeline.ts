// The study's stages: synthesize (held-out run first, then the training run), fix the held-out sets,
// build the training data, train each arm and seed, evaluate each arm and seed, aggregate. Every
// stage writes its result under the output folder and is skipped when that result is there, so an
// interrupted study resumes and one arm can be rerun alone (delete its folder, or --only ARM).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { getDomain } from '../../domains/registry.ts';
import { rewardBasisOf } from '../../domains/evaluator/types.ts';
import type { Task } from '../../protocols/tau2/task.ts';
import type { DatasetRecord, FailureReport } from '../../protocols/synthesis.ts';
import { DatasetRecordMsg } from '../../protocols/synthesis.ts';
import { openNatsSession } from '../../runtime/nats/session.ts';
import { startModelServer } from '../../llm/server/server.ts';
import { stopLocalModelServer } from '../../llm/server/embedded.ts';
import { readGguf } from '../../nn/model/gguf-read.ts';
import { configFromGguf } from '../../nn/model/load-gguf.ts';
import { initParams } from '../../nn/model/llama.ts';
import { exportGguf } from '../../nn/model/export.ts';
import { initBackend } from '../../nn/backend/backend.ts';
import { loadChatTokenizer } from '../../nn/model/tokenizer.ts';
import { parseSftJsonl, toExamples } from '../../nn/train/sft-data.ts';
import { TrainConfig, DEFAULT_MODEL } from '../../actors/learner/config.ts';
import { userSetupFor } from '../../actors/user-simulator/for-task.ts';
import { modelsDir } from '../../runtime/config/paths.ts';
import { RolesConfigSchema, startSynthSociety, followRun } from '../../cli/drivers/synth/society.ts';
import { exportRecords, sftExample } from '../../cli/drivers/synth/export.ts';
import { runTraining } from '../../cli/drivers/train/train-run.ts';
import { runEval } from '../../cli/drivers/eval/runner.ts';
import type { AgentChoice, UserChoice } from '../../cli/drivers/eval/services.ts';
import { toPythonJson } from '../../domains/evaluator/results-io.ts';
import { rng } from './stats.ts';
import { startStubUser } from './stub-user.ts';
import { ALL_ARMS, UNTRAINED, USER_ARMS, type Scale, type SynthRunSpec } from './scales.ts';
import { ORACLE_FOLLOW_UP } from '../../actors/actor/oracle-agent.ts';
import { AGENT_STOP_TOKEN } from '../../protocols/dialogue.ts';

export interface StudyContext {
  out: string;
  scale: Scale;
  /** The held-out file (committed with the study at full scales; under `out` in tests). */
  heldoutPath: string;
  log: (line: string) => void;
  /** Evaluate next-call match only (no dialogues). */
  nextcallOnly?: boolean;
  /** Run only this synthesis run (e.g. to run two in parallel processes), then stop. */
  synthOnly?: string;
}

const readJson = <T>(p: string): T => JSON.parse(readFileSync(p, 'utf8')) as T;
const writeJson = (p: string, v: unknown) => {
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, JSON.stringify(v, null, 2) + '\n');
};
const canon = (v: unknown): string => JSON.stringify(v, (_k, x) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.keys(x).sort().map((k) => [k, x[k]])) : x));

/** The GGUF every arm starts from. */
export async function baseModel(ctx: StudyContext): Promise<string> {
  const def = join(modelsDir(), DEFAULT_MODEL);
  if (ctx.scale.model === 'default') return def;
  const p = join(ctx.out, 'tiny.f16.gguf');
  if (!existsSync(p)) {
    await initBackend();
    const source = readGguf(def);
    const cfg = { ...configFromGguf(source), dim: 16, nLayers: 1, nHeads: 2, nKvHeads: 1, headDim: 8, ffnDim: 32, contextLength: 4096, tiedEmbeddings: true };
    mkdirSync(ctx.out, { recursive: true });
    exportGguf({ config: cfg, params: initParams(cfg, 7) }, p, { dtype: 'F16', source, name: 'study-tiny' });
  }
  return p;
}

// ---------------------------------------------------------------- 1. synthesis

export interface SynthRunResult {
  name: string;
  spec: SynthRunSpec;
  runId: string;
  complete: boolean;
  seconds: number;
  counts: Record<string, unknown>;
  drops: { stage: string; reasons: string[] }[];
  records: DatasetRecord[];
  failures: FailureReport[];
}

/**
 * Every user simulator of the study (synthesis, GRPO rollouts, evaluation of every arm) opens with
 * its scenario: the 135M user never states its task by itself (the small run's null result), and the
 * same opening for every arm keeps the comparisons fair. Pre-registered in protocol.json.
 */
export const STUDY_USER_OPENING = 'scenario' as const;

/** The held-out run first, then the training runs (`train`, then `synth.more`), then the unverified
 *  run; each on its own NATS store (see below). With `ctx.synthOnly`, only that run, and only the runs
 *  already done are returned. */
export async function synthesize(ctx: StudyContext): Promise<Record<string, SynthRunResult>> {
  const runs: [string, SynthRunSpec | undefined][] = [['heldout', ctx.scale.synth.heldout], ['train', ctx.scale.synth.train], ...(ctx.scale.synth.more ?? []).map((m): [string, SynthRunSpec] => [m.name, m]), ['unverified', ctx.scale.synth.unverified]];
  const todo = runs.filter(([n, s]) => s && !existsSync(join(ctx.out, 'synth', `${n}.json`)) && (!ctx.synthOnly || ctx.synthOnly === n));
  if (todo.length) {
    const base = await baseModel(ctx);
    process.env.TROUPE_LOCAL_MODEL = base;
    const stub = ctx.scale.synth.userStub ? await startStubUser() : undefined;
    try {
      for (const [name, spec] of todo) {
        // One NATS store per run: the critic's duplicate check (accepted signatures in KV) stays within
        // a run, as in a normal synth run; disjointness from the held-out sets is enforced on the
        // training data instead (buildData), where it can be counted.
        const session = await openNatsSession(undefined, { runDir: join(ctx.out, 'synth', name), name: `troupe-study-synth-${name}` });
        const s = ctx.scale.synth;
        const config = RolesConfigSchema.parse({
          actor: spec!.actor,
          userOpening: STUDY_USER_OPENING,
          dialogueGrounding: 'require',
          criticReview: 'off',
          exploration: s.exploration ?? 'model',
          maxSteps: s.maxSteps,
          models: { 'user-simulator': stub ? { model: 'stub-user', baseURL: stub.baseURL } : { maxTokens: s.userMaxTokens }, actor: { maxTokens: s.agentMaxTokens } },
        });
        const society = await startSynthSociety({ nc: session.nc, config, log: () => {} });
        const runId = `study-${ctx.scale.name}-${name}`;
        const records = new Map<string, DatasetRecord>();
        ctx.log(`[study] synth ${name}: ${spec!.plans} plan(s) × ${spec!.tasksPerPlan}, actor ${spec!.actor}, seed ${spec!.seed}`);
        try {
          const r = await followRun({
            nc: session.nc, runId, domain: 'mock', plans: spec!.plans, tasksPerPlan: spec!.tasksPerPlan, maxRevisions: 1,
            timeoutMs: s.timeoutMin * 60_000, request: { seed: spec!.seed },
            onEnvelope: (e) => { if (e.kind === DatasetRecordMsg.kind) { const d = e.data as DatasetRecord; records.set(d.recordId, d); } },
            onProgress: (sum) => ctx.log(`[study] synth ${name}: proposed ${sum.proposed}, played ${sum.dialoguesPlayed}, passed ${sum.dialoguePassed} of ${spec!.plans * spec!.tasksPerPlan}`),
            progressEveryMs: 30_000,
          });
          const { failures, dropReasons, ...counts } = r.summary;
          const res: SynthRunResult = { name, spec: spec!, runId, complete: r.complete, seconds: (r.endedAt - r.startedAt) / 1000, counts: { ...counts, dropped: dropReasons.length }, drops: dropReasons.map((d) => ({ stage: d.stage, reasons: d.reasons })), records: [...records.values()], failures: failures.map((f) => f.report) };
          writeJson(join(ctx.out, 'synth', `${name}.json`), res);
          ctx.log(`[study] synth ${name}: ${res.records.length} verified, ${res.failures.length} failed dialogue(s), ${dropReasons.length} dropped, ${res.seconds.toFixed(0)} s`);
        } finally {
          await society.stop().catch(() => {});
          await session.close().catch(() => {});
        }
      }
    } finally {
      await stub?.close();
      await stopLocalModelServer().catch(() => {});
    }
  }
  const out: Record<string, SynthRunResult> = {};
  for (const [n, s] of runs) if (s && !(ctx.synthOnly && !existsSync(join(ctx.out, 'synth', `${n}.json`)))) out[n] = readJson(join(ctx.out, 'synth', `${n}.json`));
  return out;
}

// ---------------------------------------------------------------- 2. held-out sets

/** A task's gold write signature: its mutating calls with arguments (canonical). */
export function signature(task: Task): string {
  const actions = (task.evaluation_criteria?.actions ?? []) as { name: string; arguments: unknown }[];
  const env = getDomain('mock').createEnvironment();
  return canon(actions.filter((a) => env.isMutatingTool(a.name)).map((a) => [a.name, a.arguments]));
}

export interface Prefix {
  id: string;
  taskId: string;
  /** Index of the target assistant message in the SFT example's messages. */
  at: number;
  target: { name: string; arguments: unknown };
}

export interface Heldout {
  note: string;
  domain: string;
  base: { taskIds: string[]; excluded: { id: string; why: string }[] };
  synth: { runId: string; taskIds: string[]; signatures: string[] };
  prefixes: { id: string; taskId: string; at: number; tool: string }[];
}

function parseArgs(a: unknown): unknown {
  if (typeof a !== 'string') return a;
  try { return JSON.parse(a); } catch { return a; }
}

/** Every assistant turn with a tool call in a held-out dialogue (as the agent saw it) is a prefix. */
export function prefixesOf(records: readonly DatasetRecord[], max: number): Prefix[] {
  const out: Prefix[] = [];
  for (const r of records) {
    const msgs = sftExample(r, getDomain(r.domain)).messages as { role: string; tool_calls?: { function: { name: string; arguments: unknown } }[] }[];
    msgs.forEach((m, i) => {
      const c = m.role === 'assistant' ? m.tool_calls?.[0] : undefined;
      if (c) out.push({ id: `${r.task.id}#${i}`, taskId: r.task.id, at: i, target: { name: c.function.name, arguments: parseArgs(c.function.arguments) } });
    });
  }
  return out.slice(0, max);
}

/** Write the held-out file if there is none; check it against this study's synthesis if there is. */
export async function fixHeldout(ctx: StudyContext, synth: Record<string, SynthRunResult>): Promise<Heldout> {
  const domain = getDomain('mock');
  const recs = synth.heldout.records;
  const dataDir = join(ctx.out, 'data');
  if (!existsSync(join(dataDir, 'heldout', 'tasks.json'))) await exportRecords(recs, 'tau2-tasks', join(dataDir, 'heldout'), getDomain);
  const prefixes = prefixesOf(recs, ctx.scale.eval.maxPrefixes);
  if (existsSync(ctx.heldoutPath)) {
    const h = readJson<Heldout>(ctx.heldoutPath);
    const have = new Set(recs.map((r) => r.task.id));
    const missing = h.synth.taskIds.filter((id) => !have.has(id));
    if (h.synth.runId !== synth.heldout.runId || missing.length) throw new Error(`${ctx.heldoutPath} was fixed for another synthesis (run ${h.synth.runId}; missing ${missing.join(', ')}); use a fresh --out or remove the held-out file deliberately`);
    return h;
  }
  const all = domain.loadTasks({ split: 'base' });
  const excluded: { id: string; why: string }[] = [];
  const gradable = all.filter((t) => {
    if (rewardBasisOf(t.evaluation_criteria ?? {}).includes('NL_ASSERTION')) { excluded.push({ id: t.id, why: 'NL_ASSERTION reward basis: needs an LLM judge (none offline)' }); return false; }
    return true;
  });
  const cap = ctx.scale.baseTasks || gradable.length;
  for (const t of gradable.slice(cap)) excluded.push({ id: t.id, why: `beyond this scale's cap of ${cap} base tasks` });
  const h: Heldout = {
    note: 'Fixed before any training by bench/study/run.ts (task and prefix ids only; the synthesized tasks live in the study output folder and are reproduced by the synth stage with the seeds in bench/study/scales.ts).',
    domain: 'mock',
    base: { taskIds: gradable.slice(0, cap).map((t) => t.id), excluded },
    synth: { runId: synth.heldout.runId, taskIds: recs.map((r) => r.task.id), signatures: [...new Set(recs.map((r) => signature(r.task)))] },
    prefixes: prefixes.map((p) => ({ id: p.id, taskId: p.taskId, at: p.at, tool: p.target.name })),
  };
  writeJson(ctx.heldoutPath, h);
  ctx.log(`[study] held-out sets fixed in ${ctx.heldoutPath}: ${h.base.taskIds.length} base task(s), ${h.synth.taskIds.length} synthesized task(s), ${h.prefixes.length} prefix(es)`);
  return h;
}

// ---------------------------------------------------------------- 3. training data

export interface DataSummary {
  verified: number;
  verifiedTokens: number;
  droppedHeldoutSignature: number;
  /** Verified training tasks (before the filter) with the gold write signature of a τ² base task / a held-out synthesized task. */
  sameSignatureAsBaseTask: string[];
  sameSignatureAsSynthHeldout: number;
  unverifiedPool: number;
  unverifiedPoolFailed: number;
  /** Verified dialogues of a later training run whose gold write signature an earlier run already had. */
  droppedDuplicateAcrossRuns?: number;
  unverified: number;
  unverifiedFailed: number;
  unverifiedTokens: number;
  rlTasks: number;
}

/**
 * The dialogue the teacher plays with patience 0: its follow-ups ("Is there anything else…") and the
 * user turns answering them dropped, so the stop follows the user's reply to the closing. Dialogues
 * without that shape (no follow-up, or not ending in the agent's stop) are returned unchanged.
 */
export function stopAfterReply<M extends { role: string; content?: string | null }>(messages: readonly M[]): M[] {
  const first = messages.findIndex((m) => m.role === 'assistant' && m.content === ORACLE_FOLLOW_UP);
  const last = messages[messages.length - 1];
  if (first < 0 || last?.role !== 'assistant' || last.content !== AGENT_STOP_TOKEN) return [...messages];
  return [...messages.slice(0, first), last];
}

function sftLine(r: { task: Task; dialogue: DatasetRecord['dialogue'] }, sys: { prompt: string; tools: DatasetRecord['agentTools'] }, meta: Record<string, unknown>, closing: Scale['sftClosing'] = 'as-played'): string {
  const dialogue = closing === 'stop-after-reply' ? { ...r.dialogue, messages: stopAfterReply(r.dialogue.messages as { role: string; content?: string | null }[]) } : r.dialogue;
  const rec = { ...r, dialogue, agentSystemPrompt: sys.prompt, agentTools: sys.tools, recordId: meta.recordId, provenance: {} } as unknown as DatasetRecord;
  const ex = sftExample(rec, getDomain('mock'));
  return JSON.stringify({ ...ex, user_system: userSetupFor(getDomain('mock'), r.task).systemPrompt, metadata: meta });
}

/**
 * The verified records of several runs, in run order; a record whose key (gold write signature) an
 * earlier run already had is dropped and counted. Within a run everything is kept: the run's critic
 * already judged its duplicates (with its own, stricter similarity test).
 */
export function mergeRuns<R>(runs: readonly (readonly R[])[], key: (r: R) => string): { records: R[]; duplicates: number } {
  const earlier = new Set<string>();
  const records: R[] = [];
  let duplicates = 0;
  for (const run of runs) {
    const own = new Set<string>();
    for (const r of run) {
      const k = key(r);
      if (earlier.has(k)) { duplicates++; continue; }
      own.add(k);
      records.push(r);
    }
    for (const k of own) earlier.add(k);
  }
  return { records, duplicates };
}

export async function buildData(ctx: StudyContext, synth: Record<string, SynthRunResult>, heldout: Heldout): Promise<DataSummary> {
  const dir = join(ctx.out, 'data');
  const done = join(dir, 'summary.json');
  if (existsSync(done)) return readJson(done);
  mkdirSync(dir, { recursive: true });
  const baseSigs = new Map(getDomain('mock').loadTasks({ split: 'base' }).filter((t) => heldout.base.taskIds.includes(t.id)).map((t) => [signature(t), t.id]));
  // Held-out means disjoint: a training task with the gold write signature of a held-out task (either
  // set) is dropped. (The tiny scale keeps them: a random model cannot be relied on for distinct tasks.)
  const held = new Set(ctx.scale.keepHeldoutSignatures ? [] : [...heldout.synth.signatures, ...baseSigs.keys()]);
  // The training runs' verified dialogues; across runs, a gold write signature already kept is dropped.
  const trainRuns = [synth.train, ...(ctx.scale.synth.more ?? []).map((m) => synth[m.name])];
  const { records: all, duplicates: duplicateAcrossRuns } = mergeRuns(trainRuns.map((t) => t.records), (r) => signature(r.task));
  const train = all.filter((r) => !held.has(signature(r.task)));
  if (!train.length) throw new Error('no verified training dialogues (synthesis passed none outside the held-out signatures)');
  const sys = { prompt: train[0].agentSystemPrompt, tools: train[0].agentTools };
  const closing = ctx.scale.sftClosing;
  const verifiedLines = train.map((r) => sftLine(r, sys, { recordId: r.recordId, taskId: r.task.id, verified: true }, closing));
  writeFileSync(join(dir, 'train_sft.jsonl'), verifiedLines.join('\n') + '\n');
  await exportRecords(train, 'rl', dir, getDomain);

  // The unverified pool: every played dialogue of the training runs, passed or failed, no checker.
  const failed = [...trainRuns.flatMap((t) => t.failures), ...(synth.unverified?.failures ?? [])].filter((f) => !held.has(signature(f.task)));
  const pool = [
    ...verifiedLines,
    ...(synth.unverified?.records ?? []).filter((r) => !held.has(signature(r.task))).map((r) => sftLine(r, sys, { recordId: r.recordId, taskId: r.task.id, verified: true }, closing)),
    ...failed.map((f) => sftLine(f, sys, { recordId: `${f.runId}/${f.itemId}`, taskId: f.task.id, verified: false }, closing)),
  ];
  const tok = await loadChatTokenizer(await baseModel(ctx));
  const tokensOf = (line: string) => toExamples(parseSftJsonl(line), tok, 'sft', ctx.scale.sft.maxSeqLen).examples.reduce((s, e) => s + e.mask.reduce((a, b) => a + b, 0), 0);
  const verifiedTokens = verifiedLines.reduce((s, l) => s + tokensOf(l), 0);
  // Seeded shuffle, then draw (with repeats once the pool is spent) until the same trained-token count.
  const r = rng(4242);
  const order = pool.map((l, i) => ({ l, k: r(), i })).sort((a, b) => a.k - b.k).map((x) => x.l);
  const chosen: string[] = [];
  let tokens = 0;
  for (let i = 0; tokens < verifiedTokens && order.length; i++) {
    const l = order[i % order.length];
    chosen.push(l);
    tokens += tokensOf(l);
    if (i > 10 * order.length) break;
  }
  await tok.dispose();
  writeFileSync(join(dir, 'train_unverified.jsonl'), chosen.join('\n') + '\n');
  const s: DataSummary = {
    verified: train.length,
    verifiedTokens,
    droppedHeldoutSignature: all.length - train.length,
    droppedDuplicateAcrossRuns: duplicateAcrossRuns,
    sameSignatureAsBaseTask: all.filter((r) => baseSigs.has(signature(r.task))).map((r) => `${r.task.id} = ${baseSigs.get(signature(r.task))}`),
    sameSignatureAsSynthHeldout: all.filter((r) => heldout.synth.signatures.includes(signature(r.task))).length,
    unverifiedPool: pool.length,
    unverifiedPoolFailed: failed.length,
    unverified: chosen.length,
    unverifiedFailed: chosen.filter((l) => JSON.parse(l).metadata.verified === false).length,
    unverifiedTokens: tokens,
    rlTasks: train.length,
  };
  writeJson(done, s);
  ctx.log(`[study] data: ${s.verified} verified (${s.verifiedTokens} trained tokens); unverified ${s.unverified} (${s.unverifiedFailed} failed their checker, ${s.unverifiedTokens} tokens)`);
  return s;
}

// ---------------------------------------------------------------- 4. training

export interface TrainedArm {
  arm: string;
  seed: number;
  gguf: string;
  seconds: number;
  summary: Record<string, unknown>;
}

const armDir = (ctx: StudyContext, arm: string, seed: number) => join(ctx.out, 'arms', arm, `seed${seed}`);

export async function trainArm(ctx: StudyContext, arm: string, seed: number): Promise<TrainedArm | undefined> {
  if (UNTRAINED.has(arm)) return undefined;
  const dir = armDir(ctx, arm, seed);
  const done = join(dir, 'trained.json');
  if (existsSync(done)) return readJson(done);
  const base = await baseModel(ctx);
  const data = join(ctx.out, 'data');
  const sc = ctx.scale;
  let mode: 'sft' | 'user-sft' | 'grpo';
  let raw: Record<string, unknown>;
  const lora = (r: number) => ({ rank: r, alpha: 2 * r });
  const output = { dir: join(dir, 'train'), export: ['gguf-f16'], checkpointEvery: 0 };
  if (arm === 'sft-verified' || arm === 'sft-unverified' || arm === 'user-sft') {
    mode = arm === 'user-sft' ? 'user-sft' : 'sft';
    const t = arm === 'user-sft' ? sc.userSft : sc.sft;
    raw = {
      model: { gguf: base, lora: lora(t.loraRank) },
      data: { path: join(data, arm === 'sft-unverified' ? 'train_unverified.jsonl' : 'train_sft.jsonl') },
      train: { steps: t.steps, batchSize: t.batchSize, microBatch: 1, maxSeqLen: t.maxSeqLen, lr: t.lr, seed },
      output,
    };
  } else if (arm === 'grpo-filter' || arm === 'grpo-nofilter') {
    mode = 'grpo';
    const from = await trainArm(ctx, 'sft-verified', seed);
    const g = sc.grpo;
    const filter = arm === 'grpo-filter';
    raw = {
      model: { gguf: from!.gguf, lora: lora(sc.sft.loraRank) },
      train: { steps: g.steps, microBatch: 1, maxSeqLen: g.maxSeqLen, lr: g.lr, seed },
      // Equal rollout budgets: both arms draw exactly groupsPerStep groups per step (maxAttempts =
      // groupsPerStep); with filtering, uninformative groups are dropped rather than replaced.
      grpo: { groupSize: g.groupSize, groupsPerStep: g.groupsPerStep, maxAttempts: g.groupsPerStep, dropAllSuccess: filter, dropAllFailure: filter },
      rollouts: {
        source: 'society', nats: 'embedded', tasks: join(data, 'rl_tasks.jsonl'), groupSize: g.groupSize, concurrency: g.concurrency, maxSteps: g.maxSteps,
        temperature: 1, agentMaxTokens: g.agentMaxTokens, user: 'llm', userModel: { model: 'local', temperature: 0, maxTokens: sc.eval.userMaxTokens }, userOpening: STUDY_USER_OPENING,
        agentMayStop: sc.agentMayStop ?? false,
        ...(g.reward ? { reward: g.reward } : {}),
      },
      output,
    };
  } else throw new Error(`unknown arm ${arm}`);
  const cfg = TrainConfig.parse(raw);
  process.env.TROUPE_LOCAL_MODEL = base; // the user simulator of GRPO rollouts is the base model
  ctx.log(`[study] train ${arm} seed ${seed} (${mode})`);
  const t0 = performance.now();
  const r = await runTraining(mode, cfg, { quiet: true });
  await stopLocalModelServer().catch(() => {});
  const gguf = r.exports.find((p) => p.endsWith('.gguf'));
  if (!gguf) throw new Error(`${arm} seed ${seed}: training exported no GGUF`);
  const res: TrainedArm = { arm, seed, gguf: resolve(gguf), seconds: (performance.now() - t0) / 1000, summary: r.summary };
  writeJson(done, res);
  ctx.log(`[study] trained ${arm} seed ${seed} in ${res.seconds.toFixed(0)} s`);
  return res;
}

// ---------------------------------------------------------------- 5. evaluation

export interface SimOutcome {
  taskId: string;
  reward: number;
  termination: string;
  agentToolCalls: number;
  steps: number;
}

export interface NextCallOutcome {
  id: string;
  hit: number;
  /** hit | no-call | wrong-tool | wrong-args | error */
  kind: string;
  got?: { name: string; arguments: unknown } | null;
  /** The reply's text when it made no call (what the model said instead). */
  text?: string;
}

export interface ArmEval {
  arm: string;
  seed: number;
  model: string;
  sets: Record<string, SimOutcome[]>;
  nextcall?: NextCallOutcome[];
  seconds: number;
  /** Read from an evaluation that did not finish: the dialogues graded so far (and next-call, if done). */
  partial?: boolean;
}

/** What an unfinished evaluation left: next-call outcomes and the τ² results graded so far. */
export function partialEval(ctx: StudyContext, arm: string, key: number, heldout: Heldout): ArmEval | undefined {
  const dir = join(ctx.out, 'eval', arm, `seed${key}`);
  const nc = join(dir, 'nextcall.json'), rs = join(dir, 'results.json');
  if (!existsSync(nc) && !existsSync(rs)) return undefined;
  const sets: Record<string, SimOutcome[]> = {};
  if (existsSync(rs)) {
    const r = readJson<{ simulations: unknown[] }>(rs);
    sets['tau2-base'] = outcomes(r, heldout.base.taskIds);
    if (heldout.synth.taskIds.length) sets['synth-heldout'] = outcomes(r, heldout.synth.taskIds);
  }
  return { arm, seed: key, model: '', sets, nextcall: existsSync(nc) ? readJson(nc) : undefined, seconds: NaN, partial: true };
}

function outcomes(results: { simulations: unknown[] }, ids: readonly string[]): SimOutcome[] {
  const sims = results.simulations as { task_id: string; reward_info?: { reward?: number } | null; termination_reason: string; messages?: { role: string; tool_calls?: unknown[] | null }[] }[];
  const by = new Map(sims.map((s) => [s.task_id, s]));
  return ids.filter((id) => by.has(id)).map((id) => {
    const s = by.get(id)!;
    return {
      taskId: id,
      reward: (s.reward_info?.reward ?? 0) >= 1 - 1e-6 ? 1 : 0,
      termination: s.termination_reason,
      agentToolCalls: (s.messages ?? []).filter((m) => m.role === 'assistant').reduce((n, m) => n + (m.tool_calls?.length ?? 0), 0),
      steps: (s.messages ?? []).length,
    };
  });
}

export async function nextCalls(baseURL: string, model: string, prefixes: readonly Prefix[], records: readonly DatasetRecord[], maxTokens: number): Promise<NextCallOutcome[]> {
  const byTask = new Map(records.map((r) => [r.task.id, r]));
  const out: NextCallOutcome[] = [];
  for (const p of prefixes) {
    const rec = byTask.get(p.taskId)!;
    const ex = sftExample(rec, getDomain(rec.domain)) as { messages: unknown[]; tools: unknown[] };
    try {
      const res = await fetch(`${baseURL}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model, messages: ex.messages.slice(0, p.at), tools: ex.tools, temperature: 0, max_tokens: maxTokens, seed: 0 }),
      });
      if (!res.ok) throw new Error(`HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`);
      const j = (await res.json()) as { choices: { message: { content?: string | null; tool_calls?: { function: { name: string; arguments: string } }[] } }[] };
      const c = j.choices[0]?.message?.tool_calls?.[0];
      if (!c) { out.push({ id: p.id, hit: 0, kind: 'no-call', got: null, text: (j.choices[0]?.message?.content ?? '').slice(0, 160) }); continue; }
      const got = { name: c.function.name, arguments: parseArgs(c.function.arguments) };
      const kind = got.name !== p.target.name ? 'wrong-tool' : canon(got.arguments) !== canon(p.target.arguments) ? 'wrong-args' : 'hit';
      out.push({ id: p.id, hit: kind === 'hit' ? 1 : 0, kind, got });
    } catch (e) {
      out.push({ id: p.id, hit: 0, kind: 'error', got: null });
      console.error(`[study] next-call ${p.id}: ${(e as Error).message}`);
    }
  }
  return out;
}

/** Both held-out sets in one τ² task file (under the output folder: τ² content is never committed). */
export function evalTasksFile(ctx: StudyContext, heldout: Heldout): string {
  const p = join(ctx.out, 'data', 'eval_tasks.json');
  if (!existsSync(p)) {
    const domain = getDomain('mock');
    const base = domain.loadTasks({ split: 'base' }).filter((t) => heldout.base.taskIds.includes(t.id));
    const synth = heldout.synth.taskIds.length ? domain.loadTasks({ path: join(ctx.out, 'data', 'heldout', 'tasks.json') }).filter((t) => heldout.synth.taskIds.includes(t.id)) : [];
    writeFileSync(p, toPythonJson([...base, ...synth], 4) + '\n');
  }
  return p;
}

export async function evalArm(ctx: StudyContext, arm: string, seed: number, heldout: Heldout, synth: Record<string, SynthRunResult>): Promise<ArmEval> {
  const key = UNTRAINED.has(arm) ? 0 : seed;
  const dir = join(ctx.out, 'eval', arm, `seed${key}`);
  const done = join(dir, 'eval.json');
  if (existsSync(done)) return readJson(done);
  const base = await baseModel(ctx);
  const trained = await trainArm(ctx, arm, seed);
  const gguf = trained?.gguf ?? base;
  const e = ctx.scale.eval;
  process.env.TROUPE_LOCAL_MODEL = base;
  const t0 = performance.now();
  ctx.log(`[study] eval ${arm} seed ${key}`);
  const server = await startModelServer({ model: gguf, port: 0, host: '127.0.0.1', unref: true, parallel: e.concurrency, contextSize: 4096, modelId: `${arm}-s${key}` });
  const session = await openNatsSession(undefined, { runDir: join(dir, 'bus'), name: 'troupe-study-eval' });
  try {
    const served = { model: server.modelId, baseURL: server.baseURL, temperature: 0 };
    const isUser = (USER_ARMS as readonly string[]).includes(arm);
    const agent: AgentChoice = isUser ? { kind: 'oracle' } : { kind: 'llm', model: { ...served, maxTokens: e.agentMaxTokens }, mayStop: ctx.scale.agentMayStop };
    const user: UserChoice = isUser ? { kind: 'llm', model: { ...served, maxTokens: e.userMaxTokens }, opening: STUDY_USER_OPENING } : { kind: 'llm', model: { model: 'local', temperature: 0, maxTokens: e.userMaxTokens }, opening: STUDY_USER_OPENING };
    const common = {
      domain: 'mock', agent, user, agentLabel: isUser ? 'oracle-test-harness' : server.modelId, userLabel: isUser ? server.modelId : 'local',
      trials: 1, concurrency: e.concurrency, seed: 300, maxSteps: e.maxSteps, maxErrors: 10, nats: session.settings, log: () => {},
    };
    const isAgent = !(USER_ARMS as readonly string[]).includes(arm);
    // Next-call match first (cheap; cached on its own, so a study stopped mid-evaluation still has it).
    const ncFile = join(dir, 'nextcall.json');
    let nextcall: NextCallOutcome[] | undefined = existsSync(ncFile) ? readJson(ncFile) : undefined;
    if (isAgent && !nextcall) {
      const prefixes = prefixesOf(synth.heldout.records, e.maxPrefixes).filter((p) => heldout.prefixes.some((h) => h.id === p.id));
      nextcall = await nextCalls(server.baseURL, server.modelId, prefixes, synth.heldout.records, e.nextcallMaxTokens);
      writeJson(ncFile, nextcall);
      ctx.log(`[study] next-call ${arm} seed ${key}: ${nextcall.filter((x) => x.hit).length}/${nextcall.length}`);
    }
    if (ctx.nextcallOnly) return { arm, seed: key, model: gguf, sets: {}, nextcall, seconds: (performance.now() - t0) / 1000, partial: true };
    // One evaluation over both held-out sets (one task file: the τ² base tasks and the synthesized ones).
    const ids = [...heldout.base.taskIds, ...heldout.synth.taskIds];
    const ev = await runEval({ ...common, tasksFile: evalTasksFile(ctx, heldout), taskIds: ids, out: join(dir, 'results.json') });
    const sets: Record<string, SimOutcome[]> = { 'tau2-base': outcomes(ev.results, heldout.base.taskIds) };
    if (heldout.synth.taskIds.length) sets['synth-heldout'] = outcomes(ev.results, heldout.synth.taskIds);
    const res: ArmEval = { arm, seed: key, model: gguf, sets, nextcall, seconds: (performance.now() - t0) / 1000 };
    writeJson(done, res);
    ctx.log(`[study] evaluated ${arm} seed ${key} in ${res.seconds.toFixed(0)} s: ${Object.entries(sets).map(([k, v]) => `${k} ${v.filter((x) => x.reward).length}/${v.length}`).join(', ')}${nextcall ? `, next-call ${nextcall.filter((x) => x.hit).length}/${nextcall.length}` : ''}`);
    return res;
  } finally {
    await session.close().catch(() => {});
    await server.close().catch(() => {});
    await stopLocalModelServer().catch(() => {});
  }
}

export function armsOf(ctx: StudyContext): string[] {
  return ctx.scale.arms ?? ALL_ARMS;
}
