// Hands the learner's current policy to the actors: export it as GGUF, put it into the NATS object
// store (chunked by the object store client, with step / policy version / sha256 as object metadata),
// and ask each model server to reload from the resulting `nats://…/bucket/object` reference.
// A failed notification is reported, never thrown: a model server that is down must not stop training.
import { createHash } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Objm } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats, type NatsSettings } from '../../runtime/nats/connect.ts';
import { exportGguf } from '../../nn/model/export.ts';
import type { GgufFile } from '../../nn/model/gguf-read.ts';
import type { LlamaModel } from '../../nn/model/llama.ts';
import { redactArtifactRef } from '../../llm/server/artifact.ts';
import { natsRefBase } from './nats-ref.ts';

export interface PublishOptions {
  /** An open connection, or settings to open (and close) one for this publish. */
  nc?: NatsConnection;
  nats?: NatsSettings;
  /**
   * How model servers reach NATS, for the reference (`nats://[cred@]host:port`). Default: the
   * first URL of `nats`, with its user/pass or token.
   */
  refServer?: NatsSettings;
  bucket: string;
  /** Object name, e.g. `actor/v12-step120.f16.gguf` ("/" allowed). */
  name: string;
  /** Publish this GGUF file as is … */
  ggufPath?: string;
  /** … or export this model first (LoRA merged). */
  model?: LlamaModel;
  /** GGUF whose tokenizer and chat template go into the export (the model server needs them). */
  source?: GgufFile;
  dtype?: 'F16' | 'F32' | 'Q8_0';
  step?: number;
  policyVersion?: number;
}

export interface Published {
  /** Reference for `POST /admin/reload {"artifact": ref}`; carries credentials when NATS needs them. */
  ref: string;
  /** The same without credentials, for logs. */
  redacted: string;
  bucket: string;
  object: string;
  /** Hex SHA-256 of the GGUF bytes. */
  sha256: string;
  /** The object store's own digest (`SHA-256=…`, base64). */
  digest: string;
  bytes: number;
}

export { natsRefBase };

export function artifactRef(base: string, bucket: string, object: string): string {
  return `${base}/${encodeURIComponent(bucket)}/${object.split('/').map(encodeURIComponent).join('/')}`;
}

function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path).on('data', (b) => h.update(b)).on('error', reject).on('end', () => resolve(h.digest('hex')));
  });
}

export async function publishWeights(opts: PublishOptions): Promise<Published> {
  if (!opts.nc && !opts.nats) throw new Error('publishWeights: give nc or nats settings');
  if (!opts.ggufPath === !opts.model) throw new Error('publishWeights: give exactly one of ggufPath or model');
  const refServer = opts.refServer ?? opts.nats;
  if (!refServer) throw new Error('publishWeights: with an open connection, give refServer (how model servers reach NATS)');
  let tmp: string | undefined;
  let nc = opts.nc;
  const own = !nc;
  try {
    let path = opts.ggufPath!;
    if (opts.model) {
      tmp = mkdtempSync(join(tmpdir(), 'troupe-publish-'));
      path = join(tmp, 'weights.gguf');
      exportGguf(opts.model, path, { dtype: opts.dtype ?? 'F16', source: opts.source, name: opts.name });
    }
    const bytes = statSync(path).size;
    const sha256 = await sha256File(path);
    nc ??= await connectNats(opts.nats!);
    const store = await new Objm(nc).create(opts.bucket, { storage: 'file' as any });
    const metadata: Record<string, string> = { sha256, format: opts.model ? `gguf-${(opts.dtype ?? 'F16').toLowerCase()}` : 'gguf', publishedAt: new Date().toISOString() };
    if (opts.step !== undefined) metadata.step = String(opts.step);
    if (opts.policyVersion !== undefined) metadata.policyVersion = String(opts.policyVersion);
    const info = await store.put(
      { name: opts.name, description: `troupe policy ${JSON.stringify(metadata)}`, metadata },
      Readable.toWeb(createReadStream(path)) as ReadableStream<Uint8Array>,
    );
    if (info.size !== bytes) throw new Error(`object store holds ${info.size} bytes of "${opts.name}", the file has ${bytes}`);
    const ref = artifactRef(natsRefBase(refServer), opts.bucket, opts.name);
    return { ref, redacted: redactArtifactRef(ref), bucket: opts.bucket, object: opts.name, sha256, digest: info.digest, bytes };
  } finally {
    if (own && nc) await nc.close().catch(() => {});
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
}

/** Deletes all but the newest `keep` published objects whose names start with `prefix`. */
export async function prunePublished(nc: NatsConnection, bucket: string, prefix: string, keep: number): Promise<string[]> {
  const store = await new Objm(nc).open(bucket);
  const mine = (await store.list()).filter((o) => o.name.startsWith(prefix) && !o.deleted);
  mine.sort((a, b) => (a.mtime < b.mtime ? -1 : a.mtime > b.mtime ? 1 : 0));
  const drop = mine.slice(0, Math.max(0, mine.length - keep)).map((o) => o.name);
  for (const n of drop) await store.delete(n);
  return drop;
}

export interface NotifyResult {
  url: string;
  ok: boolean;
  status?: number;
  /** The server's reload answer (path, load_ms, …) or the error text. */
  body?: unknown;
  error?: string;
  ms: number;
}

/** POSTs the reload to every model server in parallel; one result per server, never throws. */
export async function notifyModelServers(urls: string[], ref: string, opts: { timeoutMs?: number } = {}): Promise<NotifyResult[]> {
  return Promise.all(urls.map(async (raw): Promise<NotifyResult> => {
    const url = raw.replace(/\/+$/, '').replace(/\/v1$/, '');
    const t0 = Date.now();
    try {
      const res = await fetch(`${url}/admin/reload`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ artifact: ref }),
        signal: AbortSignal.timeout(opts.timeoutMs ?? 120_000),
      });
      const text = await res.text();
      let body: unknown = text;
      try { body = JSON.parse(text); } catch { /* keep the text */ }
      const out: NotifyResult = { url, ok: res.ok, status: res.status, body, ms: Date.now() - t0 };
      if (!res.ok) out.error = `HTTP ${res.status}: ${typeof body === 'object' && body && 'error' in body ? JSON.stringify((body as { error: unknown }).error) : text.slice(0, 300)}`;
      return out;
    } catch (err) {
      // fetch() says only "fetch failed"; the cause names the refused connection or the timeout.
      const cause = (err as { cause?: { message?: string } }).cause?.message;
      return { url, ok: false, error: cause ? `${(err as Error).message}: ${cause}` : (err as Error).message, ms: Date.now() - t0 };
    }
  }));
}

export interface PublishConfig {
  nats?: string;
  bucket: string;
  name?: string;
  every: number;
  dtype: 'F16' | 'F32' | 'Q8_0';
  modelServers: string[];
  keep: number;
}

/** Connection settings from the config URL (credentials in it win) and the TROUPE_NATS_* environment. */
export function publishNatsSettings(cfg: PublishConfig, env: NodeJS.ProcessEnv = process.env): NatsSettings {
  const url = cfg.nats ?? env.TROUPE_NATS_URL;
  if (!url) throw new Error('publish: no NATS URL (set publish.nats or TROUPE_NATS_URL)');
  const m = /^((?:nats|tls):\/\/)?(?:([^@/]*)@)?(.+)$/.exec(url.trim())!;
  const s: NatsSettings = { url: `${m[1] ?? 'nats://'}${m[3]}`, user: env.TROUPE_NATS_USER, pass: env.TROUPE_NATS_PASS, token: env.TROUPE_NATS_TOKEN, name: 'troupe-learner-publish' };
  if (m[2]) {
    const i = m[2].indexOf(':');
    if (i >= 0) Object.assign(s, { user: decodeURIComponent(m[2].slice(0, i)), pass: decodeURIComponent(m[2].slice(i + 1)), token: undefined });
    else Object.assign(s, { token: decodeURIComponent(m[2]), user: undefined, pass: undefined });
  }
  return s;
}

export interface PublishRecord {
  step: number;
  policyVersion: number;
  ok: boolean;
  ref?: string;
  sha256?: string;
  bytes?: number;
  publishMs?: number;
  error?: string;
  servers: NotifyResult[];
  pruned: string[];
}

/** One NATS connection for a whole run; publishes, notifies and prunes. Never throws from publish(). */
export class PolicyPublisher {
  private constructor(private readonly nc: NatsConnection, private readonly settings: NatsSettings, readonly cfg: PublishConfig, readonly prefix: string, private readonly source?: GgufFile) {}

  static async open(cfg: PublishConfig, prefix: string, source?: GgufFile): Promise<PolicyPublisher> {
    const settings = publishNatsSettings(cfg);
    let nc: NatsConnection;
    try {
      nc = await connectNats(settings);
    } catch (err) {
      throw new Error(`publish: cannot connect to NATS at ${settings.url}: ${(err as Error).message}`);
    }
    return new PolicyPublisher(nc, settings, cfg, prefix.replace(/\/+$/, ''), source);
  }

  objectName(step: number, policyVersion: number): string {
    return `${this.prefix}/v${policyVersion}-step${step}.${this.cfg.dtype.toLowerCase()}.gguf`;
  }

  async publish(model: LlamaModel, step: number, policyVersion: number): Promise<PublishRecord> {
    const t0 = Date.now();
    const rec: PublishRecord = { step, policyVersion, ok: false, servers: [], pruned: [] };
    try {
      const p = await publishWeights({ nc: this.nc, refServer: this.settings, bucket: this.cfg.bucket, name: this.objectName(step, policyVersion), model, source: this.source, dtype: this.cfg.dtype, step, policyVersion });
      Object.assign(rec, { ok: true, ref: p.redacted, sha256: p.sha256, bytes: p.bytes, publishMs: Date.now() - t0 });
      rec.servers = await notifyModelServers(this.cfg.modelServers, p.ref);
      // Prune only after the servers have fetched the new object, so none is left pointing at a deleted one.
      if (this.cfg.keep > 0) rec.pruned = await prunePublished(this.nc, this.cfg.bucket, `${this.prefix}/`, this.cfg.keep);
    } catch (err) {
      rec.error = (err as Error).message;
    }
    return rec;
  }

  async close(): Promise<void> {
    await this.nc.close().catch(() => {});
  }
}
