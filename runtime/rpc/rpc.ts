// Request/reply over core NATS for the scene's calls (agent turn, user turn, tool batch). Bodies are
// the runtime's envelope, validated against the kind's schema on both ends; trace context rides in
// the headers. Failures come back as a `dialogue.rpc-error` envelope, so the caller can tell a role's
// failure (→ agent_error / user_error) from the plumbing's (→ infrastructure_error).
import { randomUUID } from 'node:crypto';
import { headers as natsHeaders, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { context } from '@opentelemetry/api';
import { decodeEnvelope, type Envelope, type MessageDef, type Sender, validateData } from '../../protocols/envelope.ts';
import { KIND_HEADER } from '../../protocols/subjects.ts';
import { RpcFailed, type RpcError } from '../../protocols/dialogue.ts';
import { extractTraceContext, injectTraceHeaders } from '../tracing/index.ts';
import { InfrastructureError } from './errors.ts';

/** A handler's own failure that is the plumbing's, not the role's (e.g. the model server is down). */
export class ServiceUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ServiceUnavailableError';
  }
}

function encode<T>(def: MessageDef<T>, data: T, from: Sender, causedBy?: string): string {
  const v = validateData(def, data);
  if (!v.ok) throw new Error(`refusing to send an invalid ${def.kind}: ${v.reason}`);
  const env: Envelope<T> = { id: randomUUID(), kind: def.kind, v: def.version, from, sentAt: Date.now(), causedBy, data: v.data };
  return JSON.stringify(env);
}

function headersFor(kind: string) {
  const h = natsHeaders();
  h.set(KIND_HEADER, kind);
  injectTraceHeaders(h);
  return h;
}

export interface RpcCallOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  from: Sender;
}

/** Send a request and wait for its validated reply. Transport failures and timeouts are InfrastructureErrors. */
export async function callRpc<Q, R>(
  nc: NatsConnection,
  subject: string,
  reqDef: MessageDef<Q>,
  data: Q,
  replyDef: MessageDef<R>,
  opts: RpcCallOptions,
): Promise<R> {
  const body = encode(reqDef, data, opts.from);
  if (opts.signal?.aborted) throw new Error('aborted');
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new Error('aborted'));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
  });
  let msg: Msg;
  try {
    msg = await Promise.race([nc.request(subject, body, { timeout: opts.timeoutMs, headers: headersFor(reqDef.kind) }), aborted]);
  } catch (e) {
    if (opts.signal?.aborted) throw e;
    throw new InfrastructureError(`${reqDef.kind} on ${subject}: ${(e as Error).message}`, { cause: e });
  } finally {
    if (onAbort) opts.signal?.removeEventListener('abort', onAbort);
  }
  const decoded = decodeEnvelope<unknown>(msg.data);
  if (!decoded.ok) throw new InfrastructureError(`invalid reply to ${reqDef.kind}: ${decoded.reason}`);
  if (decoded.envelope.kind === RpcFailed.kind) {
    const err = decoded.envelope.data as RpcError;
    throw err.infrastructure ? new InfrastructureError(err.message) : new Error(err.message);
  }
  if (decoded.envelope.kind !== replyDef.kind) {
    throw new InfrastructureError(`reply to ${reqDef.kind} has kind ${decoded.envelope.kind}, expected ${replyDef.kind}`);
  }
  return decoded.envelope.data as R;
}

/** Publish a one-way envelope (no reply expected), e.g. a broadcast to every replica. */
export async function publishEnvelope<T>(nc: NatsConnection, subject: string, def: MessageDef<T>, data: T, from: Sender): Promise<void> {
  nc.publish(subject, encode(def, data, from), { headers: headersFor(def.kind) });
  await nc.flush();
}

export interface RpcServer {
  /** Requests answered (successfully or with an rpc-error). */
  readonly handled: number;
  stop(): Promise<void>;
}

export interface ServeOptions<Q, R> {
  subject: string;
  /** Queue group: replicas share the load; omit for a broadcast subscriber. */
  queue?: string;
  reqDef: MessageDef<Q>;
  /** Omit for a one-way subscriber (no reply is sent). */
  replyDef?: MessageDef<R>;
  from: Sender;
  handler: (data: Q, env: Envelope<Q>) => Promise<R>;
  /** Called with each invalid request (already answered with an rpc-error). */
  onInvalid?: (reason: string) => void;
}

/** Answer requests on `subject`. Invalid requests get an rpc-error reply naming what was wrong. */
export function serveRpc<Q, R>(nc: NatsConnection, opts: ServeOptions<Q, R>): RpcServer {
  let handled = 0;
  const inflight = new Set<Promise<void>>();
  const reply = (m: Msg, body: string, kind: string) => {
    if (m.reply) m.respond(body, { headers: headersFor(kind) });
  };
  const fail = (m: Msg, message: string, infrastructure: boolean, causedBy?: string) =>
    reply(m, encode(RpcFailed, { message, infrastructure }, opts.from, causedBy), RpcFailed.kind);

  const sub: Subscription = nc.subscribe(opts.subject, {
    queue: opts.queue,
    callback: (err, m) => {
      if (err) return;
      const work = (async () => {
        const decoded = decodeEnvelope<Q>(m.data, opts.reqDef.kind);
        if (!decoded.ok) {
          opts.onInvalid?.(decoded.reason);
          fail(m, `invalid ${opts.reqDef.kind} request: ${decoded.reason}`, false);
          return;
        }
        const env = decoded.envelope;
        await context.with(extractTraceContext(m.headers), async () => {
          try {
            const out = await opts.handler(env.data, env);
            if (opts.replyDef) reply(m, encode(opts.replyDef, out, opts.from, env.id), opts.replyDef.kind);
          } catch (e) {
            const infra = e instanceof ServiceUnavailableError || e instanceof InfrastructureError;
            fail(m, (e as Error).message ?? String(e), infra, env.id);
          }
        });
      })().finally(() => {
        handled++;
        inflight.delete(work);
      });
      inflight.add(work);
    },
  });

  return {
    get handled() {
      return handled;
    },
    async stop() {
      sub.unsubscribe();
      await Promise.allSettled([...inflight]);
    },
  };
}
