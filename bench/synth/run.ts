// bench/synth: throughput and cost of the data society with the configured models (default: the
// local SmolLM2-135M in every role). Runs `troupe synth` as a child process and reads its summary.
//
//   npx tsx bench/synth/run.ts [--domain mock] [--plans 2] [--tasks-per-plan 2] [--roles-config FILE]
//
// Prints one markdown table row: proposed/min, accepted-by-critic/min, tokens per passed dialogue.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cpus } from 'node:os';
import { runsDir } from '../../runtime/config/paths.ts';
import { newRunId } from '../../runtime/nats/session.ts';

const { values } = parseArgs({
  options: {
    domain: { type: 'string', default: 'mock' },
    plans: { type: 'string', default: '2' },
    'tasks-per-plan': { type: 'string', default: '2' },
    'roles-config': { type: 'string' },
  },
});
const runId = `bench-${newRunId()}`;
const args = ['bin/troupe.js', 'synth', '--domain', values.domain!, '--plans', values.plans!, '--tasks-per-plan', values['tasks-per-plan']!, '--run-id', runId];
if (values['roles-config']) args.push('--roles-config', values['roles-config']);
const t0 = Date.now();
const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'] });
const wall = (Date.now() - t0) / 1000;
const s = JSON.parse(readFileSync(join(runsDir(), runId, 'synth', 'summary.json'), 'utf8'));
const mins = (s.endedAt - s.startedAt) / 60_000;
const sum = s.summary;
const tokens = sum.tokens.prompt + sum.tokens.completion;
const perPassed = sum.dialoguePassed ? Math.round(tokens / sum.dialoguePassed) : null;
console.log(`\nexit ${r.status}; wall ${wall.toFixed(0)} s; run ${runId}; ${cpus().length} cores`);
console.log('| domain | plans×tasks | roles config | run min | proposed/min | accepted/min | checker ok | passed | tokens total | tokens / passed dialogue |');
console.log('|---|---|---|---:|---:|---:|---:|---:|---:|---:|');
console.log(
  `| ${values.domain} | ${values.plans}×${values['tasks-per-plan']} | ${values['roles-config'] ?? 'default (local)'} | ${mins.toFixed(2)} | ${(sum.proposed / mins).toFixed(2)} | ${(sum.acceptedByCritic / mins).toFixed(2)} | ${sum.checkerValidated} | ${sum.dialoguePassed} | ${tokens} | ${perPassed ?? 'n/a (none passed)'} |`,
);
