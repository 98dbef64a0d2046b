// Test helpers: a real embedded nats-server per test file, feeding the test pipeline, and reading
// what reaches a subject.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Envelope } from '../../protocols/envelope.ts';
import { PipelineStage0, type PipelineItem } from '../../protocols/runtime-messages.ts';
import { Bus } from '../../runtime/nats/bus.ts';
import { connectNats, type NatsSettings } from '../../runtime/nats/connect.ts';
import { startEmbeddedNats, type EmbeddedNats } from '../../runtime/nats/embedded.ts';
import { subjectReader } from '../../runtime/nats/read.ts';
import { ensureStreams } from '../../runtime/nats/streams.ts';

export interface TestNats {
  dir: string;
  server: EmbeddedNats;
  settings: NatsSettings;
  nc: NatsConnection;
  stop(): Promise<void>;
}

export async function startTestNats(): Promise<TestNats> {
  const dir = mkdtempSync(join(tmpdir(), 'troupe-test-'));
  const server = await startEmbeddedNats(join(dir, 'nats'));
  const settings: NatsSettings = { url: server.url, user: server.user, pass: server.pass };
  const nc = await connectNats(settings);
  await ensureStreams(nc);
  return {
    dir,
    server,
    settings,
    nc,
    async stop() {
      await nc.close().catch(() => {});
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Publish `n` items into stage0 (idempotency key `item-<seq>`), `perTick` at a time with a pause between. */
export async function feedItems(
  nc: NatsConnection,
  n: number,
  opts: { perTick?: number; tickMs?: number; item?: (seq: number) => Partial<PipelineItem>; onTick?: (sent: number) => Promise<void> | void } = {},
): Promise<void> {
  const bus = new Bus(nc, { role: 'feeder', instance: `feeder-${process.pid}` });
  const perTick = opts.perTick ?? n;
  for (let start = 0; start < n; start += perTick) {
    const batch = [];
    for (let seq = start; seq < Math.min(n, start + perTick); seq++) {
      batch.push(bus.publish(PipelineStage0, { seq, payload: `item ${seq}`, hops: [], ...opts.item?.(seq) }, { key: `item-${seq}` }));
    }
    await Promise.all(batch);
    await opts.onTick?.(Math.min(n, start + perTick));
    if (opts.tickMs) await new Promise((r) => setTimeout(r, opts.tickMs));
  }
}

export interface Collected<T> {
  envelope: Envelope<T>;
  seq: number;
  /** When the stream stored it (ms since the epoch, the server's clock). */
  storedAt: number;
}

/**
 * Read every message on `subject` (from the start of the stream) until `until` returns true or
 * `timeoutMs` passes; then keep listening `settleMs` more so late duplicates would show up.
 */
export async function collect<T = PipelineItem>(
  nc: NatsConnection,
  subject: string,
  until: (got: Collected<T>[]) => boolean,
  opts: { timeoutMs?: number; settleMs?: number; stream?: string } = {},
): Promise<Collected<T>[]> {
  const consumer = await subjectReader(nc, subject, { stream: opts.stream });
  const got: Collected<T>[] = [];
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  let settleUntil = Infinity;
  for (;;) {
    const now = Date.now();
    if (now > deadline || now > settleUntil) break;
    try {
      const batch = await consumer.fetch({ max_messages: 256, expires: 1000 });
      for await (const m of batch) {
        got.push({ envelope: m.json<Envelope<T>>(), seq: m.seq, storedAt: Number(BigInt(m.info.timestampNanos) / 1_000_000n) });
      }
    } catch (err) {
      // A loaded machine can miss the pull's idle heartbeats; what was received is kept (ack none,
      // and the consumer's position only advances on delivery), so just pull again.
      // A pull that times out (a cluster electing a leader) is pulled again too, until the deadline.
      if (!/heartbeat|timeout/i.test(String(err))) throw err;
    }
    if (settleUntil === Infinity && until(got)) settleUntil = Date.now() + (opts.settleMs ?? 0);
  }
  return got;
}

export function countBy<T>(xs: T[], key: (x: T) => string | number): Map<string | number, number> {
  const m = new Map<string | number, number>();
  for (const x of xs) m.set(key(x), (m.get(key(x)) ?? 0) + 1);
  return m;
}
