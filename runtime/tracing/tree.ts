// Pure functions behind `troupe trace`: parse span lines, pick one trace, order it causally, render.
import type { SpanRecord } from './span-record.ts';

export interface ParsedSpans {
  spans: SpanRecord[];
  /** Lines that were not span records, as "source:line: reason". */
  errors: string[];
}

function isSpanRecord(v: unknown): v is SpanRecord {
  const r = v as SpanRecord;
  return !!r && typeof r === 'object' && typeof r.traceId === 'string' && typeof r.spanId === 'string' &&
    typeof r.name === 'string' && typeof r.startMs === 'number' && typeof r.endMs === 'number';
}

/** Parse a JSONL span file's text. Bad lines are reported, never silently dropped. */
export function parseSpanLines(text: string, source = '<input>'): ParsedSpans {
  const spans: SpanRecord[] = [];
  const errors: string[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    try {
      const v = JSON.parse(line);
      if (isSpanRecord(v)) {
        spans.push({ ...v, resource: v.resource ?? { service: 'unknown' }, attributes: v.attributes ?? {} });
      } else errors.push(`${source}:${i + 1}: not a span record (needs traceId, spanId, name, startMs, endMs)`);
    } catch (err) {
      errors.push(`${source}:${i + 1}: ${(err as Error).message}`);
    }
  });
  return { spans, errors };
}

export interface TraceSummary {
  traceId: string;
  spans: number;
  processes: number;
  startMs: number;
  durationMs: number;
  /** Name of the earliest root span. */
  root: string;
  errors: number;
}

/** One line per trace in the spans, newest first. */
export function summarizeTraces(spans: SpanRecord[]): TraceSummary[] {
  const by = groupByTrace(spans);
  const out: TraceSummary[] = [];
  for (const [traceId, list] of by) {
    const start = Math.min(...list.map((s) => s.startMs));
    const end = Math.max(...list.map((s) => s.endMs));
    const ids = new Set(list.map((s) => s.spanId));
    const roots = list.filter((s) => !s.parentSpanId || !ids.has(s.parentSpanId)).sort((a, b) => a.startMs - b.startMs);
    out.push({
      traceId,
      spans: list.length,
      processes: new Set(list.map(processKey)).size,
      startMs: start,
      durationMs: round3(end - start),
      root: roots[0]?.name ?? '?',
      errors: list.filter((s) => s.status?.code === 'error').length,
    });
  }
  return out.sort((a, b) => b.startMs - a.startMs);
}

function groupByTrace(spans: SpanRecord[]): Map<string, SpanRecord[]> {
  const by = new Map<string, SpanRecord[]>();
  for (const s of spans) {
    const list = by.get(s.traceId);
    if (list) list.push(s);
    else by.set(s.traceId, [s]);
  }
  return by;
}

/** The spans of the one trace whose id starts with `idPrefix` (case-insensitive). Throws when none or several match. */
export function selectTrace(spans: SpanRecord[], idPrefix: string): { traceId: string; spans: SpanRecord[] } {
  const prefix = idPrefix.trim().toLowerCase();
  if (!/^[0-9a-f]{1,32}$/.test(prefix)) throw new Error(`"${idPrefix}" is not a trace id (1-32 hex digits)`);
  const by = groupByTrace(spans);
  const ids = [...by.keys()].filter((id) => id.startsWith(prefix));
  if (ids.length === 0) throw new Error(`no trace with id starting "${prefix}" among ${by.size} trace(s)`);
  if (ids.length > 1) {
    throw new Error(`trace id prefix "${prefix}" is ambiguous: ${ids.slice(0, 5).join(', ')}${ids.length > 5 ? ', ...' : ''}`);
  }
  return { traceId: ids[0], spans: by.get(ids[0])! };
}

/**
 * Trace ids of spans whose attribute `key` equals `value` (e.g. `messaging.message.id`,
 * `troupe.task.id`), so a trace can be found from an id seen in a dataset record or `troupe watch`.
 */
export function traceIdsByAttribute(spans: SpanRecord[], key: string, value: string): string[] {
  const ids = new Set<string>();
  for (const s of spans) {
    const v = s.attributes?.[key];
    if (v !== undefined && (Array.isArray(v) ? v.map(String).includes(value) : String(v) === value)) ids.add(s.traceId);
  }
  return [...ids];
}

export interface TraceNode {
  span: SpanRecord;
  children: TraceNode[];
  /** The span names a parent that is not in the files (lost with a killed process, or still open). */
  orphan: boolean;
}

const bySpanStart = (a: TraceNode, b: TraceNode) =>
  a.span.startMs - b.span.startMs || a.span.endMs - b.span.endMs || a.span.spanId.localeCompare(b.span.spanId);

/**
 * Arrange one trace's spans as a forest in causal order: every parent before its children,
 * siblings by start time. Duplicate span ids (a file read twice) are kept once.
 */
export function buildTraceTree(spans: SpanRecord[]): TraceNode[] {
  const nodes = new Map<string, TraceNode>();
  for (const s of spans) if (!nodes.has(s.spanId)) nodes.set(s.spanId, { span: s, children: [], orphan: false });
  const roots: TraceNode[] = [];
  for (const n of nodes.values()) {
    const parent = n.span.parentSpanId ? nodes.get(n.span.parentSpanId) : undefined;
    if (parent && parent !== n) parent.children.push(n);
    else {
      n.orphan = !!n.span.parentSpanId;
      roots.push(n);
    }
  }
  const sortRec = (list: TraceNode[]) => {
    list.sort(bySpanStart);
    for (const n of list) sortRec(n.children);
  };
  sortRec(roots);
  return roots;
}

/** Depth-first, parent-before-child order of a forest. */
export function flattenTree(roots: TraceNode[]): Array<{ node: TraceNode; depth: number }> {
  const out: Array<{ node: TraceNode; depth: number }> = [];
  const walk = (n: TraceNode, depth: number) => {
    out.push({ node: n, depth });
    for (const c of n.children) walk(c, depth + 1);
  };
  for (const r of roots) walk(r, 0);
  return out;
}

export function processKey(s: SpanRecord): string {
  const r = s.resource ?? { service: 'unknown' };
  return `${r.role ?? r.service}#${r.pid ?? '?'}`;
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

export function formatDuration(ms: number): string {
  if (ms < 1) return `${(ms * 1000).toFixed(0)}µs`;
  if (ms < 1000) return `${ms.toFixed(ms < 10 ? 2 : 1)}ms`;
  return `${(ms / 1000).toFixed(2)}s`;
}

/** Attributes worth a glance in the terminal, in this order, with short labels. */
const KEY_ATTRS: Array<[string, string]> = [
  ['troupe.message.kind', 'kind'],
  ['messaging.message.id', 'msg'],
  ['messaging.message.body.size', 'bytes'],
  ['troupe.delivery.count', 'delivery'],
  ['troupe.delivery', 'delivery'],
  ['troupe.implementation', 'impl'],
  ['troupe.impl', 'impl'],
  ['troupe.duplicate', 'duplicate'],
  ['troupe.task.id', 'task'],
  ['troupe.dialogue.id', 'dialogue'],
  ['gen_ai.request.model', 'model'],
  ['gen_ai.usage.input_tokens', 'in_tok'],
  ['gen_ai.usage.output_tokens', 'out_tok'],
  ['gen_ai.tool.name', 'tool'],
  ['troupe.tool.domain', 'domain'],
];

export function keyAttributes(s: SpanRecord): string {
  const parts: string[] = [];
  for (const [k, label] of KEY_ATTRS) {
    const v = s.attributes?.[k];
    if (v !== undefined && v !== '') parts.push(`${label}=${Array.isArray(v) ? v.join(',') : String(v)}`);
  }
  if (s.status?.code === 'error') parts.push(`ERROR${s.status.message ? `: ${s.status.message}` : ''}`);
  return parts.join(' ');
}

export interface RenderOptions {
  /** Show absolute wall-clock start times instead of offsets from the trace start. */
  absolute?: boolean;
}

/** The trace as an indented tree, one span per line. */
export function renderTree(traceId: string, roots: TraceNode[], opts: RenderOptions = {}): string {
  const flat = flattenTree(roots);
  if (flat.length === 0) return `trace ${traceId}: no spans`;
  const spans = flat.map((f) => f.node.span);
  const t0 = Math.min(...spans.map((s) => s.startMs));
  const t1 = Math.max(...spans.map((s) => s.endMs));
  const procs = new Set(spans.map(processKey));
  const lines = [`trace ${traceId}  ${spans.length} spans, ${procs.size} processes, ${formatDuration(t1 - t0)}`];
  const labels: string[] = [];
  const walk = (n: TraceNode, prefix: string, last: boolean, top: boolean) => {
    const branch = top ? '' : last ? '└─ ' : '├─ ';
    labels.push(`${prefix}${branch}${n.orphan ? '… ' : ''}${n.span.name}`);
    const childPrefix = top ? '' : prefix + (last ? '   ' : '│  ');
    n.children.forEach((c, i) => walk(c, childPrefix, i === n.children.length - 1, false));
  };
  roots.forEach((r) => walk(r, '', true, true));
  const width = Math.min(72, Math.max(...labels.map((l) => [...l].length)));
  const procWidth = Math.max(...[...procs].map((p) => p.length));
  flat.forEach(({ node }, i) => {
    const s = node.span;
    const when = opts.absolute ? new Date(s.startMs).toISOString().slice(11, 23) : `+${formatDuration(s.startMs - t0)}`;
    const label = labels[i];
    const pad = ' '.repeat(Math.max(1, width - [...label].length + 1));
    const attrs = keyAttributes(s);
    lines.push(`${label}${pad} ${processKey(s).padEnd(procWidth)}  ${when.padStart(9)}  ${formatDuration(s.durationMs ?? s.endMs - s.startMs).padStart(8)}${attrs ? '  ' + attrs : ''}`);
  });
  if (roots.some((r) => r.orphan)) lines.push('… = parent span not found in the span files (process killed before flushing, or span still open)');
  return lines.join('\n');
}

/**
 * The trace as a sequence: spans in start order, each in its process's lane, and an arrow for
 * every hop between processes (a span whose parent ran in another process).
 */
export function renderSequence(traceId: string, spans: SpanRecord[]): string {
  if (spans.length === 0) return `trace ${traceId}: no spans`;
  const ordered = flattenTree(buildTraceTree(spans)).map((f) => f.node.span).sort((a, b) => a.startMs - b.startMs);
  const byId = new Map(ordered.map((s) => [s.spanId, s]));
  const lanes: string[] = [];
  for (const s of ordered) if (!lanes.includes(processKey(s))) lanes.push(processKey(s));
  const t0 = ordered[0].startMs;
  const lines = [`trace ${traceId}  sequence across ${lanes.length} processes`, `lanes: ${lanes.map((l, i) => `[${i}] ${l}`).join('  ')}`];
  for (const s of ordered) {
    const lane = lanes.indexOf(processKey(s));
    const parent = s.parentSpanId ? byId.get(s.parentSpanId) : undefined;
    const when = `+${formatDuration(s.startMs - t0)}`.padStart(10);
    const indent = '    '.repeat(lane);
    if (parent && processKey(parent) !== processKey(s)) {
      const from = lanes.indexOf(processKey(parent));
      const hop = formatDuration(s.startMs - parent.startMs);
      lines.push(`${when}  ${indent}[${from}] ──▶ [${lane}] ${s.name}  (hop ${hop})`);
    } else {
      lines.push(`${when}  ${indent}[${lane}] ${s.name}  ${formatDuration(s.durationMs ?? s.endMs - s.startMs)}`);
    }
  }
  return lines.join('\n');
}

/** Nested JSON form for `--json`. */
export function treeToJson(roots: TraceNode[]): unknown[] {
  const conv = (n: TraceNode): unknown => ({ ...n.span, orphan: n.orphan || undefined, children: n.children.map(conv) });
  return roots.map(conv);
}
