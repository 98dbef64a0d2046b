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
}

async function ensureStream(jsm: JetStreamManager, name: string, subjects: string[], s: StreamSettings): Promise<void> {
  const cfg = {
    name,
    subjects,
    storage: (s.storage ?? 'file') as any,
    retention: 'limits' as any,
    max_age: (s.maxAgeMs ?? 7 * 24 * 3600_000) * 1_000_000,
    duplicate_window: (s.duplicateWindowMs ?? 120_000) * 1_000_000,
  };
  try {
    await jsm.streams.info(name);
  } catch {
    try {
      await jsm.streams.add(cfg);
    } catch (err) {
      // Another process may have won the race; only fail if the stream is still missing.
      await jsm.streams.info(name).catch(() => {
        throw err;
      });
    }
  }
}

export async function ensureStreams(nc: NatsConnection, s: StreamSettings = {}): Promise<JetStreamManager> {
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
