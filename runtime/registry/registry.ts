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
/**
 * Every key of the bucket, from one server-side snapshot: the stream's subject list (STREAM.INFO with a
 * subjects filter). kv.keys() walks an ordered consumer that stops at "pending 0", which heartbeats
 * rewriting entries during the walk can make it reach early: `troupe ps` then missed instances (9 of
 * 40 in tests/runtime/registry-list.test.ts under load), or listed one twice.
 */
async function bucketKeys(kv: KV): Promise<string[]> {
  // The fields of @nats-io/kv's Bucket that name its stream; checked, so a client upgrade that renames
  // them fails here by name rather than listing wrongly.
  const b = kv as unknown as { jsm?: { streams: { info(name: string, opts: { subjects_filter: string }): Promise<{ state: { subjects?: Record<string, number> } }> } }; stream?: string; prefix?: string };
  if (!b.jsm || !b.stream || !b.prefix) throw new Error('registry: the KV handle has no jsm/stream/prefix (@nats-io/kv changed?); cannot list the bucket');
  const prefix = b.prefix;
  const si = await b.jsm.streams.info(b.stream, { subjects_filter: `${prefix}.>` });
  return Object.keys(si.state.subjects ?? {}).map((s) => s.slice(prefix.length + 1));
}

export async function listInstances(kv: KV): Promise<InstanceRecord[]> {
  const out: InstanceRecord[] = [];
  for (const k of await bucketKeys(kv)) {
    const e = await kv.get(k);
    if (!e || e.operation !== 'PUT') continue;
    const r = InstanceRecordSchema.safeParse(e.json());
    if (r.success) out.push(r.data);
    else console.error(`registry: entry ${k} is not an instance record: ${r.error.message}`);
  }
  return out.sort((a, b) => a.role.localeCompare(b.role) || a.startedAt - b.startedAt);
}
