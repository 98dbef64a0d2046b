// Wraps any SpanExporter (OTLP/HTTP here) so spans are redacted before they leave the process.
import type { Attributes } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { redactAttributes, redactText } from './redact.ts';

export function redactSpan(span: ReadableSpan): ReadableSpan {
  return {
    name: redactText(span.name),
    kind: span.kind,
    spanContext: () => span.spanContext(),
    parentSpanContext: span.parentSpanContext,
    startTime: span.startTime,
    endTime: span.endTime,
    status: span.status.message ? { ...span.status, message: redactText(span.status.message) } : span.status,
    attributes: redactAttributes(span.attributes),
    links: span.links.map((l) => (l.attributes ? { ...l, attributes: redactAttributes(l.attributes) } : l)),
    events: span.events.map((e) => (e.attributes ? { ...e, attributes: redactAttributes(e.attributes as Attributes) } : e)),
    duration: span.duration,
    ended: span.ended,
    resource: span.resource,
    instrumentationScope: span.instrumentationScope,
    droppedAttributesCount: span.droppedAttributesCount,
    droppedEventsCount: span.droppedEventsCount,
    droppedLinksCount: span.droppedLinksCount,
  };
}

/**
 * Wraps an exporter: spans are redacted first, and failed exports are reported on stderr (the first
 * one, then at most once a minute with a count) instead of vanishing silently.
 */
export class RedactingSpanExporter implements SpanExporter {
  private failedSpans = 0;
  private failedExports = 0;
  private lastWarnMs = -Infinity;

  constructor(
    private readonly inner: SpanExporter,
    private readonly label = 'OTLP',
    private readonly warn: (msg: string) => void = (m) => console.error(m),
  ) {}

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.inner.export(spans.map(redactSpan), (result) => {
      if (result.code !== ExportResultCode.SUCCESS) this.noteFailure(spans.length, result.error);
      resultCallback(result);
    });
  }

  private noteFailure(n: number, error: Error | undefined): void {
    this.failedSpans += n;
    this.failedExports++;
    const now = Date.now();
    if (now - this.lastWarnMs < 60_000) return;
    this.lastWarnMs = now;
    const why = error ? redactText(error.message) : 'unknown error';
    this.warn(`tracing: ${this.label} failed (${why}); ${this.failedSpans} span(s) dropped in ${this.failedExports} failed export(s) so far. The JSONL span file is unaffected.`);
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush ? this.inner.forceFlush() : Promise.resolve();
  }
}
