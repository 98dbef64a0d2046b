// Artifacts (weights, exports) in the JetStream object store.
import { Objm, type ObjectStore } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { ARTIFACTS_BUCKET } from '../../protocols/subjects.ts';
import { storeReplicas } from './streams.ts';

export async function artifactStore(nc: NatsConnection, bucket = ARTIFACTS_BUCKET): Promise<ObjectStore> {
  return new Objm(nc).create(bucket, { storage: 'file' as any, replicas: storeReplicas(nc) });
}

export async function putArtifact(nc: NatsConnection, name: string, bytes: Uint8Array, description?: string): Promise<{ name: string; digest: string; size: number }> {
  const os = await artifactStore(nc);
  const info = await os.putBlob({ name, description }, bytes);
  return { name: info.name, digest: info.digest, size: info.size };
}

export async function getArtifact(nc: NatsConnection, name: string): Promise<Uint8Array | null> {
  const os = await artifactStore(nc);
  return os.getBlob(name);
}
