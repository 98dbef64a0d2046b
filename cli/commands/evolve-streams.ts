// `troupe evolve --streams --domain D [--rounds K] …`: the plan-stream level of evolution
// (actors/evolver/stream-machine.ts) against the live synthesis society: S streams (one plan pair
// each, from --plans-file or the plan library plan.<domain>) run K rounds; after each round every
// stream's pair is rewritten from its own failures and kept only if the stream's next validation
// batch is not worse by McNemar's exact test. Writes report.md, streams.json and yield.svg.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { EvaluationPlanSchema, SynthesisPlanSchema } from '../../protocols/synthesis.ts';
import { natsCliOptions, natsSettingsFromFlags } from '../../runtime/nats/connect.ts';
import { newRunId, openNatsSession, runDir as makeRunDir } from '../../runtime/nats/session.ts';
import { initTracing } from '../../runtime/tracing/index.ts';
import { stopLocalModelServer } from '../../llm/server/embedded.ts';

const HELP = `usage: troupe evolve --streams --domain D [--rounds K] [--tasks-per-plan T] [--validation-size V]
                     [--plans-file F] [--alpha A] [--seed S] [--no-evolve] [--roles-config FILE]
                     [--max-revisions R] [--timeout-min T] [--run-id ID] [--out DIR] [--nats URL ...]

Plan streams: one stream per plan pair (--plans-file F, JSON [{"synthesis", "evaluation"}], written
to plan.<domain> as a new revision; else plan.<domain>'s current pairs). Each of K rounds (default 2):
a production run of every stream (T items each, default 2; seed S + 1000k); the failures of each
stream read with their blame; a rule-based rewrite of each stream's pair (kept apart from the other
streams' plans by their signature distance); a validation batch (V items per stream per arm, default
2; current vs rewritten pairs, same seed) and, per stream, McNemar's exact test on the paired items:
the rewrite is dropped iff p(worse) ≤ α (default 0.5: more losses than wins), else written to
plan.<domain> with lineage. --no-evolve: production rounds only, same seeds (the baseline). Report in
--out (default <run dir>/streams).`;

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      domain: { type: 'string' },
      rounds: { type: 'string', default: '2' },
      'tasks-per-plan': { type: 'string', default: '2' },
      'validation-size': { type: 'string', default: '2' },
      'plans-file': { type: 'string' },
      alpha: { type: 'string', default: '0.5' },
      seed: { type: 'string', default: '1' },
      'no-evolve': { type: 'boolean' },
      'roles-config': { type: 'string' },
      'max-revisions': { type: 'string' },
      'timeout-min': { type: 'string', default: '60' },
      'run-id': { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      ...natsCliOptions,
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (!values.domain) {
    console.error(`troupe evolve --streams: --domain is required\n\n${HELP}`);
    return 2;
  }
  const int = (name: string, v: string | undefined, min: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min} (got "${v}")`);
    return n;
  };
  const rounds = int('rounds', values.rounds, 1);
  const tasksPerPlan = int('tasks-per-plan', values['tasks-per-plan'], 1);
  const validationSize = int('validation-size', values['validation-size'], 1);
  const seed = int('seed', values.seed, 0);
  const alpha = Number(values.alpha);
  if (!(alpha > 0 && alpha < 1)) throw new Error(`--alpha must be a number in (0, 1) (got "${values.alpha}")`);
  const timeoutMin = Number(values['timeout-min']);
  if (!(timeoutMin > 0)) throw new Error(`--timeout-min must be a positive number (got "${values['timeout-min']}")`);
  let pairs: z.infer<typeof PairsSchema> | undefined;
  const PairsSchema = z.array(z.object({ synthesis: SynthesisPlanSchema, evaluation: EvaluationPlanSchema })).min(1);
  if (values['plans-file']) {
    const parsed = PairsSchema.safeParse(JSON.parse(readFileSync(values['plans-file'], 'utf8')));
    if (!parsed.success) throw new Error(`--plans-file ${values['plans-file']}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
    pairs = parsed.data;
  }
  const { getDomain, domainNames } = await import('../../domains/registry.ts');
  if (!domainNames().includes(values.domain)) throw new Error(`unknown domain "${values.domain}" (known: ${domainNames().join(', ')})`);
  const domain = getDomain(values.domain);
  domain.createEnvironment(); // fail now when τ² data is missing

  const { loadRolesConfig, startSynthSociety } = await import('../drivers/synth/society.ts');
  const { progressLine } = await import('../../actors/kit/funnel.ts');
  const { openInstructions } = await import('../../runtime/instructions/index.ts');
  const { runSynthesis } = await import('../../actors/evolver/run.ts');
  const { kvPlanStore, runStreams } = await import('../../actors/evolver/stream-machine.ts');
  const { toolEntities } = await import('../../actors/kit/plan-signature.ts');
  const { streamsReportMarkdown, streamsYieldSvg } = await import('../drivers/evolve/streams-report.ts');
  const config = loadRolesConfig(values['roles-config']);
  const maxRevisions = values['max-revisions'] !== undefined ? int('max-revisions', values['max-revisions'], 0) : config.maxRevisions;

  const runId = values['run-id'] ?? newRunId();
  const dir = makeRunDir(runId);
  process.env.TROUPE_RUN_DIR = dir;
  const tracing = initTracing({ serviceName: 'evolve-streams', runDir: dir });
  const session = await openNatsSession(natsSettingsFromFlags(values), { runDir: dir, name: `troupe-streams-${runId}` });
  let society: Awaited<ReturnType<typeof startSynthSociety>> | undefined;
  const interrupted = (sig: NodeJS.Signals) => {
    console.error(`troupe evolve --streams: ${sig}, stopping`);
    setTimeout(() => process.exit(130), 5000).unref();
    void Promise.allSettled([society?.stop(), session.close(), stopLocalModelServer()]).then(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    society = await startSynthSociety({ nc: session.nc, config, log: (l) => process.stderr.write(`${l}\n`) });
    const kv = await openInstructions(session.nc);
    const evolve = !values['no-evolve'];
    const entities = toolEntities(domain);
    console.error(`troupe evolve --streams: run ${runId}, domain ${values.domain}, ${pairs?.length ?? 'library'} stream(s) × ${rounds} round(s) × ${tasksPerPlan}, validation ${validationSize}, evolution ${evolve ? 'on' : 'off'}; run dir ${dir}`);
    const startedAt = Date.now();
    const result = await runStreams(
      { sessionId: runId, domain: values.domain, rounds, tasksPerPlan, validationSize, maxRevisions, seed, evolve, alpha, ...(pairs ? { pairs } : {}), instance: `${process.pid}` },
      {
        run: (req) => runSynthesis(session.nc, req, { timeoutMs: timeoutMin * 60_000, onProgress: (s, ms) => console.error(`${req.runId}: ${progressLine(s, ms)}`), progressEveryMs: 20_000 }),
        store: kvPlanStore(kv, values.domain),
        entities,
        log: (l) => console.error(l),
      },
      (state, round) => console.error(`[streams] round ${round}: ${state}`),
    );
    const out = values.out ?? join(dir, 'streams');
    mkdirSync(out, { recursive: true });
    const info = { sessionId: runId, domain: values.domain, rounds, tasksPerPlan, validationSize, evolve, alpha, seed, models: society.models, startedAt, endedAt: Date.now(), error: result.error };
    writeFileSync(join(out, 'report.md'), streamsReportMarkdown(info, result.records, result.pairs, entities));
    writeFileSync(join(out, 'yield.svg'), streamsYieldSvg(result.records, `troupe evolve --streams ${values.domain}`));
    writeFileSync(join(out, 'streams.json'), JSON.stringify({ ...info, rounds: result.records, finalPairs: result.pairs }, null, 2));
    for (const r of result.records) console.log(`round ${r.round}: ${r.streams.map((s) => `s${s.stream} ${s.passed}/${s.items}${s.rewrite ? ` (${s.rewrite.kept === undefined ? 'proposed' : s.rewrite.kept ? 'kept' : 'dropped'}: ${s.rewrite.moves.join('; ')})` : ''}`).join(', ')}`);
    console.log(`report: ${join(out, 'report.md')}`);
    if (result.error) console.error(`troupe evolve --streams: stopped: ${result.error}`);
    return result.error ? 1 : 0;
  } finally {
    await society?.stop().catch(() => {});
    await session.close();
    await stopLocalModelServer().catch(() => {});
    await tracing.shutdown().catch(() => {});
    setTimeout(() => process.exit(process.exitCode ?? 0), 3000).unref();
  }
}
