// Runtime benchmark: per-hop latency (p50/p99) and throughput of the 3-role test pipeline over NATS
// JetStream, each role in its own worker process, beside an in-process direct-call chain running the
// same three machines. The bus chain runs twice: workers recording spans (default) and with
// TROUPE_TRACING=off. Throughput: ITEMS published in pipelined bursts after a warm-up run of the same
// size, timed until the last one reaches the sink. Run: `npx tsx bench/runtime/run.ts [--items 5000] [--latency-items 500] [--replicas 1]`.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { Envelope } from '../../protocols/envelope.ts';
import { PipelineDone, PipelineStage0, type PipelineItem } from '../../protocols/runtime-messages.ts';
import { loadRole } from '../../runtime/host/catalog.ts';
import { runRoleMachine } from '../../runtime/host/host.ts';
import type { RoleDefinition } from '../../runtime/host/role.ts';
import { Bus } from '../../runtime/nats/bus.ts';
import { subjectReader } from '../../runtime/nats/read.ts';
import { parseSocietyConfig } from '../../runtime/society/config.ts';
import { Society } from '../../runtime/society/society.ts';
import { TEST_ROLES } from '../../tests/fixtures/roles/catalog.ts';

const { values } = parseArgs({
  options: { items: { type: 'string', default: '5000' }, 'latency-items': { type: 'string', default: '500' }, replicas: { type: 'string', default: '1' } },
});
const ITEMS = Number(values.items);
const LAT_ITEMS = Number(values['latency-items']);
const REPLICAS = Number(values.replicas);
const HOPS = 4; // feeder→stage-a→stage-b→stage-c→sink: four trips over the bus per item
const WARMUP = 200;

interface Result {
  lat: number[];
  perSec: number;
  /** CPU ms per item during the throughput phase, per process (load-independent cost). */
  cpu?: Record<string, number>;
}

/** utime+stime of a process in ms, from /proc (Linux). */
function cpuMs(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // USER_HZ = 100
  } catch {
    return NaN;
  }
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const f = (x: number, d = 3) => x.toFixed(d);

async function directChain(stages: RoleDefinition[]): Promise<Result> {
  const runItem = async (seq: number) => {
    let data: PipelineItem = { seq, payload: `item ${seq}`, hops: [] };
    for (const role of stages) {
      const env: Envelope<PipelineItem> = { id: `d-${seq}`, kind: role.consumes[0].kind, v: 1, from: { role: 'bench', instance: 'b' }, sentAt: Date.now(), data };
      const out = await runRoleMachine(role, { message: env, data, delivery: 1, role: { name: role.name, impl: role.impl, instance: 'direct' } });
      data = out[0].data as PipelineItem;
    }
    return data;
  };
  for (let i = 0; i < WARMUP; i++) await runItem(i);
  const lat: number[] = [];
  for (let i = 0; i < LAT_ITEMS; i++) {
    const t = performance.now();
    await runItem(i);
    lat.push(performance.now() - t);
  }
  const t0 = performance.now();
  for (let i = 0; i < ITEMS; i++) await runItem(i);
  return { lat, perSec: ITEMS / ((performance.now() - t0) / 1000) };
}

async function busChain(tracing: 'on' | 'off'): Promise<Result> {
  process.env.TROUPE_TRACING = tracing;
  console.error(`society: 3 roles × ${REPLICAS} replica(s), embedded nats-server, spans ${tracing}…`);
  const roleCfg = { replicas: REPLICAS, concurrency: 64 };
  const society = new Society({ catalog: TEST_ROLES,
    config: parseSocietyConfig({ roles: { 'stage-a': roleCfg, 'stage-b': roleCfg, 'stage-c': roleCfg } }),
    control: false,
    log: () => {},
  });
  await society.start();
  try {
    const nc = society.nc;
    const bus = new Bus(nc, { role: 'bench', instance: `bench-${process.pid}` });
    const sink = await subjectReader(nc, PipelineDone.subject, { from: 'new' });
    const arrivals = new Map<number, () => void>();
    let received = 0;
    const it = await sink.consume({ max_messages: 512 });
    void (async () => {
      for await (const m of it) {
        received++;
        const seq = m.json<Envelope<PipelineItem>>().data.seq;
        arrivals.get(seq)?.();
        arrivals.delete(seq);
      }
    })();
    let seq = 0;
    const send = (n: number) => {
      const arrived = new Promise<void>((r) => arrivals.set(n, r));
      return { arrived, published: bus.publish(PipelineStage0, { seq: n, payload: `item ${n}`, hops: [] }, { key: `bench-${n}` }) };
    };

    const burstRun = async (n: number) => {
      const arrivedAll: Promise<void>[] = [];
      const BURST = 500;
      for (let i = 0; i < n; i += BURST) {
        const burst = Array.from({ length: Math.min(BURST, n - i) }, () => send(seq++));
        arrivedAll.push(...burst.map((b) => b.arrived));
        await Promise.all(burst.map((b) => b.published));
      }
      await Promise.all(arrivedAll);
    };
    // The first burst run costs about twice the CPU per item of later ones (JIT, buffers): warm up first.
    console.error(`  throughput warm-up: ${ITEMS} items…`);
    await burstRun(ITEMS);
    // Latency: one item in flight at a time.
    const lat: number[] = [];
    for (let i = 0; i < WARMUP + LAT_ITEMS; i++) {
      const t = performance.now();
      const s = send(seq++);
      await s.published;
      await s.arrived;
      if (i >= WARMUP) lat.push(performance.now() - t);
    }

    // Throughput: publish everything in pipelined bursts of 500 (JetStream queues what the roles have
    // not taken yet) and time until the last item reaches the sink.
    console.error(`  throughput: ${ITEMS} items…`);
    const procs: Record<string, number> = { 'nats-server': society.session.embedded!.pid, 'bench (feeder+sink)': process.pid };
    for (const c of society.children()) procs[c.role] = c.pid!;
    const cpu0 = Object.fromEntries(Object.entries(procs).map(([k, pid]) => [k, cpuMs(pid)]));
    const t0 = performance.now();
    await burstRun(ITEMS);
    const perSec = ITEMS / ((performance.now() - t0) / 1000);
    const cpu = Object.fromEntries(Object.entries(procs).map(([k, pid]) => [k, (cpuMs(pid) - cpu0[k]) / ITEMS]));
    console.error(`  ${received} received`);
    await it.close();
    return { lat, perSec, cpu };
  } finally {
    await society.stop();
  }
}

async function main() {
  const home = mkdtempSync(join(tmpdir(), 'troupe-bench-'));
  process.env.TROUPE_RUNS_DIR = home;
  try {
    const stages = await Promise.all(['stage-a', 'stage-b', 'stage-c'].map(async (r) => (await loadRole(r, r, undefined, TEST_ROLES)).def));
    console.error('direct chain…');
    const direct = await directChain(stages);
    const runs = [['spans on', await busChain('on')], ['spans off', await busChain('off')]] as const;

    const perHopDirect = direct.lat.map((x) => x / 3);
    console.log(`\n| chain | e2e p50 ms | e2e p99 ms | per hop p50 ms | per hop p99 ms | items/s |`);
    console.log(`|---|---|---|---|---|---|`);
    console.log(`| direct calls, in-process (3 machines) | ${f(pct(direct.lat, 50))} | ${f(pct(direct.lat, 99))} | ${f(pct(perHopDirect, 50))} | ${f(pct(perHopDirect, 99))} | ${f(direct.perSec, 0)} |`);
    for (const [label, r] of runs) {
      const perHop = r.lat.map((x) => x / HOPS);
      console.log(`| JetStream, 3 roles × ${REPLICAS} process, ${label} | ${f(pct(r.lat, 50))} | ${f(pct(r.lat, 99))} | ${f(pct(perHop, 50))} | ${f(pct(perHop, 99))} | ${f(r.perSec, 0)} |`);
    }
    console.log('');
    for (const [label, r] of runs) {
      // Added = bus per-hop percentile minus the direct chain's typical (p50) per-hop cost: the direct
      // chain's own p99 is scheduler noise on a shared machine, and subtracting noise from noise says nothing.
      const directHop = pct(direct.lat, 50) / 3;
      const addedP50 = pct(r.lat, 50) / HOPS - directHop;
      const addedP99 = pct(r.lat, 99) / HOPS - directHop;
      console.log(`${label}: added per hop (bus per-hop − direct per-hop p50, ${HOPS} bus hops per item) p50 ${f(addedP50)} ms, p99 ${f(addedP99)} ms; ${f(r.perSec, 0)} items/s`);
      const total = Object.values(r.cpu!).reduce((a, b) => a + b, 0);
      const parts = Object.entries(r.cpu!).map(([k, v]) => `${k} ${f(v)}`).join(', ');
      console.log(`  CPU per item: ${f(total)} ms (${parts}) → at most ${f(2000 / total, 0)} items/s on 2 idle cores`);
    }
    console.log(`load average at end: ${(await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
