// Gold-replay throughput per domain: fresh environment + initial_state + gold actions for every
// task of the base split, optionally with the JSON dump `troupe tau2 replay` writes per task.
// Run: TAU2_DATA_DIR=... npx tsx bench/domains/replay.ts [--rounds N] [--domains a,b]
import { parseArgs } from 'node:util';
import { getDomain, domainNames } from '../../domains/registry.ts';
import { goldEnvironment } from '../../domains/tasks/initial-state.ts';
import { replayTask } from '../../domains/tasks/replay.ts';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '3' }, domains: { type: 'string' } },
});
const rounds = Number(values.rounds);
const names = values.domains ? values.domains.split(',') : domainNames();

console.log(`| domain | tasks (base) | env create ms | replay tasks/s | replay + dump tasks/s |`);
console.log(`|---|---|---|---|---|`);
for (const name of names) {
  const domain = getDomain(name);
  const tasks = domain.loadTasks();
  domain.createEnvironment(); // load + validate the DB once (cached per process)
  let t0 = performance.now();
  for (let i = 0; i < 20; i++) domain.createEnvironment();
  const createMs = (performance.now() - t0) / 20;

  let best = 0;
  for (let r = 0; r < rounds; r++) {
    t0 = performance.now();
    for (const task of tasks) goldEnvironment(() => domain.createEnvironment(), task);
    best = Math.max(best, tasks.length / ((performance.now() - t0) / 1000));
    process.stderr.write(`${name}: round ${r + 1}/${rounds}\n`);
  }
  let bestDump = 0;
  for (let r = 0; r < Math.min(rounds, 2); r++) {
    t0 = performance.now();
    for (const task of tasks) replayTask(domain, task);
    bestDump = Math.max(bestDump, tasks.length / ((performance.now() - t0) / 1000));
  }
  console.log(`| ${name} | ${tasks.length} | ${createMs.toFixed(1)} | ${best.toFixed(1)} | ${bestDump.toFixed(1)} |`);
}
