// Troupe tracing: OpenTelemetry spans for publish / consume / handler / LLM / tool, W3C trace context
// in NATS headers, a redacted JSONL span file per process under the run dir, optional OTLP/HTTP.
//
// Usage (one process hosting a role):
//
//   import { headers } from '@nats-io/transport-node';
//   import { initTracing, withPublishSpan, withConsumeSpan, withHandlerSpan } from './index.ts';
//
//   const tracing = initTracing({ serviceName: 'critic', role: 'critic', instanceId, runDir });
//   // publish: the PRODUCER span's context goes into the headers
//   const h = headers();
//   withPublishSpan(subject, h, { kind: env.kind, messageId: env.id, size: data.length },
//     () => nc.publish(subject, data, { headers: h }));
//   // consume: the CONSUMER span is a child of the sender's publish span (from msg.headers)
//   await withConsumeSpan(msg.subject, msg.headers, { kind, messageId, size: msg.data.length }, () =>
//     withHandlerSpan('critic', kind, undefined, async () => { ...; /* publishes here join the trace */ }));
//   // on exit
//   await tracing.shutdown();
//
// LLM and tool calls: withLlmSpan({ model, system }, async (span) => { ...; recordLlmUsage(span, {...}) }),
// withToolSpan({ tool, domain }, () => ...). Generic: withSpan(name, { kind, attributes }, fn, parentCtx?).
// Secrets never reach a span file or OTLP: attributes pass through redactAttributes (see redact.ts);
// use redactText / redactObject for log lines too.
export { initTracing, currentTracing, otlpTracesUrl, spanFilePath, TRACER_NAME } from './setup.ts';
export type { TracingOptions, TracingHandle } from './setup.ts';
export { injectTraceHeaders, extractTraceContext, traceIdFromHeaders, activeTraceId } from './propagation.ts';
export type { HeaderCarrier } from './propagation.ts';
export {
  withSpan,
  withPublishSpan,
  withConsumeSpan,
  withHandlerSpan,
  withLlmSpan,
  recordLlmUsage,
  withToolSpan,
  tracer,
  Attr,
} from './spans.ts';
export type { SpanOptions, MessageSpanInfo, LlmSpanInfo, ToolSpanInfo } from './spans.ts';
export { redactText, redactAttributes, redactObject, redactValue, isSecretKey, REDACTED } from './redact.ts';
export type { SpanRecord, SpanKindName, SpanStatusName, SpanResourceInfo } from './span-record.ts';
export { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
export type { Span, Context, Attributes } from '@opentelemetry/api';
