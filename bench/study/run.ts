// `npx tsx bench/study/run.ts --scale tiny|small|medium|medium-v2|medium-v3|large|full [--out DIR] [--heldout FILE] [--arms a,b] [--seeds 1,2,3] [--docs DIR]`
//
// The study of issue 17: synthesize with the society, fix the held-out sets, train every arm with
// every seed, evaluate, and write results.json + report.md + SVGs (docs/study.md describes it).
// Resumable: each stage's result is cached under --out; rerun the same command to continue, or
// `--arms ARM` to (re)run one arm (delete out/arms/ARM or out/eval/ARM to redo it).
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { SCALES, UNTRAINED, ALL_ARMS } from './scales.ts';
import { armsOf, buildData, evalArm, evalTasksFile, partialEval, prefixesOf, type Heldout, fixHeldout, synthesize, trainArm, type ArmEval, type StudyContext, type TrainedArm } from './pipeline.ts';
import { aggregate, f3, metricSvgs, reportMarkdown } from './report.ts';
import { getDomain } from '../../domains/registry.ts';

const here = new URL('.', import.meta.url).pathname;

export interface StudyResult {
  out: string;
  results: Record<string, unknown>;
  reportPath: string;
}

/** Copy a file another scale wrote, unless this scale already has its own (or there is none). */
function copyIfMissing(src: string, dst: string): void {
  if (existsSync(dst) || !existsSync(src)) return;
  mkdirSync(join(dst, '..'), { recursive: true });
  copyFileSync(src, dst);
}

/** Copy another run's synthesis results and held-out task file (kept if already there). */
function reuseSynthesis(from: string, out: string): void {
  for (const rel of ['synth/heldout.json', 'synth/train.json', 'synth/unverified.json', 'data/heldout/tasks.json']) copyIfMissing(join(from, rel), join(out, rel));
  if (!existsSync(join(out, 'synth', 'train.json'))) throw new Error(`scale reuses ${from}, which has no synthesis results (synth/train.json)`);
}

/**
 * Copy arms trained and evaluated by another scale (arms/<arm> and eval/<arm>, kept if already
 * there). A copied trained.json points at the copied GGUF, so the GRPO arms start from it.
 */
export function reuseArms(from: string, out: string, arms: string[]): void {
  for (const arm of arms) {
    for (const room of ['arms', 'eval']) {
      const src = join(from, room, arm), dst = join(out, room, arm);
      if (existsSync(dst) || !existsSync(src)) continue;
      cpSync(src, dst, { recursive: true });
    }
    const dir = join(out, 'arms', arm);
    for (const s of existsSync(dir) ? readdirSync(dir) : []) {
      const f = join(dir, s, 'trained.json');
      if (!existsSync(f)) continue;
      const t = JSON.parse(readFileSync(f, 'utf8')) as { gguf: string };
      const srcArm = resolve(from, 'arms', arm);
      if (t.gguf.startsWith(srcArm + '/')) writeFileSync(f, JSON.stringify({ ...t, gguf: join(dir, t.gguf.slice(srcArm.length + 1)) }, null, 2) + '\n');
    }
    if (!UNTRAINED.has(arm) && !existsSync(dir)) throw new Error(`scale reuses arm ${arm} from ${from}, which has not trained it`);
  }
}

export async function runStudy(o: { scale: string; out?: string; heldout?: string; arms?: string[]; seeds?: number[]; docs?: string; order?: string; reportOnly?: boolean; synthOnly?: string; trainOnly?: boolean; nextcallOnly?: boolean; argv?: string[]; log?: (l: string) => void }): Promise<StudyResult> {
  const base = SCALES[o.scale];
  if (!base) throw new Error(`unknown scale ${o.scale} (${Object.keys(SCALES).join(', ')})`);
  const scale = { ...base, seeds: o.seeds ?? base.seeds, arms: o.arms ?? base.arms };
  for (const a of scale.arms ?? []) if (!ALL_ARMS.includes(a)) throw new Error(`unknown arm ${a} (${ALL_ARMS.join(', ')})`);
  const out = resolve(o.out ?? join(here, '..', 'results', 'study', scale.name));
  const ctx: StudyContext = {
    out,
    scale,
    heldoutPath: resolve(o.heldout ?? (scale.name === 'tiny' ? join(out, 'heldout.json') : join(here, `heldout.${scale.reuse ?? scale.name}.json`))),
    log: o.log ?? ((l) => console.error(l)),
  };
  mkdirSync(out, { recursive: true });
  if (scale.reuse) reuseSynthesis(resolve(out, '..', scale.reuse), out);
  for (const { from, runs } of scale.reuseRuns ?? []) for (const run of runs) copyIfMissing(resolve(out, '..', from, 'synth', `${run}.json`), join(out, 'synth', `${run}.json`));
  if (scale.reuseArms) reuseArms(resolve(out, '..', scale.reuseArms.from), out, scale.reuseArms.arms);
  const t0 = Date.now();
  ctx.nextcallOnly = o.nextcallOnly;
  if (o.synthOnly) {
    ctx.synthOnly = o.synthOnly;
    const done = await synthesize(ctx);
    // The held-out sets are fixed as soon as their synthesis exists, before any training run.
    if (done.heldout) await fixHeldout(ctx, done);
    return { out, results: {}, reportPath: '' };
  }
  const synth = await synthesize(ctx);
  const heldout = await fixHeldout(ctx, synth);
  const data = await buildData(ctx, synth, heldout);
  evalTasksFile(ctx, heldout);

  const evals: ArmEval[] = [];
  const trained: TrainedArm[] = [];
  const errors: string[] = [];
  // Arm-major (every seed of an arm, then the next arm), or seed-major with --order seed.
  const jobs: [string, number][] = [];
  if (o.order === 'seed') { for (const seed of scale.seeds) for (const arm of armsOf(ctx)) if (!UNTRAINED.has(arm) || seed === scale.seeds[0]) jobs.push([arm, seed]); }
  else for (const arm of armsOf(ctx)) for (const seed of UNTRAINED.has(arm) ? [scale.seeds[0]] : scale.seeds) jobs.push([arm, seed]);
  for (const [arm, seed] of o.reportOnly ? [] : jobs) {
    {
      const failedFile = join(ctx.out, 'arms', arm, `seed${UNTRAINED.has(arm) ? 0 : seed}`, 'failed.json');
      try {
        const t = await trainArm(ctx, arm, seed);
        if (t) trained.push(t);
        if (o.nextcallOnly && !UNTRAINED.has(arm) && !existsSync(join(ctx.out, 'arms', arm, `seed${seed}`, 'trained.json'))) continue; // only arms already trained
        if (!o.trainOnly) evals.push(await evalArm(ctx, arm, seed, heldout, synth));
        rmSync(failedFile, { force: true });
        writeStudy(ctx, o, synth, heldout, data, trained, evals, errors, t0); // partial results as arms finish
      } catch (e) {
        const msg = `${arm} seed ${seed}: ${(e as Error).stack ?? e}`;
        errors.push(msg.split('\n').slice(0, 3).join(' | '));
        // Kept beside the arm, so a report written by any later process still lists the failure.
        mkdirSync(join(failedFile, '..'), { recursive: true });
        writeFileSync(failedFile, JSON.stringify({ arm, seed, at: new Date().toISOString(), error: errors.at(-1) }, null, 2) + '\n');
        ctx.log(`[study] FAILED ${msg}`);
      }
    }
  }
  return writeStudy(ctx, o, synth, heldout, data, trained, evals, errors, t0);
}

/** Everything cached under the output folder (all arms, whichever process ran them), in arm order. */
function cached(ctx: StudyContext, heldout: Heldout): { evals: ArmEval[]; trained: TrainedArm[] } {
  const evals: ArmEval[] = [], trained: TrainedArm[] = [];
  const seedsIn = (d: string) => (existsSync(d) ? readdirSync(d).filter((x) => /^seed\d+$/.test(x)).sort((a, b) => Number(a.slice(4)) - Number(b.slice(4))) : []);
  for (const arm of ALL_ARMS) {
    for (const s of seedsIn(join(ctx.out, 'eval', arm))) {
      const f = join(ctx.out, 'eval', arm, s, 'eval.json');
      const e = existsSync(f) ? JSON.parse(readFileSync(f, 'utf8')) as ArmEval : partialEval(ctx, arm, Number(s.slice(4)), heldout);
      if (e) evals.push(e);
    }
    for (const s of seedsIn(join(ctx.out, 'arms', arm))) { const f = join(ctx.out, 'arms', arm, s, 'trained.json'); if (existsSync(f)) trained.push(JSON.parse(readFileSync(f, 'utf8'))); }
  }
  return { evals, trained };
}

/** Failures recorded beside their arms by any process (arms/<arm>/seed<n>/failed.json). */
function recordedFailures(ctx: StudyContext): string[] {
  const out: string[] = [];
  for (const arm of ALL_ARMS) {
    const dir = join(ctx.out, 'arms', arm);
    if (!existsSync(dir)) continue;
    for (const s of readdirSync(dir).sort()) {
      const f = join(dir, s, 'failed.json');
      if (existsSync(f)) out.push((JSON.parse(readFileSync(f, 'utf8')) as { error: string }).error);
    }
  }
  return out;
}

/** A call's arguments as an object, or undefined when the model wrote something that is not one (a
 *  truncated JSON string is kept raw by the parser: its characters are not argument names). */
function argsObject(x: unknown): Record<string, unknown> | undefined {
  return x && typeof x === 'object' && !Array.isArray(x) ? (x as Record<string, unknown>) : undefined;
}

function writeStudy(ctx: StudyContext, o: { argv?: string[]; docs?: string }, synth: Awaited<ReturnType<typeof synthesize>>, heldout: Awaited<ReturnType<typeof fixHeldout>>, data: Awaited<ReturnType<typeof buildData>>, _trained: TrainedArm[], _evals: ArmEval[], ownErrors: string[], t0: number): StudyResult {
  const errors = [...new Set([...ownErrors, ...recordedFailures(ctx)])];
  const { evals, trained } = cached(ctx, heldout);
  // Were the actions the oracle took grounded in what the user said? (a string argument of a gold
  // write that is not an id the agent can read from the database must appear in a user turn).
  const grounding = (recs: typeof synth.train.records) => {
    let args = 0, said = 0, dialogues = 0;
    for (const r of recs) {
      const userText = (r.dialogue.messages as { role: string; content?: string | null }[]).filter((m) => m.role === 'user').map((m) => m.content ?? '').join('\n').toLowerCase();
      let all = true;
      for (const a of (r.criteria.actions ?? []) as { arguments: Record<string, unknown> }[]) for (const [k, v] of Object.entries(a.arguments)) {
        if (typeof v !== 'string' || k.endsWith('_id')) continue;
        args++;
        if (userText.includes(v.toLowerCase())) said++; else all = false;
      }
      if (all) dialogues++;
    }
    return { args, said, dialogues, of: recs.length };
  };
  const gTrain = grounding([synth.train, ...(ctx.scale.synth.more ?? []).map((m) => synth[m.name])].flatMap((r) => r.records)), gHeld = grounding(synth.heldout.records);
  const heldoutTargets = new Map(prefixesOf(synth.heldout.records, ctx.scale.eval.maxPrefixes).map((p) => [p.id, p.target]));
  // The shape of a task: its gold writes in order. An agent trained on one shape and tested on
  // another fails for a reason the pass rate alone does not show.
  const mock = getDomain('mock').createEnvironment();
  const shapeOf = (actions: { name: string }[] | undefined) => (actions ?? []).map((a) => a.name).filter((n) => mock.isMutatingTool(n)).join(' → ') || '(no write)';
  const rlPath = join(ctx.out, 'data', 'rl_tasks.jsonl');
  const trainShapes = new Map<string, number>(), heldShapes = new Map<string, number>();
  if (existsSync(rlPath)) for (const line of readFileSync(rlPath, 'utf8').split('\n').filter(Boolean)) {
    const k = shapeOf((JSON.parse(line) as { evaluation_criteria?: { actions?: { name: string }[] } }).evaluation_criteria?.actions);
    trainShapes.set(k, (trainShapes.get(k) ?? 0) + 1);
  }
  for (const r of synth.heldout.records) { const k = shapeOf(r.criteria.actions as { name: string }[] | undefined); heldShapes.set(k, (heldShapes.get(k) ?? 0) + 1); }
  const shapes = [...new Set([...trainShapes.keys(), ...heldShapes.keys()])].sort((a, b) => (trainShapes.get(b) ?? 0) + (heldShapes.get(b) ?? 0) - (trainShapes.get(a) ?? 0) - (heldShapes.get(a) ?? 0));
  const protocol = JSON.parse(readFileSync(join(here, 'protocol.json'), 'utf8')) as { tests: { comparisons: [string, string][] } };
  const numbers = aggregate(evals, { seeds: ctx.scale.seeds, untrained: UNTRAINED, comparisons: protocol.tests.comparisons });
  const command = `npx tsx bench/study/run.ts ${(o.argv ?? []).join(' ')}`.trim();
  const results = {
    scale: ctx.scale,
    command,
    generatedAt: new Date().toISOString(),
    minutes: (Date.now() - t0) / 60_000,
    heldout,
    synth: Object.fromEntries(Object.entries(synth).map(([k, v]) => [k, { runId: v.runId, spec: v.spec, complete: v.complete, seconds: v.seconds, counts: v.counts, verified: v.records.length, failed: v.failures.length }])),
    data,
    training: trained.map((t) => ({ arm: t.arm, seed: t.seed, seconds: t.seconds, summary: t.summary })),
    evals: evals.map((e) => ({ ...e, model: e.model.split('/').slice(-3).join('/') })),
    errors,
    ...numbers,
  };
  const rdir = join(ctx.out, 'report');
  mkdirSync(rdir, { recursive: true });
  writeFileSync(join(ctx.out, 'results.json'), JSON.stringify(results, null, 2) + '\n');
  const svgs = metricSvgs(numbers);
  for (const [f, s] of Object.entries(svgs)) writeFileSync(join(rdir, f), s);
  const sy = results.synth as Record<string, { spec: { plans: number; tasksPerPlan: number; seed: number; actor: string }; counts: Record<string, unknown>; verified: number; failed: number; seconds: number; complete: boolean }>;
  const sections = [
    '### Synthesis (the society on the embedded model)', '',
    `The agent that plays synthesis dialogues is ${Object.values(sy).map((s) => s.spec.actor).includes('oracle') ? '**the gold-action teacher (oracle agent), not a model**, for the held-out and training runs' : 'the model'}; the unverified run (if any) is played by the base model as agent. Every other role (meta-planner, scriptwriter, verifier's checker spec, user simulator) is the embedded model; the critic runs its deterministic checks only (\`criticReview: off\`: the 135M model's review rejects nearly everything, bench/README.md "synth").`, '',
    '| run | plans × tasks | seed | agent | items passed (verified) | failed their checker | minutes | complete |', '|---|---|---:|---|---:|---:|---:|---|',
    ...Object.entries(sy).map(([k, s]) => `| ${k} | ${s.spec.plans} × ${s.spec.tasksPerPlan} | ${s.spec.seed} | ${s.spec.actor} | ${s.verified} | ${s.failed} | ${(s.seconds / 60).toFixed(1)} | ${s.complete} |`), '',
    '### Training data', '',
    `Verified dialogues: ${data.verified} (${data.verifiedTokens} trained tokens), after dropping ${data.droppedHeldoutSignature} whose gold write signature equals a held-out task's${ctx.scale.keepHeldoutSignatures ? ' (filter OFF at this scale)' : ''}${data.droppedDuplicateAcrossRuns ? ` and ${data.droppedDuplicateAcrossRuns} whose signature an earlier training run already had` : ''}. Before that filter, ${data.sameSignatureAsSynthHeldout} verified training task(s) had a held-out synthesized task's signature, and these had a τ² base task's (a coincidence — synthesis never reads tasks.json — but the mock database has one user and one task, so the space of distinct tasks is small): ${data.sameSignatureAsBaseTask.length ? data.sameSignatureAsBaseTask.join('; ') : 'none'}.`,
    `Unverified pool: ${data.unverifiedPool} dialogues (${data.unverifiedPoolFailed} failed their checker); the unverified arm trains on ${data.unverified} drawn from it (${data.unverifiedFailed} failed ones; ${data.unverifiedTokens} trained tokens vs ${data.verifiedTokens}).`, '',
    '**Why synthesis dialogues failed** (first reason of each failed dialogue, by kind):', '',
    '| run | ungrounded (verifier) | not graded (max_steps, errors) | checker | other |', '|---|---:|---:|---:|---:|',
    ...Object.entries(synth).map(([k, v]) => {
      const kinds = { ungrounded: 0, graded: 0, checker: 0, other: 0 };
      for (const f of v.failures) {
        const rs = f.checkerRun.reasons;
        if (rs.some((r) => r.startsWith('ungrounded:'))) kinds.ungrounded++;
        else if (rs.some((r) => r.startsWith('dialogue ended with'))) kinds.graded++;
        else if (rs.length) kinds.checker++;
        else kinds.other++;
      }
      return `| ${k} | ${kinds.ungrounded} | ${kinds.graded} | ${kinds.checker} | ${kinds.other} |`;
    }), '',
    `Grounding: of the ${gTrain.args} non-id string arguments of the gold writes in the verified training dialogues, ${gTrain.said} appear in a user turn (${gTrain.dialogues} of ${gTrain.of} dialogues fully grounded); held-out dialogues: ${gHeld.said} of ${gHeld.args} (${gHeld.dialogues} of ${gHeld.of}). The oracle agent writes the gold arguments whether or not the user said them and a checker only looks at the final state; since the medium run the verifier also requires every written literal to have been said or returned by a tool before (dialogue grounding), and the user opens with its scenario (bench/study/protocol.json).`, '',
    '### Task shapes (gold writes in order): training set vs held-out synthesized set', '',
    '| shape | training tasks | held-out synthesized tasks |', '|---|---:|---:|',
    ...shapes.map((k) => `| ${k} | ${trainShapes.get(k) ?? 0} | ${heldShapes.get(k) ?? 0} |`), '',
    '### Training runs', '', '| arm | seed | seconds | steps | first loss | final loss | rollouts | reward first → last |', '|---|---:|---:|---:|---:|---:|---:|---|',
    ...trained.map((t) => { const s = t.summary as Record<string, number | string | undefined>; return `| ${t.arm} | ${t.seed} | ${t.seconds.toFixed(0)} | ${s.steps ?? ''} | ${s.firstLoss !== undefined ? f3(Number(s.firstLoss)) : ''} | ${s.finalLoss !== undefined ? f3(Number(s.finalLoss)) : ''} | ${s.rollouts ?? ''} | ${s.rewardFirst !== undefined ? `${f3(Number(s.rewardFirst))} → ${f3(Number(s.rewardLast))}` : ''} |`; }), '',
    '### Next-call by what the prefix asks for (decided after seeing the first results: a diagnostic, not a pre-registered metric)', '',
    'A read target is the call that looks the data up (in mock: `get_users` with no argument, the same every time); a write target changes the state and carries the task\'s values. Per write argument: how often the model\'s value equals the gold one.', '',
    '| arm | seed | read targets hit | write targets hit | write targets hit, by tool | write tool right | write arguments right (by name) | right-tool writes with an argument the gold call lacks, or arguments that are not an object |', '|---|---:|---:|---:|---|---:|---|---|',
    ...evals.filter((e) => e.nextcall?.length).map((e) => {
      let rh = 0, rn = 0, wh = 0, wn = 0, wt = 0, extra = 0;
      const extraNames = new Set<string>();
      const args = new Map<string, [number, number]>();
      const byTool = new Map<string, [number, number]>();
      for (const n of e.nextcall!) {
        const t = heldoutTargets.get(n.id);
        if (!t) continue;
        if (!mock.isMutatingTool(t.name)) { rn++; rh += n.hit; continue; }
        wn++; wh += n.hit;
        const bt = byTool.get(t.name) ?? [0, 0];
        bt[0] += n.hit; bt[1]++;
        byTool.set(t.name, bt);
        if (n.got?.name === t.name) {
          wt++;
          const got = argsObject(n.got.arguments);
          if (!got) { extra++; extraNames.add('unparsable arguments'); }
          const more = Object.keys(got ?? {}).filter((k) => !(k in (t.arguments as Record<string, unknown>)));
          if (more.length) { extra++; more.forEach((k) => extraNames.add(k)); }
        }
        for (const [k, v] of Object.entries(t.arguments as Record<string, unknown>)) {
          const c = args.get(k) ?? [0, 0];
          c[1]++;
          if (n.got?.name === t.name && JSON.stringify(argsObject(n.got.arguments)?.[k]) === JSON.stringify(v)) c[0]++;
          args.set(k, c);
        }
      }
      return `| ${e.arm} | ${e.seed} | ${rh}/${rn} | ${wh}/${wn} | ${[...byTool].map(([k, [a, b]]) => `${k} ${a}/${b}`).join(', ')} | ${wt}/${wn} | ${[...args].map(([k, [a, b]]) => `${k} ${a}/${b}`).join(', ')} | ${extra}/${wn}${extraNames.size ? ` (${[...extraNames].join(', ')})` : ''} |`;
    }), '',
    '### Next-call misses (first two per arm and seed: what the model called instead)', '',
    '| arm | seed | prefix | target | got |', '|---|---:|---|---|---|',
    ...evals.flatMap((e) => (e.nextcall ?? []).filter((n) => !n.hit).slice(0, 2).map((n) => {
      const t = heldoutTargets.get(n.id);
      const cut = (x: unknown) => JSON.stringify(x ?? null).slice(0, 90).replace(/\|/g, '\\|');
      return `| ${e.arm} | ${e.seed} | ${n.id} | ${t ? `${t.name} ${cut(t.arguments)}` : ''} | ${n.kind}${n.got ? `: ${n.got.name} ${cut(n.got.arguments)}` : ''}${n.text ? `: “${n.text.slice(0, 90).replace(/[|\n]/g, ' ')}”` : ''} |`;
    })), '',
    ...(errors.length ? ['### Arms that failed to run', '', ...errors.map((e) => `- ${e}`), ''] : []),
  ];
  const header = [
    `## Study results — scale \`${ctx.scale.name}\` (${ctx.scale.model === 'tiny' ? 'tiny random model: plumbing only, numbers mean nothing' : 'SmolLM2-135M-Instruct Q4_1'})`, '',
    `Command: \`${command}\` · seeds ${ctx.scale.seeds.join(', ')} · generated ${results.generatedAt} · ${results.minutes.toFixed(1)} min · held-out file \`${ctx.heldoutPath.replace(resolve(here, '..', '..') + '/', '')}\` (${heldout.base.taskIds.length} base tasks, ${heldout.synth.taskIds.length} synthesized tasks, ${heldout.prefixes.length} prefixes).`,
  ];
  const md = reportMarkdown({ numbers, header, sections, svgs: Object.keys(svgs) });
  const reportPath = join(rdir, 'report.md');
  writeFileSync(reportPath, md);
  if (o.docs) {
    mkdirSync(o.docs, { recursive: true });
    copyFileSync(reportPath, join(o.docs, 'report.md'));
    for (const f of Object.keys(svgs)) copyFileSync(join(rdir, f), join(o.docs, f));
    writeFileSync(join(o.docs, 'results.json'), JSON.stringify(results, null, 2) + '\n');
  }
  return { out: ctx.out, results, reportPath };
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { scale: { type: 'string', default: 'small' }, out: { type: 'string' }, heldout: { type: 'string' }, arms: { type: 'string' }, seeds: { type: 'string' }, docs: { type: 'string' }, order: { type: 'string' }, report: { type: 'boolean' }, 'synth-only': { type: 'string' }, 'train-only': { type: 'boolean' }, 'nextcall-only': { type: 'boolean' } } });
  if (!process.env.TAU2_DATA_DIR) throw new Error('TAU2_DATA_DIR is not set');
  const r = await runStudy({
    scale: values.scale!, out: values.out, heldout: values.heldout, docs: values.docs, order: values.order, reportOnly: values.report, synthOnly: values['synth-only'], trainOnly: values['train-only'], nextcallOnly: values['nextcall-only'], argv,
    arms: values.arms?.split(',').map((s) => s.trim()).filter(Boolean),
    seeds: values.seeds?.split(',').map(Number),
  });
  if (values['synth-only']) return 0;
  console.log(`report: ${r.reportPath}`);
  return (r.results.errors as string[]).length ? 1 : 0;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  main(process.argv.slice(2)).then((c) => { process.exitCode = c; setTimeout(() => process.exit(c), 3000).unref(); }, (e) => { console.error(e); process.exit(1); });
}

