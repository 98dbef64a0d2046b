// The bus: publish validated, enveloped messages on JetStream (with dedupe ids and trace headers),
// and dead-letter what fails validation. One per process; roles publish through it.
import { createHash, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import { headers as natsHeaders, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { context, type Context } from '@opentelemetry/api';
import { validateData, type Envelope, type MessageDef, type Sender } from '../../protocols/envelope.ts';
import { deadLetterSubject, KIND_HEADER, MSG_ID_HEADER } from '../../protocols/subjects.ts';
import type { DeadLetter } from '../../protocols/runtime-messages.ts';
import { withPublishSpan } from '../tracing/index.ts';

export class InvalidMessageError extends Error {
  constructor(readonly kind: string, readonly reason: string) {
    super(`invalid ${kind} message: ${reason}`);
    this.name = 'InvalidMessageError';
  }
}

export interface PublishOptions {
  /** Idempotency key: JetStream stores one copy per key within the dedupe window. */
  key?: string;
  /** Message id; defaults to a random UUID (or the key). */
  id?: string;
  causedBy?: string;
  originAt?: number;
  /** The work run the message belongs to (envelope `run`). */
  run?: string;
  /** Context whose span becomes the publish span's parent (default: active context). */
  ctx?: Context;
}

export interface PublishResult {
  id: string;
  seq: number;
  duplicate: boolean;
}

/** Deterministic id of the `index`-th output `role` produced from input `inputId` (same on redelivery). */
export function derivedId(inputId: string, role: string, index: number): string {
  return createHash('sha1').update(`${inputId}\u0000${role}\u0000${index}`).digest('base64url').slice(0, 22);
}

/** Longest id or key an envelope carries (protocols/envelope.ts). */
export const MAX_ID_LENGTH = 200;

/**
 * An id or idempotency key that fits the envelope: unchanged up to MAX_ID_LENGTH, else its first 150
 * characters (still readable in logs) plus a hash of the whole, so distinct long keys stay distinct
 * and the same key always maps to the same bounded one (redelivery dedupe keeps working). τ² telecom
 * task ids alone run past 200 characters.
 */
export function boundedKey(key: string): string {
  if (key.length <= MAX_ID_LENGTH) return key;
  return `${key.slice(0, 150)}~${createHash('sha256').update(key).digest('base64url').slice(0, 43)}`;
}

export class Bus {
  readonly js: JetStreamClient;
  deadLettered = 0;

  constructor(readonly nc: NatsConnection, readonly sender: Sender) {
    this.js = jetstream(nc);
  }

  /** Validate `data` against its kind, wrap it in an envelope and store it on JetStream. */
  async publish<T>(def: MessageDef<T>, data: T, opts: PublishOptions = {}): Promise<PublishResult> {
    const v = validateData(def, data);
    if (!v.ok) {
      await this.deadLetter({
        reason: `publish rejected: ${v.reason}`,
        subject: def.subject,
        kind: def.kind,
        body: safeJson(data),
        headers: {},
      });
      throw new InvalidMessageError(def.kind, v.reason);
    }
    const key = opts.key === undefined ? undefined : boundedKey(opts.key);
    const id = opts.id !== undefined ? boundedKey(opts.id) : (key ?? randomUUID());
    const env: Envelope<T> = {
      id,
      kind: def.kind,
      v: def.version,
      from: this.sender,
      sentAt: Date.now(),
      originAt: opts.originAt,
      causedBy: opts.causedBy,
      key,
      ...(opts.run ? { run: opts.run } : {}),
      data: v.data,
    };
    const body = JSON.stringify(env);
    const h = natsHeaders();
    h.set(KIND_HEADER, def.kind);
    return context.with(opts.ctx ?? context.active(), () =>
      withPublishSpan(def.subject, h, { kind: def.kind, messageId: id, size: body.length, role: this.sender.role, instance: this.sender.instance }, async (span) => {
        const ack = await this.js.publish(def.subject, body, { msgID: key ?? id, headers: h });
        if (ack.duplicate) span.setAttribute('troupe.duplicate', true);
        return { id, seq: ack.seq, duplicate: !!ack.duplicate };
      }),
    );
  }

  /** Store a dead letter on `troupe.dlq.<kind>` and count it. */
  async deadLetter(d: Omit<DeadLetter, 'by' | 'at'>, h?: MsgHdrs, opts: { id?: string } = {}): Promise<void> {
    this.deadLettered++;
    const rec: DeadLetter = {
      ...d,
      body: d.body.length > 65_536 ? d.body.slice(0, 65_536) : d.body,
      headers: Object.keys(d.headers).length ? d.headers : headersToRecord(h),
      by: { role: this.sender.role, instance: this.sender.instance },
      at: Date.now(),
    };
    const hdrs = natsHeaders();
    hdrs.set(KIND_HEADER, 'runtime.dead-letter');
    // With an id, JetStream stores one record per id within the dedupe window.
    await this.js.publish(deadLetterSubject(d.kind), JSON.stringify(rec), { headers: hdrs, ...(opts.id ? { msgID: opts.id } : {}) });
    console.error(`[dlq] ${d.subject}: ${d.reason}`);
  }
}

function safeJson(x: unknown): string {
  try {
    return JSON.stringify(x) ?? String(x);
  } catch {
    return String(x);
  }
}

export function defaultSender(role: string): Sender {
  return { role, instance: `${role}-${hostname()}-${process.pid}` };
}

export function headersToRecord(h: MsgHdrs | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!h) return out;
  for (const k of h.keys()) out[k] = h.get(k);
  return out;
}
