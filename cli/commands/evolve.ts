// `troupe evolve --domain D --rounds K [--validation-size V]`: run the data society with the evolver.
// Each round: a production synthesis run, its failures grouped and attributed, a reflective rewrite
// of the most-failing role's instructions by the evolver's model, a validation batch (candidate arm
// beside current arm, same plans and seed) and the promotion decision. Writes the run report
// (report.md + per-round SVG curves + rounds.json) into the run directory.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { checkedDomain, evolveCommonOptions, evolveCommonValues, intOption, readPlansFile, withEvolveSession } from '../drivers/evolve/session.ts';

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
      ...evolveCommonOptions,
      plans: { type: 'string', default: '2' },
      'tasks-per-plan': { type: 'string', default: '1' },
      roles: { type: 'string' },
      kinds: { type: 'string', default: 'instructions,params' },
      z: { type: 'string', default: '1' },
      'same-plans': { type: 'boolean' },
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
  const { rounds, validationSize, seed, alpha, timeoutMin } = evolveCommonValues(values);
  const plans = intOption('plans', values.plans, 1);
  const tasksPerPlan = intOption('tasks-per-plan', values['tasks-per-plan'], 1);
  const zScore = Number(values.z);
  if (!(zScore >= 0) || !Number.isFinite(zScore)) throw new Error(`--z must be a number ≥ 0 (got "${values.z}")`);
  const { EVOLVABLE_ROLES } = await import('../../actors/evolver/failures.ts');
  const roles = values.roles ? values.roles.split(',').map((r) => r.trim()) : [...EVOLVABLE_ROLES];
  for (const r of roles) if (!(EVOLVABLE_ROLES as readonly string[]).includes(r)) throw new Error(`--roles: "${r}" is not a role the evolver rewrites (${EVOLVABLE_ROLES.join(', ')})`);
  const { PROPOSAL_KINDS } = await import('../../actors/evolver/params.ts');
  const kinds = values.kinds.split(',').map((k) => k.trim()).filter(Boolean);
  if (!kinds.length) throw new Error(`--kinds: name at least one of ${PROPOSAL_KINDS.join(', ')}`);
  for (const k of kinds) if (!(PROPOSAL_KINDS as readonly string[]).includes(k)) throw new Error(`--kinds: "${k}" is not a proposal kind (${PROPOSAL_KINDS.join(', ')})`);
  const fixedPlans = readPlansFile(values['plans-file']);
  const domainName = values.domain;
  await checkedDomain(domainName);

  const { loadRolesConfig, clientFor } = await import('../drivers/synth/society.ts');
  const { progressLine } = await import('../../actors/kit/funnel.ts');
  const { runEvolver } = await import('../../actors/evolver/machine.ts');
  const { evolveCharts, evolveReportMarkdown } = await import('../drivers/evolve/report.ts');
  const config = loadRolesConfig(values['roles-config']);
  const maxRevisions = values['max-revisions'] !== undefined ? intOption('max-revisions', values['max-revisions'], 0) : config.maxRevisions;
  const evolverLlm = clientFor(config, 'evolver');

  return withEvolveSession({ command: 'troupe evolve', service: 'evolve', natsName: 'troupe-evolve', runId: values['run-id'], flags: values, config }, async ({ runId, dir, session, society, kv }) => {
    const evolve = !values['no-evolve'];
    console.error(`troupe evolve: run ${runId}, domain ${domainName}, ${rounds} round(s) × (${plans} plan(s) × ${tasksPerPlan}), validation ${validationSize}/arm, evolver ${evolve ? `on (model ${evolverLlm.config.model})` : 'off'}; run dir ${dir}`);
    const startedAt = Date.now();
    const result = await runEvolver(
      {
        sessionId: runId,
        domain: domainName,
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
      domain: domainName,
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
    for (const [file, svg] of Object.entries(evolveCharts(result.records, `troupe evolve ${domainName}`))) writeFileSync(join(out, file), svg);
    writeFileSync(join(out, 'report.md'), evolveReportMarkdown(info, result.records));
    writeFileSync(join(out, 'rounds.json'), JSON.stringify({ ...info, rounds: result.records }, null, 2));
    for (const r of result.records) {
      const s = r.production.summary;
      console.log(`round ${r.round}: passed ${s.dialoguePassed}/${s.items}, failures ${r.failures.total}, target ${r.target ?? '-'}, ${r.outcome}`);
    }
    console.log(`report: ${join(out, 'report.md')}`);
    if (result.error) console.error(`troupe evolve: stopped: ${result.error}`);
    return result.error ? 1 : 0;
  });
}
