// Model weights published to the NATS object store (how the learner hands a new policy to actors).
// A reference is `nats://[USER:PASS@|TOKEN@]HOST:PORT/BUCKET/OBJECT` (OBJECT may contain "/"); the object is streamed
// into the model cache under artifacts/BUCKET/ and its digest is checked by the object store client.
import { createWriteStream, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import '../../runtime/nats/transport-guard.ts';
import { connect } from '@nats-io/transport-node';
import { Objm } from '@nats-io/obj';
import { modelsDir } from '../../runtime/config/paths.ts';

export interface NatsArtifactRef {
  servers: string;
  bucket: string;
  object: string;
  user?: string;
  pass?: string;
  token?: string;
}

const refPattern = /^(nats|tls):\/\/(?:([^@/]*)@)?([^@/]+)\/([^/]+)\/(.+)$/;

export function parseNatsArtifactRef(ref: string): NatsArtifactRef {
  const m = refPattern.exec(ref);
  if (!m) throw new Error(`"${redactArtifactRef(ref)}" is not a NATS artifact reference (expected nats://host:port/bucket/object)`);
  const [, scheme, userinfo, hostPort, bucket, object] = m;
  const out: NatsArtifactRef = { servers: `${scheme}://${hostPort}`, bucket: decodeURIComponent(bucket), object: decodeURIComponent(object) };
  if (userinfo) {
    const colon = userinfo.indexOf(':');
    if (colon >= 0) {
      out.user = decodeURIComponent(userinfo.slice(0, colon));
      out.pass = decodeURIComponent(userinfo.slice(colon + 1));
    } else out.token = decodeURIComponent(userinfo);
  }
  return out;
}

/** The reference with credentials removed, for logs and errors. */
export function redactArtifactRef(ref: string): string {
  return ref.replace(/^((?:nats|tls):\/\/)[^@/]*@/, '$1***@');
}

export function isNatsArtifactRef(ref: string): boolean {
  try {
    parseNatsArtifactRef(ref);
    return true;
  } catch {
    return false;
  }
}

/** Download an object-store artifact to a local file and return its path. */
export async function fetchNatsArtifact(ref: string, destDir = join(modelsDir(), 'artifacts')): Promise<string> {
  const { servers, bucket, object, user, pass, token } = parseNatsArtifactRef(ref);
  const safe = object.replace(/[^A-Za-z0-9._-]+/g, '_');
  const dest = join(destDir, bucket.replace(/[^A-Za-z0-9._-]+/g, '_'), safe.toLowerCase().endsWith('.gguf') ? safe : `${safe}.gguf`);
  mkdirSync(dirname(dest), { recursive: true });
  const partial = `${dest}.partial`;
  const nc = await connect({ servers, timeout: 10_000, ...(user !== undefined ? { user, pass } : {}), ...(token ? { token } : {}) });
  try {
    const store = await new Objm(nc).open(bucket);
    const got = await store.get(object);
    if (!got) throw new Error(`object "${object}" not found in bucket "${bucket}" at ${servers}`);
    await got.data.pipeTo(Writable.toWeb(createWriteStream(partial)) as WritableStream<Uint8Array>);
    const err = await got.error;
    if (err) throw new Error(`reading "${object}" from bucket "${bucket}" failed: ${err.message}`);
    renameSync(partial, dest);
    return dest;
  } catch (err) {
    rmSync(partial, { force: true });
    throw err;
  } finally {
    await nc.close();
  }
}
