// W3C trace context across NATS: the active span's context rides in message headers
// (`traceparent`, `tracestate`, `baggage`), so a consumer in another process continues the trace.
import { context, propagation, trace, type Context, type TextMapGetter, type TextMapSetter } from '@opentelemetry/api';
import type { MsgHdrs } from '@nats-io/transport-node';

/** The subset of NATS MsgHdrs this module needs (lets tests and plain maps use it too). */
export interface HeaderCarrier {
  get(k: string): string;
  set(k: string, v: string): void;
  keys(): string[];
}

const setter: TextMapSetter<HeaderCarrier> = {
  set(carrier, key, value) {
    carrier.set(key, value);
  },
};

const getter: TextMapGetter<HeaderCarrier | undefined> = {
  keys: (carrier) => (carrier ? carrier.keys() : []),
  get(carrier, key) {
    if (!carrier) return undefined;
    // NATS returns "" for an absent header; header names may arrive in another case.
    return carrier.get(key) || lookupCaseInsensitive(carrier, key);
  },
};

function lookupCaseInsensitive(carrier: HeaderCarrier, key: string): string | undefined {
  const match = carrier.keys().find((k) => k.toLowerCase() === key.toLowerCase());
  const v = match ? carrier.get(match) : '';
  return v || undefined;
}

/**
 * Write the trace context of `ctx` (default: the active context) into NATS headers. Returns the same
 * headers object for chaining. A no-op when tracing is not initialised.
 */
export function injectTraceHeaders<H extends HeaderCarrier | MsgHdrs>(headers: H, ctx: Context = context.active()): H {
  propagation.inject(ctx, headers as HeaderCarrier, setter);
  return headers;
}

/**
 * Read the trace context carried in NATS headers (undefined headers = none) and return a Context to
 * use as parent. Without a `traceparent` header it returns `base` (default: the active context).
 */
export function extractTraceContext(headers: HeaderCarrier | MsgHdrs | undefined, base: Context = context.active()): Context {
  return propagation.extract(base, headers as HeaderCarrier | undefined, getter);
}

/** The trace id carried by headers, or undefined (for `troupe watch` / logs). */
export function traceIdFromHeaders(headers: HeaderCarrier | MsgHdrs | undefined): string | undefined {
  if (!headers) return undefined;
  const tp = (headers as HeaderCarrier).get('traceparent') || lookupCaseInsensitive(headers as HeaderCarrier, 'traceparent');
  const m = tp ? /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}/.exec(tp) : null;
  return m ? m[1] : undefined;
}

/** Trace id of the active span, or undefined. */
export function activeTraceId(): string | undefined {
  const sc = trace.getActiveSpan()?.spanContext();
  return sc && trace.isSpanContextValid(sc) ? sc.traceId : undefined;
}
