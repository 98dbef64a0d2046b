// The on-disk form of one finished span: one JSON object per line in `<runDir>/spans/*.jsonl`.
// Times are Unix epoch milliseconds with fractional microseconds (startMs, endMs, durationMs).
import { SpanKind, SpanStatusCode, type Attributes, type HrTime } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { redactAttributes, redactText } from './redact.ts';

export type SpanKindName = 'internal' | 'server' | 'client' | 'producer' | 'consumer';
export type SpanStatusName = 'unset' | 'ok' | 'error';

export interface SpanResourceInfo {
  service: string;
  role?: string;
  instance?: string;
  pid?: number;
  host?: string;
}

export interface SpanRecord {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: SpanKindName;
  /** Epoch milliseconds (fractional). */
  startMs: number;
  endMs: number;
  durationMs: number;
  status: { code: SpanStatusName; message?: string };
  attributes: Record<string, unknown>;
  events?: Array<{ name: string; timeMs: number; attributes?: Record<string, unknown> }>;
  links?: Array<{ traceId: string; spanId: string }>;
  resource: SpanResourceInfo;
}

const KIND_NAMES: Record<number, SpanKindName> = {
  [SpanKind.INTERNAL]: 'internal',
  [SpanKind.SERVER]: 'server',
  [SpanKind.CLIENT]: 'client',
  [SpanKind.PRODUCER]: 'producer',
  [SpanKind.CONSUMER]: 'consumer',
};

const STATUS_NAMES: Record<number, SpanStatusName> = {
  [SpanStatusCode.UNSET]: 'unset',
  [SpanStatusCode.OK]: 'ok',
  [SpanStatusCode.ERROR]: 'error',
};

export function hrTimeToMs(t: HrTime): number {
  return t[0] * 1e3 + Math.round(t[1] / 1e3) / 1e3;
}

/** Resource attribute names Troupe sets (OTel semantic conventions where one exists). */
export const ResourceAttr = {
  service: 'service.name',
  role: 'troupe.role',
  instance: 'service.instance.id',
  pid: 'process.pid',
  host: 'host.name',
} as const;

export function resourceInfo(attrs: Attributes): SpanResourceInfo {
  const str = (k: string) => (attrs[k] === undefined ? undefined : String(attrs[k]));
  const pid = attrs[ResourceAttr.pid];
  return {
    service: str(ResourceAttr.service) ?? 'unknown',
    role: str(ResourceAttr.role),
    instance: str(ResourceAttr.instance),
    pid: typeof pid === 'number' ? pid : pid === undefined ? undefined : Number(pid),
    host: str(ResourceAttr.host),
  };
}

/** Convert a finished SDK span to its redacted line form. */
export function toSpanRecord(span: ReadableSpan, resource?: SpanResourceInfo): SpanRecord {
  const ctx = span.spanContext();
  const startMs = hrTimeToMs(span.startTime);
  const endMs = hrTimeToMs(span.endTime);
  const rec: SpanRecord = {
    traceId: ctx.traceId,
    spanId: ctx.spanId,
    parentSpanId: span.parentSpanContext?.spanId,
    name: redactText(span.name),
    kind: KIND_NAMES[span.kind] ?? 'internal',
    startMs,
    endMs,
    durationMs: Math.round((endMs - startMs) * 1e3) / 1e3,
    status: { code: STATUS_NAMES[span.status.code] ?? 'unset' },
    attributes: redactAttributes(span.attributes) as Record<string, unknown>,
    resource: resource ?? resourceInfo(span.resource.attributes as Attributes),
  };
  if (rec.parentSpanId === undefined) delete rec.parentSpanId;
  if (span.status.message) rec.status.message = redactText(span.status.message);
  if (span.events.length) {
    rec.events = span.events.map((e) => ({
      name: e.name,
      timeMs: hrTimeToMs(e.time),
      ...(e.attributes ? { attributes: redactAttributes(e.attributes) as Record<string, unknown> } : {}),
    }));
  }
  if (span.links.length) {
    rec.links = span.links.map((l) => ({ traceId: l.context.traceId, spanId: l.context.spanId }));
  }
  return rec;
}
