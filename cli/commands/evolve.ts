// `troupe evolve --domain D --rounds K [--validation-size V]`: run the data society with the evolver.
// Each round: a production synthesis run, its failures grouped and attributed, a reflective rewrite
// of the most-failing role's instructions by the evolver's model, a validation batch (candidate arm
// beside current arm, same plans and seed) and the promotion decision. Writes the run report
// (report.md + per-round SVG curves + rounds.json) into the run directory.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { EvaluationPlanSchema, SynthesisPlanSchema, type EvaluationPlan, type SynthesisPlan } from '../../protocols/synthesis.ts';
import { natsCliOptions, natsSettingsFromFlags } from '../../runtime/nats/connect.ts';
import { newRunId, openNatsSession, runDir as makeRunDir } from '../../runtime/nats/session.ts';
import { initTracing } from '../../runtime/tracing/index.ts';
import { stopLocalModelServer } from '../../llm/server/embedded.ts';

const HELP = `usage: troupe evolve --domain D [--rounds K] [--validation-size V] [--plans P] [--tasks-per-plan T]
                     [--roles-config FILE] [--roles R,R] [--kinds K,K] [--z Z] [--alpha A] [--seed S] [--no-evolve] [--same-plans]
                     [--plans-file F]
                     [--max-revisions R] [--timeout-min T] [--run-id ID] [--out DIR] [--nats URL ...]
       troupe evolve --streams --domain D ...   (plan streams: troupe evolve --streams --help)

Runs the synthesis society with the evolver for K rounds (default 2). Per round: a production run
(P plans × T tasks, default 2 × 1), the failures grouped by kind and attributed to a role, a new
revision of that role's workflow parameters (params.<role> → candidate.params-<role>) when a rule
fits the failure mix (critic revisions exhausted → maxRevisions; malformed/cut-off answers →
maxTokens; near-duplicates → temperature), else of its instructions, written by the evolver's model
(models.evolver in the roles config, else the local default model) to candidate.<role>; --kinds
instructions,params (default both) limits what may be proposed; a validation batch of V items per arm
(default 2; candidate and current arms on the production run's plans with the same seed), and the
decision: McNemar's exact test on the paired items of the two arms — promote iff neither yield nor
checker discrimination is worse (p(worse) > α = 0.5, i.e. no more losses than wins) and one has a net
win (--alpha, default 0.5); z (default 1) is the archive's restore-if-behind margin in standard errors. --roles limits which roles may be rewritten (default all four LLM roles).
--no-evolve runs production rounds only (the baseline); --same-plans replays round 1's plans in
every later round; --plans-file F (JSON: [{"synthesis", "evaluation"}], e.g. the "plans" of a round
in an earlier run's rounds.json) gives the plans of every production run. The report (report.md, yield.svg, funnel.svg, blame.svg, tokens.svg,
rounds.json) goes to --out (default: <run dir>/evolve).`;

export async function main(argv: string[]): Promise<number> {
  // The plan-stream level of evolution has its own options and driver.
  if (argv.includes('--streams')) return (await import('./evolve-streams.ts')).main(argv.filter((a) => a !== '--streams'));
  const { values } = parseArgs({
    args: argv,
    options: {
      domain: { type: 'string' },
      rounds: { type: 'string', default: '2' },
      'validation-size': { type: 'string', default: '2' },
      plans: { type: 'string', default: '2' },
      'tasks-per-plan': { type: 'string', default: '1' },
      'roles-config': { type: 'string' },
      roles: { type: 'string' },
      kinds: { type: 'string', default: 'instructions,params' },
      z: { type: 'string', default: '1' },
      alpha: { type: 'string', default: '0.5' },
      seed: { type: 'string', default: '1' },
      'no-evolve': { type: 'boolean' },
      'same-plans': { type: 'boolean' },
      'plans-file': { type: 'string' },
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
    console.error(`troupe evolve: --domain is required\n\n${HELP}`);
    return 2;
  }
  const int = (name: string, v: string | undefined, min: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min} (got "${v}")`);
    return n;
  };
  const rounds = int('rounds', values.rounds, 1);
  const validationSize = int('validation-size', values['validation-size'], 1);
  const plans = int('plans', values.plans, 1);
  const tasksPerPlan = int('tasks-per-plan', values['tasks-per-plan'], 1);
  const seed = int('seed', values.seed, 0);
  const zScore = Number(values.z);
  if (!(zScore >= 0) || !Number.isFinite(zScore)) throw new Error(`--z must be a number ≥ 0 (got "${values.z}")`);
  const alpha = Number(values.alpha);
  if (!(alpha > 0 && alpha < 1)) throw new Error(`--alpha must be a number in (0, 1) (got "${values.alpha}")`);
  const timeoutMin = Number(values['timeout-min']);
  if (!(timeoutMin > 0)) throw new Error(`--timeout-min must be a positive number (got "${values['timeout-min']}")`);
  const { EVOLVABLE_ROLES } = await import('../../actors/evolver/failures.ts');
  const roles = values.roles ? values.roles.split(',').map((r) => r.trim()) : [...EVOLVABLE_ROLES];
  for (const r of roles) if (!(EVOLVABLE_ROLES as readonly string[]).includes(r)) throw new Error(`--roles: "${r}" is not a role the evolver rewrites (${EVOLVABLE_ROLES.join(', ')})`);
  const { PROPOSAL_KINDS } = await import('../../actors/evolver/params.ts');
  const kinds = values.kinds.split(',').map((k) => k.trim()).filter(Boolean);
  if (!kinds.length) throw new Error(`--kinds: name at least one of ${PROPOSAL_KINDS.join(', ')}`);
  for (const k of kinds) if (!(PROPOSAL_KINDS as readonly string[]).includes(k)) throw new Error(`--kinds: "${k}" is not a proposal kind (${PROPOSAL_KINDS.join(', ')})`);

  let fixedPlans: { synthesis: SynthesisPlan; evaluation: EvaluationPlan }[] | undefined;
  if (values['plans-file']) {
    const parsed = z.array(z.object({ synthesis: SynthesisPlanSchema, evaluation: EvaluationPlanSchema })).min(1).safeParse(JSON.parse(readFileSync(values['plans-file'], 'utf8')));
    if (!parsed.success) throw new Error(`--plans-file ${values['plans-file']}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
    fixedPlans = parsed.data;
  }

  const { getDomain, domainNames } = await import('../../domains/registry.ts');
  if (!domainNames().includes(values.domain)) throw new Error(`unknown domain "${values.domain}" (known: ${domainNames().join(', ')})`);
  getDomain(values.domain).createEnvironment(); // fail now, not inside a role, when τ² data is missing

  const { loadRolesConfig, startSynthSociety, clientFor } = await import('../drivers/synth/society.ts');
  const { progressLine } = await import('../../actors/kit/funnel.ts');
  const { openInstructions } = await import('../../runtime/instructions/index.ts');
  const { runEvolver } = await import('../../actors/evolver/machine.ts');
  const { evolveCharts, evolveReportMarkdown } = await import('../drivers/evolve/report.ts');
  const config = loadRolesConfig(values['roles-config']);
  const maxRevisions = values['max-revisions'] !== undefined ? int('max-revisions', values['max-revisions'], 0) : config.maxRevisions;
  const evolverLlm = clientFor(config, 'evolver');

  const runId = values['run-id'] ?? newRunId();
  const dir = makeRunDir(runId);
  process.env.TROUPE_RUN_DIR = dir;
  const tracing = initTracing({ serviceName: 'evolve', runDir: dir });
  const session = await openNatsSession(natsSettingsFromFlags(values), { runDir: dir, name: `troupe-evolve-${runId}` });
  let society: Awaited<ReturnType<typeof startSynthSociety>> | undefined;
  // An interrupted evolve (Ctrl-C, a bench killing it) still stops its embedded nats-server.
  const interrupted = (sig: NodeJS.Signals) => {
    console.error(`troupe evolve: ${sig}, stopping`);
    // Draining waits for in-flight model calls: give it a few seconds, then go regardless.
    setTimeout(() => process.exit(130), 5000).unref();
    void Promise.allSettled([society?.stop(), session.close(), stopLocalModelServer()]).then(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    society = await startSynthSociety({ nc: session.nc, config, log: (l) => process.stderr.write(`${l}\n`) });
    const kv = await openInstructions(session.nc);
    const evolve = !values['no-evolve'];
    console.error(`troupe evolve: run ${runId}, domain ${values.domain}, ${rounds} round(s) × (${plans} plan(s) × ${tasksPerPlan}), validation ${validationSize}/arm, evolver ${evolve ? `on (model ${evolverLlm.config.model})` : 'off'}; run dir ${dir}`);
    const startedAt = Date.now();
    const result = await runEvolver(
      {
        sessionId: runId,
        domain: values.domain,
        rounds,
        plans,
        tasksPerPlan,
        validationSize,
        maxRevisions,
        seed,
        timeoutMs: timeoutMin * 60_000,
        evolve,
        samePlans: !!values['same-plans'],
        fixedPlans,
        roles: roles as never,
        kinds: kinds as never,
        z: zScore,
        alpha,
        archiveSize: 5,
        reflectAttempts: 3,
        instance: `${process.pid}`,
      },
      {
        nc: session.nc,
        kv,
        llm: evolverLlm,
        log: (l) => console.error(l),
        onProgress: (what, s, ms) => console.error(`${what}: ${progressLine(s, ms)}`),
      },
      (state, round) => console.error(`[evolve] round ${round}: ${state}`),
    );
    const out = values.out ?? join(dir, 'evolve');
    mkdirSync(out, { recursive: true });
    const info = {
      sessionId: runId,
      domain: values.domain,
      rounds,
      plans: fixedPlans?.length ?? plans,
      tasksPerPlan,
      validationSize,
      evolve,
      models: { ...society.models, evolver: evolverLlm.config.model },
      startedAt,
      endedAt: Date.now(),
      error: result.error,
    };
    for (const [file, svg] of Object.entries(evolveCharts(result.records, `troupe evolve ${values.domain}`))) writeFileSync(join(out, file), svg);
    writeFileSync(join(out, 'report.md'), evolveReportMarkdown(info, result.records));
    writeFileSync(join(out, 'rounds.json'), JSON.stringify({ ...info, rounds: result.records }, null, 2));
    for (const r of result.records) {
      const s = r.production.summary;
      console.log(`round ${r.round}: passed ${s.dialoguePassed}/${s.items}, failures ${r.failures.total}, target ${r.target ?? '-'}, ${r.outcome}`);
    }
    console.log(`report: ${join(out, 'report.md')}`);
    if (result.error) console.error(`troupe evolve: stopped: ${result.error}`);
    return result.error ? 1 : 0;
  } finally {
    await society?.stop().catch(() => {});
    await session.close();
    await stopLocalModelServer().catch(() => {});
    await tracing.shutdown().catch(() => {});
    setTimeout(() => process.exit(process.exitCode ?? 0), 3000).unref();
  }
}
