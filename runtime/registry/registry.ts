// The registry of live role instances: one KV entry per instance, refreshed by heartbeats; an
// instance that stops heartbeating disappears when the bucket's TTL passes.
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { InstanceRecordSchema, type InstanceRecord } from '../../protocols/runtime-messages.ts';
import { REGISTRY_BUCKET } from '../../protocols/subjects.ts';
import { storeReplicas } from '../nats/streams.ts';

/** Entries expire this long after their last heartbeat. */
export const REGISTRY_TTL_MS = 10_000;
export const HEARTBEAT_MS = 2_000;

export async function openRegistry(nc: NatsConnection): Promise<KV> {
  return new Kvm(nc).create(REGISTRY_BUCKET, { history: 1, ttl: REGISTRY_TTL_MS, storage: 'memory' as any, replicas: storeReplicas(nc) });
}

export async function putInstance(kv: KV, rec: InstanceRecord): Promise<void> {
  await kv.put(rec.instance, JSON.stringify(rec));
}

export async function removeInstance(kv: KV, instance: string): Promise<void> {
  await kv.delete(instance).catch(() => {});
}

/** Every live instance, sorted by role then start time. Entries that fail to parse are skipped with a warning. */
export async function listInstances(kv: KV): Promise<InstanceRecord[]> {
  const out: InstanceRecord[] = [];
  // A Set: the key listing hands out a key again when its entry is rewritten (a heartbeat) while it runs.
  const keys = new Set<string>();
  for await (const k of await kv.keys()) keys.add(k);
  for (const k of keys) {
    const e = await kv.get(k);
    if (!e || e.operation !== 'PUT') continue;
    const r = InstanceRecordSchema.safeParse(e.json());
    if (r.success) out.push(r.data);
    else console.error(`registry: entry ${k} is not an instance record: ${r.error.message}`);
  }
  return out.sort((a, b) => a.role.localeCompare(b.role) || a.startedAt - b.startedAt);
}
