// The JetStream resources the society needs, created idempotently by whoever connects first.
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { ALL_DEAD_LETTERS, ALL_MESSAGES, DEAD_LETTER_STREAM, MESSAGE_STREAM } from '../../protocols/subjects.ts';

const SECOND_NS = 1_000_000_000;

export interface StreamSettings {
  /** How long JetStream remembers a Nats-Msg-Id for publish dedupe (default 2 min). */
  duplicateWindowMs?: number;
  /** How long work messages are kept (default 7 days). */
  maxAgeMs?: number;
  /** 'file' (default, survives restarts) or 'memory'. */
  storage?: 'file' | 'memory';
  /** Copies of each stream (default: storeReplicas(nc) — 1 on a single server, 3 on a cluster). */
  replicas?: number;
}

/**
 * Replicas for every stream, KV bucket and object store the society creates: TROUPE_NATS_REPLICAS
 * when set, else 3 when the server we reached is part of a cluster (its INFO names one) and 1 on a
 * single server. R3 keeps quorum with 2 of 3 nodes, so a node can die without losing or stalling work.
 */
export function storeReplicas(nc: NatsConnection, env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.TROUPE_NATS_REPLICAS;
  if (raw !== undefined && raw !== '') {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1 || n > 5) throw new Error(`TROUPE_NATS_REPLICAS must be an integer from 1 to 5, got "${raw}"`);
    return n;
  }
  return nc.info?.cluster ? 3 : 1;
}

async function ensureStream(jsm: JetStreamManager, name: string, subjects: string[], s: StreamSettings): Promise<void> {
  const cfg = {
    name,
    subjects,
    storage: (s.storage ?? 'file') as any,
    retention: 'limits' as any,
    max_age: (s.maxAgeMs ?? 7 * 24 * 3600_000) * 1_000_000,
    duplicate_window: (s.duplicateWindowMs ?? 120_000) * 1_000_000,
    num_replicas: s.replicas ?? 1,
  };
  try {
    await jsm.streams.info(name);
  } catch {
    try {
      await jsm.streams.add(cfg);
    } catch (err) {
      // Another process may have won the race; only fail if the stream is still missing.
      await jsm.streams.info(name).catch(() => {
        throw replicasHint(err, cfg.num_replicas);
      });
    }
  }
}

/** A clearer error when a cluster has fewer JetStream nodes than the replicas asked for. */
export function replicasHint(err: unknown, replicas: number): Error {
  const e = err instanceof Error ? err : new Error(String(err));
  if (replicas > 1 && /insufficient resources|no suitable peers|replicas/i.test(e.message)) {
    return new Error(`${e.message} (asked for ${replicas} replicas: the cluster needs that many JetStream nodes up; set TROUPE_NATS_REPLICAS to fewer)`);
  }
  return e;
}

export async function ensureStreams(nc: NatsConnection, settings: StreamSettings = {}): Promise<JetStreamManager> {
  const s = { ...settings, replicas: settings.replicas ?? storeReplicas(nc) };
  const jsm = await jetstreamManager(nc);
  await ensureStream(jsm, MESSAGE_STREAM, [ALL_MESSAGES], s);
  await ensureStream(jsm, DEAD_LETTER_STREAM, [ALL_DEAD_LETTERS], { ...s, maxAgeMs: 30 * 24 * 3600_000 });
  return jsm;
}

export const nanos = (ms: number) => Math.round(ms * 1_000_000);

/**
 * Deliveries of one message to a consumer with explicit acks before it is dead-lettered: ten covers
 * a crash-restart cycle or a flaky model endpoint (the host's nak backoff, 0.2 s doubling, spreads
 * them over ~80 s), while a poison message costs at most ten handler runs. `maxDeliver` overrides.
 */
export const DEFAULT_MAX_DELIVER = 10;
export { SECOND_NS };
