// bench/evolve: yield per round over K rounds, with and without the evolver, on the same plans and
// the same production budget (rounds × plans × tasks per plan items). Two `troupe evolve` runs, each
// in its own fresh society (default instructions at the start), both with `--plans-file`:
//   1. baseline: `--no-evolve` (production rounds only);
//   2. evolver:  the full loop (its validation runs are extra, reported as tokens).
// Plans: --plans-file F (default for mock: bench/evolve/plans-mock.json); with none, the baseline runs
// with `--same-plans` and its round-1 plans are handed to the evolver arm.
// Prints a markdown table and writes an SVG plot (bench/evolve/yield.svg by default).
//
//   npx tsx bench/evolve/run.ts [--domain mock] [--rounds 3] [--tasks-per-plan 2] [--plans-file F]
//                              [--validation-size 2] [--roles-config FILE] [--svg FILE]
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runsDir } from '../../runtime/config/paths.ts';
import { newRunId } from '../../runtime/nats/session.ts';
import { lineChartSvg } from '../../cli/drivers/svg-chart.ts';
import type { RoundRecord } from '../../actors/evolver/steps.ts';

const { values } = parseArgs({
  options: {
    domain: { type: 'string', default: 'mock' },
    rounds: { type: 'string', default: '3' },
    plans: { type: 'string', default: '2' },
    'tasks-per-plan': { type: 'string', default: '2' },
    'validation-size': { type: 'string', default: '2' },
    'roles-config': { type: 'string' },
    'plans-file': { type: 'string' },
    svg: { type: 'string', default: 'bench/evolve/yield.svg' },
  },
});

interface Arm {
  name: string;
  runId: string;
  wallS: number;
  rounds: RoundRecord[];
}

function evolve(name: string, extra: string[]): Arm {
  const runId = `bench-evolve-${name}-${newRunId()}`;
  const args = ['bin/troupe.js', 'evolve', '--domain', values.domain!, '--rounds', values.rounds!, '--plans', values.plans!, '--tasks-per-plan', values['tasks-per-plan']!, '--validation-size', values['validation-size']!, '--run-id', runId, ...extra];
  if (values['roles-config']) args.push('--roles-config', values['roles-config']);
  console.error(`[bench/evolve] ${name}: troupe ${args.slice(1).join(' ')}`);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  const wallS = (Date.now() - t0) / 1000;
  const file = join(runsDir(), runId, 'evolve', 'rounds.json');
  let rounds: RoundRecord[];
  try {
    rounds = JSON.parse(readFileSync(file, 'utf8')).rounds;
  } catch (err) {
    throw new Error(`${name} arm (exit ${r.status}) wrote no readable ${file}: ${(err as Error).message}`);
  }
  if (r.status !== 0) console.error(`[bench/evolve] ${name} exited ${r.status}; using the ${rounds.length} round(s) it recorded`);
  return { name, runId, wallS, rounds };
}

let plansFile = values['plans-file'] ?? (values.domain === 'mock' ? 'bench/evolve/plans-mock.json' : undefined);
const baseline = evolve('baseline', ['--no-evolve', ...(plansFile ? ['--plans-file', plansFile] : ['--same-plans'])]);
if (!plansFile) {
  const plans = baseline.rounds[0]?.plans ?? [];
  if (!plans.length) throw new Error('the baseline run issued no plans in round 1');
  plansFile = join(runsDir(), baseline.runId, 'evolve', 'plans.json');
  writeFileSync(plansFile, JSON.stringify(plans, null, 2));
}
const evolver = evolve('evolver', ['--plans-file', plansFile]);

const y = (r: RoundRecord) => r.production.summary.dialoguePassed / Math.max(1, r.production.summary.items);
const tok = (r: RoundRecord) => r.production.summary.tokens.prompt + r.production.summary.tokens.completion;
const K = Number(values.rounds);
const rows = [
  `| round | baseline passed/items | evolver passed/items | evolver decision (target) | validation current → candidate |`,
  `|---:|---:|---:|---|---|`,
];
for (let k = 1; k <= K; k++) {
  const b = baseline.rounds.find((r) => r.round === k);
  const e = evolver.rounds.find((r) => r.round === k);
  const cell = (r?: RoundRecord) => (r ? `${r.production.summary.dialoguePassed}/${r.production.summary.items}` : '-');
  const v = e?.validation ? `${e.validation.current.outcome.accepted}/${e.validation.current.outcome.proposed} → ${e.validation.candidate.outcome.accepted}/${e.validation.candidate.outcome.proposed}` : '-';
  rows.push(`| ${k} | ${cell(b)} | ${cell(e)} | ${e ? `${e.outcome}${e.target ? ` (${e.target})` : ''}` : '-'} | ${v} |`);
}
const sum = (a: Arm, f: (r: RoundRecord) => number) => a.rounds.reduce((s, r) => s + f(r), 0);
rows.push(
  `| all | ${sum(baseline, (r) => r.production.summary.dialoguePassed)}/${sum(baseline, (r) => r.production.summary.items)} | ${sum(evolver, (r) => r.production.summary.dialoguePassed)}/${sum(evolver, (r) => r.production.summary.items)} | | |`,
);
console.log(rows.join('\n'));
console.log(
  `\nwall: baseline ${baseline.wallS.toFixed(0)} s, evolver ${evolver.wallS.toFixed(0)} s; production tokens: baseline ${sum(baseline, tok)}, evolver ${sum(evolver, tok)} ` +
    `(+ evolver model ${sum(evolver, (r) => r.evolverTokens.prompt + r.evolverTokens.completion)} and validation runs)`,
);
console.log(`runs: ${baseline.runId}, ${evolver.runId}`);
writeFileSync(
  values.svg!,
  lineChartSvg(
    `bench/evolve ${values.domain}: production yield per round`,
    [
      { name: 'without evolver', points: baseline.rounds.map((r) => ({ x: r.round, y: y(r) })) },
      { name: 'with evolver', points: evolver.rounds.map((r) => ({ x: r.round, y: y(r) })) },
    ],
    { xLabel: 'round', yLabel: 'passed / items' },
  ),
);
console.log(`plot: ${values.svg}`);
