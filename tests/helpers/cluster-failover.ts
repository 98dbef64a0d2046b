// The failover scenario shared by tests/runtime/cluster.test.ts and bench/cluster/failover.ts: a
// 3-node NATS cluster on loopback (deploy/nats/node.conf), streams with 3 replicas, one worker process
// per node hosting the test pipeline (stage-a → stage-b → stage-c), `n` items fed in; once a third of
// them are done, the node leading TROUPE_MSG is SIGKILLed. Returns every pipeline.done message the
// stream holds at the end and the failover figures.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import { PipelineDone, type PipelineItem } from '../../protocols/runtime-messages.ts';
import { DEAD_LETTER_STREAM, MESSAGE_STREAM } from '../../protocols/subjects.ts';
import { startLocalCluster, type LocalCluster } from '../../runtime/nats/cluster.ts';
import { connectNats, natsSettingsToEnv } from '../../runtime/nats/connect.ts';
import { ensureStreams } from '../../runtime/nats/streams.ts';
import { listInstances, openRegistry } from '../../runtime/registry/registry.ts';
import { collect, feedItems, type Collected } from './nats.ts';

const BIN = fileURLToPath(new URL('../../bin/troupe.js', import.meta.url));
const STAGES = ['stage-a', 'stage-b', 'stage-c'] as const;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface FailoverResult {
  done: Collected<PipelineItem>[];
  killed: { node: string; at: number; wasLeader: boolean };
  /** Node → the worker instances connected to it. */
  placement: Record<string, string[]>;
  /** After the kill: the stream's leader and which replicas are current. */
  after: { leader?: string; replicas: { name: string; current: boolean; offline?: boolean }[] };
  deadLetters: number;
  figures: {
    items: number;
    /** Kill → the survivors have elected a new leader for TROUPE_MSG. */
    leaderBackMs: number | null;
    /** Kill → first pipeline.done the stream stored after it. */
    firstAfterKillMs: number;
    /** Kill → first item handled by a worker whose node was killed (it reconnected elsewhere). */
    orphanBackMs: number | null;
    itemsPerSecBefore: number;
    itemsPerSecAfter: number;
    totalMs: number;
  };
}

export async function runFailover(o: { dir: string; n: number; concurrency?: number; workMs?: number; log?: (l: string) => void }): Promise<FailoverResult> {
  const log = o.log ?? (() => {});
  let cluster: LocalCluster | undefined;
  const workers: ChildProcess[] = [];
  const closers: (() => Promise<unknown>)[] = [];
  try {
    cluster = await startLocalCluster(join(o.dir, 'nats'));
    const c = cluster;
    const setup = await connectNats({ ...c.settingsFor(0), name: 'failover-setup' });
    const jsm0 = await ensureStreams(setup); // 3 replicas: the server is in a cluster
    const leader = (await jsm0.streams.info(MESSAGE_STREAM)).cluster?.leader;
    const victim = c.nodes.findIndex((n) => n.name === leader);
    if (victim < 0) throw new Error(`no leader for ${MESSAGE_STREAM} (got ${leader})`);
    await setup.close();
    // The test's own connection sits on a node that survives, so feeding and reading never pause.
    const observer = (victim + 1) % c.nodes.length;
    const nc = await connectNats({ ...c.settingsFor(observer), name: 'failover-observer' });
    closers.push(() => nc.close());
    const jsm = await jetstreamManager(nc);

    // One worker per node, connected to that node alone: placement is known, and on a kill the
    // client falls back on the servers the cluster told it about (nats' own discovery).
    const placement: Record<string, string[]> = {};
    const tails: Record<string, string> = {};
    const spawnWorker = (i: number) => {
      const node = c.nodes[i];
      const spec = STAGES.map((role) => ({ role, impl: `tests/fixtures/roles/${role}.ts`, instance: `${role}-${node.name}`, concurrency: o.concurrency ?? 16 }));
      placement[node.name] = spec.map((s) => s.instance);
      const env = { ...process.env, ...natsSettingsToEnv(c.settingsFor(i)), TROUPE_ACK_WAIT_MS: '2000', TROUPE_TRACING: 'off', TROUPE_RUNS_DIR: o.dir };
      const w = spawn(process.execPath, [BIN, 'worker', '--spec', JSON.stringify(spec)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      const out = createWriteStream(join(o.dir, `worker-${node.name}.log`), { flags: 'a' });
      w.stdout!.pipe(out);
      w.stderr!.pipe(out);
      w.stderr!.on('data', (b: Buffer) => (tails[node.name] = ((tails[node.name] ?? '') + b.toString()).slice(-2000)));
      workers[i] = w;
    };
    c.nodes.forEach((_n, i) => spawnWorker(i));
    let restarts = 0;
    const registry = await openRegistry(nc);
    for (let i = 0; ; i++) {
      const ready = (await listInstances(registry)).filter((r) => r.state === 'ready').length;
      if (ready >= 9) break;
      // As `troupe up` would: restart a worker whose start failed (on a loaded machine creating R3
      // consumers can outlast the client's 5 s JetStream API timeout), a bounded number of times.
      for (const [j, w] of workers.entries()) {
        if (w.exitCode === null) continue;
        if (++restarts > 3) throw new Error(`workers keep exiting during start-up: ${JSON.stringify(tails)}`);
        log(`worker on ${c.nodes[j].name} exited during start-up (${tails[c.nodes[j].name]?.trim().split('\n').at(-1)}); restarting it`);
        spawnWorker(j);
      }
      if (i > 600) throw new Error(`workers not ready after 60 s (${ready}/9; logs in ${o.dir})`);
      await sleep(100);
    }
    log(`cluster up; ${MESSAGE_STREAM} leader ${leader}; workers ready`);

    // Count done items as they are published (core subscription: sees the publish, not the store).
    const live = new Set<number>();
    const sub = nc.subscribe(PipelineDone.subject, { callback: (_e, m) => void live.add((m.json() as { data: PipelineItem }).data.seq) });
    const startedAt = Date.now();
    await feedItems(nc, o.n, { perTick: 200, item: () => ({ workMs: o.workMs ?? 2 }) });
    for (let i = 0; live.size < o.n / 3; i++) {
      if (i > 1200) throw new Error(`only ${live.size} of ${o.n} items done after 60 s`);
      await sleep(50);
    }
    const killedAt = Date.now();
    await c.nodes[victim].kill('SIGKILL');
    log(`killed ${c.nodes[victim].name} (the ${MESSAGE_STREAM} leader) with ${live.size}/${o.n} done`);
    // When the 2 survivors have elected a new leader for the stream (its quorum is back).
    let leaderBackMs: number | null = null;
    for (let i = 0; i < 300 && leaderBackMs === null; i++) {
      const l = await jsm.streams
        .info(MESSAGE_STREAM)
        .then((x) => x.cluster?.leader)
        .catch(() => undefined);
      if (l && l !== c.nodes[victim].name) leaderBackMs = Date.now() - killedAt;
      else await sleep(100);
    }

    // Read from the stream after the kill (a reader made now is placed on a live node); keep
    // listening past the ack wait so a late duplicate would show up.
    // Creating the reader is a JetStream API call: on a loaded machine during the election it can
    // time out; start over (it reads from the start of the stream), a bounded number of times.
    let done: Collected<PipelineItem>[] | undefined;
    for (let attempt = 1; !done; attempt++) {
      done = await collect<PipelineItem>(nc, PipelineDone.subject, (got) => new Set(got.map((g) => g.envelope.data.seq)).size >= o.n, {
        timeoutMs: 120_000,
        settleMs: 3000,
      }).catch((err) => {
        if (attempt >= 5 || !/timeout|no responders/i.test(String(err))) throw err;
        log(`reading the results failed (${(err as Error).message}); again`);
        return undefined;
      });
    }
    sub.unsubscribe();
    const si = await jsm.streams.info(MESSAGE_STREAM);
    const after = {
      leader: si.cluster?.leader,
      replicas: [{ name: si.cluster?.leader ?? '?', current: true }, ...(si.cluster?.replicas ?? []).map((r) => ({ name: r.name, current: r.current, offline: r.offline }))],
    };
    const deadLetters = (await jsm.streams.info(DEAD_LETTER_STREAM)).state.messages;

    const times = done.map((d) => d.storedAt).sort((a, b) => a - b);
    const firstAfter = times.find((t) => t > killedAt);
    const orphans = new Set(placement[c.nodes[victim].name]);
    const orphanTimes = done.flatMap((d) => d.envelope.data.hops.filter((h) => orphans.has(h.instance) && h.at > killedAt).map((h) => h.at));
    const before = times.filter((t) => t <= killedAt);
    const afterTimes = times.filter((t) => firstAfter !== undefined && t >= firstAfter);
    const rate = (ts: number[]) => (ts.length > 1 ? ((ts.length - 1) * 1000) / Math.max(1, ts[ts.length - 1] - ts[0]) : 0);
    return {
      done,
      killed: { node: c.nodes[victim].name, at: killedAt, wasLeader: true },
      placement,
      after,
      deadLetters,
      figures: {
        items: o.n,
        leaderBackMs,
        firstAfterKillMs: firstAfter === undefined ? -1 : firstAfter - killedAt,
        orphanBackMs: orphanTimes.length ? Math.min(...orphanTimes) - killedAt : null,
        itemsPerSecBefore: Math.round(rate(before)),
        itemsPerSecAfter: Math.round(rate(afterTimes)),
        totalMs: (times.at(-1) ?? startedAt) - startedAt,
      },
    };
  } finally {
    for (const w of workers) if (w.exitCode === null) w.kill('SIGTERM');
    await Promise.all(workers.map((w) => (w.exitCode !== null ? null : new Promise((r) => { const t = setTimeout(() => w.kill('SIGKILL'), 8_000); w.once('exit', () => (clearTimeout(t), r(null))); }))));
    for (const close of closers) await close().catch(() => {});
    await cluster?.stop();
  }
}
