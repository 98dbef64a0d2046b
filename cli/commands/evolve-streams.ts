// `troupe evolve --streams --domain D [--rounds K] …`: the plan-stream level of evolution
// (actors/evolver/stream-machine.ts) against the live synthesis society: S streams (one plan pair
// each, from --plans-file or the plan library plan.<domain>) run K rounds; after each round every
// stream's pair is rewritten from its own failures and kept only if the stream's next validation
// batch is not worse by McNemar's exact test. Writes report.md, streams.json and yield.svg.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { checkedDomain, evolveCommonOptions, evolveCommonValues, intOption, readPlansFile, withEvolveSession } from '../drivers/evolve/session.ts';

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
    options: { ...evolveCommonOptions, 'tasks-per-plan': { type: 'string', default: '2' } },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (!values.domain) {
    console.error(`troupe evolve --streams: --domain is required\n\n${HELP}`);
    return 2;
  }
  const { rounds, validationSize, seed, alpha, timeoutMin } = evolveCommonValues(values);
  const tasksPerPlan = intOption('tasks-per-plan', values['tasks-per-plan'], 1);
  const pairs = readPlansFile(values['plans-file']);
  const domainName = values.domain;
  const domain = await checkedDomain(domainName);

  const { loadRolesConfig } = await import('../drivers/synth/society.ts');
  const { progressLine } = await import('../../actors/kit/funnel.ts');
  const { runSynthesis } = await import('../../actors/evolver/run.ts');
  const { kvPlanStore, runStreams } = await import('../../actors/evolver/stream-machine.ts');
  const { toolEntities } = await import('../../actors/kit/plan-signature.ts');
  const { streamsReportMarkdown, streamsYieldSvg } = await import('../drivers/evolve/streams-report.ts');
  const config = loadRolesConfig(values['roles-config']);
  const maxRevisions = values['max-revisions'] !== undefined ? intOption('max-revisions', values['max-revisions'], 0) : config.maxRevisions;

  return withEvolveSession({ command: 'troupe evolve --streams', service: 'evolve-streams', natsName: 'troupe-streams', runId: values['run-id'], flags: values, config }, async ({ runId, dir, session, society, kv }) => {
    const evolve = !values['no-evolve'];
    const entities = toolEntities(domain);
    console.error(`troupe evolve --streams: run ${runId}, domain ${domainName}, ${pairs?.length ?? 'library'} stream(s) × ${rounds} round(s) × ${tasksPerPlan}, validation ${validationSize}, evolution ${evolve ? 'on' : 'off'}; run dir ${dir}`);
    const startedAt = Date.now();
    const result = await runStreams(
      { sessionId: runId, domain: domainName, rounds, tasksPerPlan, validationSize, maxRevisions, seed, evolve, alpha, ...(pairs ? { pairs } : {}), instance: `${process.pid}` },
      {
        run: (req) => runSynthesis(session.nc, req, { timeoutMs: timeoutMin * 60_000, onProgress: (s, ms) => console.error(`${req.runId}: ${progressLine(s, ms)}`), progressEveryMs: 20_000 }),
        store: kvPlanStore(kv, domainName),
        entities,
        log: (l) => console.error(l),
      },
      (state, round) => console.error(`[streams] round ${round}: ${state}`),
    );
    const out = values.out ?? join(dir, 'streams');
    mkdirSync(out, { recursive: true });
    const info = { sessionId: runId, domain: domainName, rounds, tasksPerPlan, validationSize, evolve, alpha, seed, models: society.models, startedAt, endedAt: Date.now(), error: result.error };
    writeFileSync(join(out, 'report.md'), streamsReportMarkdown(info, result.records, result.pairs, entities));
    writeFileSync(join(out, 'yield.svg'), streamsYieldSvg(result.records, `troupe evolve --streams ${domainName}`));
    writeFileSync(join(out, 'streams.json'), JSON.stringify({ ...info, rounds: result.records, finalPairs: result.pairs }, null, 2));
    for (const r of result.records) console.log(`round ${r.round}: ${r.streams.map((s) => `s${s.stream} ${s.passed}/${s.items}${s.rewrite ? ` (${s.rewrite.kept === undefined ? 'proposed' : s.rewrite.kept ? 'kept' : 'dropped'}: ${s.rewrite.moves.join('; ')})` : ''}`).join(', ')}`);
    console.log(`report: ${join(out, 'report.md')}`);
    if (result.error) console.error(`troupe evolve --streams: stopped: ${result.error}`);
    return result.error ? 1 : 0;
  });
}
