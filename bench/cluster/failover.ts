// Failover on a 3-node NATS cluster: `npx tsx bench/cluster/failover.ts [--items N] [--runs K]`.
// The scenario of tests/runtime/cluster.test.ts (tests/helpers/cluster-failover.ts) with more items;
// prints the figures per run, items done per second around the kill, and the load average.
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, cpus } from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runFailover } from '../../tests/helpers/cluster-failover.ts';

const { values } = parseArgs({ options: { items: { type: 'string', default: '3000' }, runs: { type: 'string', default: '1' } } });
const items = Number(values.items);
for (let run = 1; run <= Number(values.runs); run++) {
  const dir = mkdtempSync(join(tmpdir(), 'troupe-failover-'));
  const load0 = loadavg()[0];
  try {
    const r = await runFailover({ dir, n: items, log: (l) => console.error(`[failover] ${l}`) });
    const perSec = new Map<number, number>();
    for (const d of r.done) {
      const s = Math.floor((d.storedAt - r.killed.at) / 1000);
      perSec.set(s, (perSec.get(s) ?? 0) + 1);
    }
    const secs = [...perSec.keys()].sort((a, b) => a - b);
    console.log(JSON.stringify({ run, cpus: cpus().length, loadBefore: load0, loadAfter: loadavg()[0], killed: r.killed.node, after: r.after, deadLetters: r.deadLetters, ...r.figures }));
    console.log(`done per second (0 = the second after the kill): ${secs.map((s) => `${s}:${perSec.get(s)}`).join(' ')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
