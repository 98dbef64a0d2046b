// bench/engine: the data engine's plan streams with the embedded model — yield and task-kind mix per
// round, with and without evolution, on the same plans and the same seeds. Two `troupe evolve --streams`
// runs, each in its own fresh society:
//   1. baseline: `--no-evolve` (every round a production run of the same pairs);
//   2. streams:  each stream's pair rewritten after every round but the last, kept or dropped by
//                McNemar on its validation batch (validation runs are extra, reported separately).
//
//   npx tsx bench/engine/run.ts [--domain mock] [--rounds 2] [--tasks-per-plan 2] [--validation-size 2]
//                               [--plans-file bench/engine/plans-mock.json] [--roles-config bench/engine/roles.json]
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runsDir } from '../../runtime/config/paths.ts';
import { newRunId } from '../../runtime/nats/session.ts';
import type { StreamRoundRecord } from '../../actors/evolver/stream-machine.ts';

const { values } = parseArgs({
  options: {
    domain: { type: 'string', default: 'mock' },
    rounds: { type: 'string', default: '2' },
    'tasks-per-plan': { type: 'string', default: '2' },
    'validation-size': { type: 'string', default: '2' },
    'plans-file': { type: 'string', default: 'bench/engine/plans-mock.json' },
    'roles-config': { type: 'string', default: 'bench/engine/roles.json' },
    seed: { type: 'string', default: '1' },
  },
});

interface Arm {
  name: string;
  runId: string;
  wallS: number;
  load: [number, number];
  rounds: StreamRoundRecord[];
}

function arm(name: string, extra: string[]): Arm {
  const runId = `bench-engine-${name}-${newRunId()}`;
  const args = ['bin/troupe.js', 'evolve', '--streams', '--domain', values.domain!, '--rounds', values.rounds!, '--tasks-per-plan', values['tasks-per-plan']!, '--validation-size', values['validation-size']!, '--plans-file', values['plans-file']!, '--roles-config', values['roles-config']!, '--seed', values.seed!, '--run-id', runId, ...extra];
  console.error(`[bench/engine] ${name}: troupe ${args.slice(1).join(' ')}`);
  const l0 = loadavg()[0];
  const t0 = Date.now();
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  const wallS = (Date.now() - t0) / 1000;
  const file = join(runsDir(), runId, 'streams', 'streams.json');
  let rounds: StreamRoundRecord[];
  try {
    rounds = JSON.parse(readFileSync(file, 'utf8')).rounds;
  } catch (err) {
    throw new Error(`${name} arm (exit ${r.status}) wrote no readable ${file}: ${(err as Error).message}`);
  }
  if (r.status !== 0) console.error(`[bench/engine] ${name} exited ${r.status}; using the ${rounds.length} round(s) it recorded`);
  return { name, runId, wallS, load: [l0, loadavg()[0]], rounds };
}

const baseline = arm('baseline', ['--no-evolve']);
const streams = arm('streams', []);

const kinds = (r: StreamRoundRecord) => {
  const k: Record<string, number> = {};
  for (const s of r.streams) for (const [a, b] of Object.entries(s.kinds)) k[a] = (k[a] ?? 0) + (b ?? 0);
  return Object.entries(k).map(([a, b]) => `${a} ${b}`).join(', ') || '-';
};
const cell = (r?: StreamRoundRecord) => (r ? `${r.streams.reduce((a, s) => a + s.passed, 0)}/${r.streams.reduce((a, s) => a + s.items, 0)}` : '-');
const perStream = (r?: StreamRoundRecord) => (r ? r.streams.map((s) => `${s.passed}/${s.items}`).join(' · ') : '-');
const rows = ['| round | baseline passed/items (per stream) | streams passed/items (per stream) | kinds (baseline) | kinds (streams) | rewrites: kept / dropped |', '|---:|---|---|---|---|---|'];
for (let k = 1; k <= Number(values.rounds); k++) {
  const b = baseline.rounds.find((r) => r.round === k);
  const e = streams.rounds.find((r) => r.round === k);
  const kept = e?.streams.filter((s) => s.rewrite?.kept === true).length ?? 0;
  const dropped = e?.streams.filter((s) => s.rewrite?.kept === false).length ?? 0;
  rows.push(`| ${k} | ${cell(b)} (${perStream(b)}) | ${cell(e)} (${perStream(e)}) | ${b ? kinds(b) : '-'} | ${e ? kinds(e) : '-'} | ${kept} / ${dropped} |`);
}
console.log(rows.join('\n'));
for (const r of streams.rounds) for (const s of r.streams) if (s.rewrite) console.log(`round ${r.round} stream ${s.stream}: ${s.rewrite.moves.join('; ')} → ${s.rewrite.kept === undefined ? 'not validated' : s.rewrite.kept ? 'kept' : 'dropped'}${s.rewrite.decision ? ` (${s.rewrite.decision.why})` : ''}`);
console.log(`\nwall: baseline ${baseline.wallS.toFixed(0)} s (load ${baseline.load.map((x) => x.toFixed(1)).join(' → ')}), streams ${streams.wallS.toFixed(0)} s (load ${streams.load.map((x) => x.toFixed(1)).join(' → ')}); ${cpus().length} cores`);
console.log(`runs: ${baseline.runId}, ${streams.runId} (reports: <runs dir>/<run>/streams/report.md)`);
