// Span helpers for the five things Troupe traces: publish, consume, handler, LLM call, tool call.
// Each runs `fn` inside the new span's context (so nested spans and NATS publishes inherit it), ends
// the span when fn returns or its promise settles, and records a thrown error on the span.
import {
  context,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
} from '@opentelemetry/api';
import type { MsgHdrs } from '@nats-io/transport-node';
import { extractTraceContext, injectTraceHeaders, type HeaderCarrier } from './propagation.ts';
import { redactText } from './redact.ts';
import { TRACER_NAME } from './setup.ts';

/** Attribute names used on Troupe spans (OTel semantic conventions where one exists). */
export const Attr = {
  messagingSystem: 'messaging.system',
  destination: 'messaging.destination.name',
  operation: 'messaging.operation.type',
  messageId: 'messaging.message.id',
  bodySize: 'messaging.message.body.size',
  consumerGroup: 'messaging.consumer.group.name',
  deliveryCount: 'troupe.delivery.count',
  messageKind: 'troupe.message.kind',
  role: 'troupe.role',
  instance: 'troupe.instance',
  implementation: 'troupe.implementation',
  taskId: 'troupe.task.id',
  dialogueId: 'troupe.dialogue.id',
  llmSystem: 'gen_ai.system',
  llmOperation: 'gen_ai.operation.name',
  llmModel: 'gen_ai.request.model',
  llmResponseModel: 'gen_ai.response.model',
  llmMaxTokens: 'gen_ai.request.max_tokens',
  llmTemperature: 'gen_ai.request.temperature',
  llmInputTokens: 'gen_ai.usage.input_tokens',
  llmOutputTokens: 'gen_ai.usage.output_tokens',
  llmFinishReason: 'gen_ai.response.finish_reasons',
  toolName: 'gen_ai.tool.name',
  toolDomain: 'troupe.tool.domain',
  toolCallId: 'gen_ai.tool.call.id',
  toolError: 'troupe.tool.error',
} as const;

export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  links?: Link[];
  /** Start a new trace even if a span is active. */
  root?: boolean;
}

export function tracer() {
  return trace.getTracer(TRACER_NAME);
}

/**
 * Epoch ms with sub-ms precision. The SDK stamps span starts with Date.now() (whole ms), which
 * would tie sibling spans that start within one millisecond and lose their order; we pass explicit
 * start and end times instead.
 */
export function preciseNowMs(): number {
  return performance.timeOrigin + performance.now();
}

function isThenable<T>(v: unknown): v is PromiseLike<T> {
  return !!v && typeof (v as { then?: unknown }).then === 'function';
}

function fail(span: Span, err: unknown): void {
  const e = err instanceof Error ? err : new Error(String(err));
  span.recordException({ name: e.name, message: redactText(e.message), stack: e.stack ? redactText(e.stack) : undefined });
  span.setStatus({ code: SpanStatusCode.ERROR, message: redactText(e.message) });
}

/**
 * Run `fn` inside a new span named `name`, child of `parentContext` (default: the active context).
 * Works for sync and async fn; returns what fn returns.
 */
export function withSpan<T>(name: string, opts: SpanOptions, fn: (span: Span) => T, parentContext?: Context): T {
  const parent = parentContext ?? context.active();
  const span = tracer().startSpan(name, { kind: opts.kind ?? SpanKind.INTERNAL, attributes: opts.attributes, links: opts.links, root: opts.root, startTime: preciseNowMs() }, parent);
  const ctx = trace.setSpan(parent, span);
  let result: T;
  try {
    result = context.with(ctx, fn, undefined, span);
  } catch (err) {
    fail(span, err);
    span.end(preciseNowMs());
    throw err;
  }
  if (isThenable(result)) {
    return (result as unknown as Promise<unknown>).then(
      (v) => {
        span.end(preciseNowMs());
        return v;
      },
      (err) => {
        fail(span, err);
        span.end(preciseNowMs());
        throw err;
      },
    ) as T;
  }
  span.end(preciseNowMs());
  return result;
}

export interface MessageSpanInfo {
  /** Message kind from the envelope, e.g. "task.proposed". */
  kind?: string;
  messageId?: string;
  /** Payload size in bytes. */
  size?: number;
  role?: string;
  instance?: string;
  attributes?: Attributes;
}

function messageAttrs(subject: string, operation: string, info: MessageSpanInfo): Attributes {
  const a: Attributes = {
    [Attr.messagingSystem]: 'nats',
    [Attr.destination]: subject,
    [Attr.operation]: operation,
  };
  if (info.kind) a[Attr.messageKind] = info.kind;
  if (info.messageId) a[Attr.messageId] = info.messageId;
  if (info.size !== undefined) a[Attr.bodySize] = info.size;
  if (info.role) a[Attr.role] = info.role;
  if (info.instance) a[Attr.instance] = info.instance;
  return { ...a, ...info.attributes };
}

/**
 * PRODUCER span "publish <subject>": injects its context into `headers` before running `fn`, so the
 * caller publishes with those headers and the consumer's span becomes its child.
 *
 *   const h = headers();
 *   withPublishSpan(subject, h, { kind, messageId, size }, () => nc.publish(subject, data, { headers: h }));
 */
export function withPublishSpan<T>(subject: string, headers: HeaderCarrier | MsgHdrs, info: MessageSpanInfo, fn: (span: Span) => T): T {
  return withSpan(`publish ${subject}`, { kind: SpanKind.PRODUCER, attributes: messageAttrs(subject, 'publish', info) }, (span) => {
    injectTraceHeaders(headers);
    return fn(span);
  });
}

/**
 * CONSUMER span "process <subject>", child of the trace context found in the message headers (a new
 * trace when there is none). Everything `fn` does — handler spans, publishes — joins that trace.
 */
export function withConsumeSpan<T>(subject: string, headers: HeaderCarrier | MsgHdrs | undefined, info: MessageSpanInfo, fn: (span: Span) => T): T {
  // Parent comes only from the message, never from whatever happens to be active in the subscriber loop.
  const parent = extractTraceContext(headers, trace.deleteSpan(context.active()));
  return withSpan(`process ${subject}`, { kind: SpanKind.CONSUMER, attributes: messageAttrs(subject, 'process', info) }, fn, parent);
}

/** INTERNAL span "handle <role> <kind>": one role's handling of one message (machine step). */
export function withHandlerSpan<T>(role: string, messageKind: string, attributes: Attributes | undefined, fn: (span: Span) => T): T {
  return withSpan(`handle ${role} ${messageKind}`, {
    kind: SpanKind.INTERNAL,
    attributes: { [Attr.role]: role, [Attr.messageKind]: messageKind, ...attributes },
  }, fn);
}

export interface LlmSpanInfo {
  model: string;
  /** Provider / server kind: "openai", "llama.cpp", "vllm"... */
  system?: string;
  operation?: string;
  maxTokens?: number;
  temperature?: number;
  attributes?: Attributes;
}

/** CLIENT span "llm <model>". Record usage afterwards with `recordLlmUsage(span, ...)`. Prompts are not recorded. */
export function withLlmSpan<T>(info: LlmSpanInfo, fn: (span: Span) => T): T {
  const a: Attributes = {
    [Attr.llmModel]: info.model,
    [Attr.llmSystem]: info.system ?? 'openai',
    [Attr.llmOperation]: info.operation ?? 'chat',
  };
  if (info.maxTokens !== undefined) a[Attr.llmMaxTokens] = info.maxTokens;
  if (info.temperature !== undefined) a[Attr.llmTemperature] = info.temperature;
  return withSpan(`llm ${info.model}`, { kind: SpanKind.CLIENT, attributes: { ...a, ...info.attributes } }, fn);
}

export function recordLlmUsage(span: Span, usage: { inputTokens?: number; outputTokens?: number; finishReason?: string; responseModel?: string }): void {
  if (usage.inputTokens !== undefined) span.setAttribute(Attr.llmInputTokens, usage.inputTokens);
  if (usage.outputTokens !== undefined) span.setAttribute(Attr.llmOutputTokens, usage.outputTokens);
  if (usage.finishReason) span.setAttribute(Attr.llmFinishReason, [usage.finishReason]);
  if (usage.responseModel) span.setAttribute(Attr.llmResponseModel, usage.responseModel);
}

export interface ToolSpanInfo {
  tool: string;
  domain?: string;
  callId?: string;
  attributes?: Attributes;
}

/** INTERNAL span "tool <name>": one tool call against a domain environment. Arguments are not recorded. */
export function withToolSpan<T>(info: ToolSpanInfo, fn: (span: Span) => T): T {
  const a: Attributes = { [Attr.toolName]: info.tool };
  if (info.domain) a[Attr.toolDomain] = info.domain;
  if (info.callId) a[Attr.toolCallId] = info.callId;
  return withSpan(`tool ${info.tool}`, { kind: SpanKind.INTERNAL, attributes: { ...a, ...info.attributes } }, fn);
}
