// Pure pieces of `troupe watch`: turn a raw NATS message into a MessageEvent, format it for the
// terminal, and keep running per-kind statistics. Parsing is lenient: a body that is not an
// envelope still shows up (subject, size), it just has no latency or sender.
import type { MessageEvent } from './types.ts';

/** Header names and subject layout from protocols/subjects.ts, repeated here as plain data so this stays pure. */
export interface WatchSubjects {
  kindHeader: string;
  messagePrefix: string;
  deadLetterPrefix: string;
}

export interface RawMessage {
  subject: string;
  data: Uint8Array;
  headers?: { get(k: string): string } | undefined;
}

const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}/;

function peekJson(data: Uint8Array): Record<string, unknown> | undefined {
  if (data.length === 0 || data[0] !== 0x7b /* { */) return undefined;
  try {
    const v = JSON.parse(new TextDecoder().decode(data));
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** One watched message as an event; `nowMs` is the receive time. */
export function eventFromMessage(m: RawMessage, nowMs: number, subjects: WatchSubjects): MessageEvent {
  const body = peekJson(m.data);
  const header = (k: string) => m.headers?.get(k) || '';
  const isDeadLetter = m.subject.startsWith(`${subjects.deadLetterPrefix}.`);
  const subjectKind = m.subject.startsWith(`${subjects.messagePrefix}.`)
    ? m.subject.slice(subjects.messagePrefix.length + 1)
    : isDeadLetter
      ? `dead-letter ${m.subject.slice(subjects.deadLetterPrefix.length + 1)}`
      : '';
  const envKind = typeof body?.kind === 'string' ? body.kind : '';
  const kind = isDeadLetter ? subjectKind : header(subjects.kindHeader) || envKind || subjectKind || '?';
  const sentAt = typeof body?.sentAt === 'number' ? body.sentAt : isDeadLetter && typeof body?.at === 'number' ? body.at : undefined;
  const from = body?.from as { role?: unknown } | undefined;
  const by = body?.by as { role?: unknown } | undefined;
  const sender = isDeadLetter ? by?.role : from?.role;
  const tp = TRACEPARENT.exec(header('traceparent'));
  const ev: MessageEvent = {
    subject: m.subject,
    kind,
    size: m.data.length,
    latencyMs: sentAt === undefined ? NaN : Math.max(0, nowMs - sentAt),
    traceId: tp ? tp[1] : '',
    time: nowMs,
  };
  if (typeof sender === 'string') ev.senderRole = sender;
  if (typeof body?.id === 'string') ev.messageId = body.id;
  if (isDeadLetter && typeof body?.reason === 'string') ev.detail = body.reason;
  else if (!body) ev.detail = 'not a JSON envelope';
  return ev;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n}B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)}kB`;
  return `${(n / 1024 / 1024).toFixed(1)}MB`;
}

export function formatLatency(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  if (ms < 1000) return `${ms.toFixed(ms < 10 ? 1 : 0)}ms`;
  return `${(ms / 1000).toFixed(1)}s`;
}

/** One terminal line: time, subject, kind, size, latency, sender, short trace id, detail. */
export function formatWatchLine(ev: MessageEvent, opts: { subjectWidth?: number; kindWidth?: number } = {}): string {
  const t = new Date(ev.time).toISOString().slice(11, 23);
  const cols = [
    t,
    ev.subject.padEnd(opts.subjectWidth ?? 32),
    ev.kind.padEnd(opts.kindWidth ?? 20),
    formatBytes(ev.size).padStart(7),
    formatLatency(ev.latencyMs).padStart(7),
    (ev.senderRole ? `from=${ev.senderRole}` : '').padEnd(18),
    ev.traceId ? `trace=${ev.traceId.slice(0, 12)}` : '',
  ];
  let line = cols.join('  ').trimEnd();
  if (ev.detail) line += `  ! ${ev.detail}`;
  return line;
}

/** JSON line form (NaN latency becomes null). */
export function watchEventJson(ev: MessageEvent): string {
  return JSON.stringify({ ...ev, latencyMs: Number.isFinite(ev.latencyMs) ? ev.latencyMs : null });
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Running counts per kind; latencies kept in a bounded reservoir so a long watch stays small. */
export class WatchStats {
  private readonly kinds = new Map<string, { count: number; bytes: number; lat: number[] }>();
  private total = 0;
  constructor(private readonly reservoir = 10_000) {}

  add(ev: MessageEvent): void {
    this.total++;
    let k = this.kinds.get(ev.kind);
    if (!k) this.kinds.set(ev.kind, (k = { count: 0, bytes: 0, lat: [] }));
    k.count++;
    k.bytes += ev.size;
    if (Number.isFinite(ev.latencyMs)) {
      if (k.lat.length < this.reservoir) k.lat.push(ev.latencyMs);
      else {
        const j = Math.floor(Math.random() * k.count);
        if (j < this.reservoir) k.lat[j] = ev.latencyMs;
      }
    }
  }

  rows(): Array<{ kind: string; count: number; bytes: number; p50: number; p99: number }> {
    return [...this.kinds.entries()]
      .map(([kind, k]) => {
        const s = [...k.lat].sort((a, b) => a - b);
        return { kind, count: k.count, bytes: k.bytes, p50: percentile(s, 50), p99: percentile(s, 99) };
      })
      .sort((a, b) => b.count - a.count || a.kind.localeCompare(b.kind));
  }

  summary(): string {
    const rows = this.rows();
    if (!rows.length) return 'no messages seen';
    const w = Math.max(4, ...rows.map((r) => r.kind.length));
    return [
      `${this.total} message(s)`,
      `${'KIND'.padEnd(w)}  ${'COUNT'.padStart(7)}  ${'BYTES'.padStart(8)}  ${'P50'.padStart(7)}  ${'P99'.padStart(7)}`,
      ...rows.map((r) => `${r.kind.padEnd(w)}  ${String(r.count).padStart(7)}  ${formatBytes(r.bytes).padStart(8)}  ${formatLatency(r.p50).padStart(7)}  ${formatLatency(r.p99).padStart(7)}`),
    ].join('\n');
  }
}
