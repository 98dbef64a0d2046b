// Consumer-side idempotency for sinks that write outside NATS (files, datasets): remember which
// message ids were already handled, in a KV bucket shared by all replicas of the sink.
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { storeReplicas } from './streams.ts';

export interface OnceGuard {
  /**
   * True exactly once per id across all processes using this guard: the caller then does the work.
   * False when another delivery already claimed it (a redelivery, or a second replica).
   */
  claim(id: string): Promise<boolean>;
  /** Give a claim back (the work failed and should be retried by the next delivery). */
  release(id: string): Promise<void>;
}

/** Guard over KV bucket `troupe_once_<name>`; claims are kept for `ttlMs` (default 7 days). */
export async function openOnceGuard(nc: NatsConnection, name: string, ttlMs = 7 * 24 * 3600_000): Promise<OnceGuard> {
  const kv: KV = await new Kvm(nc).create(`troupe_once_${name.replace(/[^A-Za-z0-9_-]/g, '_')}`, { history: 1, ttl: ttlMs, replicas: storeReplicas(nc) });
  const key = (id: string) => id.replace(/[^A-Za-z0-9_=-]/g, (c) => `_${c.charCodeAt(0).toString(16)}`);
  return {
    async claim(id) {
      try {
        await kv.create(key(id), String(Date.now()));
        return true;
      } catch (err) {
        if (/wrong last sequence|exists/i.test(String((err as Error).message))) return false;
        throw err;
      }
    },
    async release(id) {
      await kv.purge(key(id));
    },
  };
}
