import { describe, expect, it } from 'vitest';
import type { SpanRecord } from '../../runtime/tracing/span-record.ts';
import {
  buildTraceTree,
  flattenTree,
  parseSpanLines,
  renderSequence,
  renderTree,
  selectTrace,
  summarizeTraces,
  traceIdsByAttribute,
  treeToJson,
} from '../../runtime/tracing/tree.ts';

const T = '4bf92f3577b34da6a3ce929d0e0e4736';
let n = 0;
function span(spanId: string, parent: string | undefined, name: string, startMs: number, proc: [string, number], extra: Partial<SpanRecord> = {}): SpanRecord {
  n++;
  return {
    traceId: T, spanId, ...(parent ? { parentSpanId: parent } : {}), name, kind: 'internal',
    startMs, endMs: startMs + 1, durationMs: 1, status: { code: 'unset' }, attributes: {},
    resource: { service: proc[0], role: proc[0], pid: proc[1] }, ...extra,
  };
}
const P: [string, number] = ['producer', 1];
const R: [string, number] = ['relay', 2];
const S: [string, number] = ['sink', 3];

// A relay whose clock runs ahead: its child spans start *before* the producer's publish by wall time.
const spans: SpanRecord[] = [
  span('s5', 's4', 'process b', 1000.5, S, { kind: 'consumer', attributes: { 'troupe.message.kind': 'task.accepted' } }),
  span('s2', 's1', 'publish a', 1000.2, P, { kind: 'producer' }),
  span('s4', 's3', 'publish b', 999.0, R, { kind: 'producer' }),
  span('s3', 's2', 'process a', 998.9, R, { kind: 'consumer' }),
  span('s1', undefined, 'root', 1000.0, P),
  span('s6b', 's5', 'llm m', 1000.9, S, { attributes: { 'gen_ai.request.model': 'm', 'gen_ai.usage.input_tokens': 5 } }),
  span('s6a', 's5', 'tool t', 1000.6, S, { status: { code: 'error', message: 'boom' } }),
  span('x1', undefined, 'other trace', 5, P, { traceId: 'ffff' + T.slice(4) }),
];

describe('trace tree', () => {
  it('parses lines, reporting bad ones with their place', () => {
    const text = [JSON.stringify(spans[0]), '', '{"traceId":"a"}', 'not json', JSON.stringify(spans[1])].join('\n');
    const { spans: got, errors } = parseSpanLines(text, 'f.jsonl');
    expect(got.map((s) => s.spanId)).toEqual(['s5', 's2']);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(/^f\.jsonl:3: not a span record/);
    expect(errors[1]).toMatch(/^f\.jsonl:4: /);
  });

  it('selects a trace by unique prefix and refuses ambiguous or unknown ones', () => {
    expect(selectTrace(spans, '4BF9').spans).toHaveLength(7);
    expect(selectTrace(spans, 'ffff').spans.map((s) => s.spanId)).toEqual(['x1']);
    const both = [...spans, { ...spans[0], traceId: '4bf9' + '0'.repeat(28), spanId: 'zz' }];
    expect(() => selectTrace(both, '4bf9')).toThrow(/ambiguous/);
    expect(() => selectTrace(spans, 'abc')).toThrow(/no trace with id starting "abc" among 2 trace/);
    expect(() => selectTrace(spans, 'xyz!')).toThrow(/not a trace id/);
  });

  it('orders causally (parent before child) even when clocks disagree, siblings by start', () => {
    const t = selectTrace(spans, T).spans;
    const flat = flattenTree(buildTraceTree(t)).map(({ node, depth }) => `${depth} ${node.span.name}`);
    expect(flat).toEqual(['0 root', '1 publish a', '2 process a', '3 publish b', '4 process b', '5 tool t', '5 llm m']);
  });

  it('keeps spans whose parent is missing as marked roots, and drops duplicate span ids', () => {
    const t = selectTrace(spans, T).spans.filter((s) => s.spanId !== 's2');
    const roots = buildTraceTree([...t, t[0]]);
    expect(roots.map((r) => [r.span.name, r.orphan])).toEqual([['process a', true], ['root', false]]);
    expect(flattenTree(roots)).toHaveLength(6);
    expect(renderTree(T, roots)).toMatch(/… process a/);
    expect(renderTree(T, roots)).toMatch(/parent span not found/);
  });

  it('renders a tree with process, offset, duration and key attributes', () => {
    const out = renderTree(T, buildTraceTree(selectTrace(spans, T).spans)).split('\n');
    expect(out[0]).toBe(`trace ${T}  7 spans, 3 processes, 3.00ms`);
    expect(out[1]).toMatch(/^root\s+producer#1\s+\+1\.10ms\s+1\.00ms$/);
    expect(out[5]).toMatch(/^         └─ process b\s+sink#3 .* kind=task\.accepted$/);
    expect(out[6]).toMatch(/├─ tool t .* ERROR: boom$/);
    expect(out[7]).toMatch(/└─ llm m .* model=m in_tok=5$/);
  });

  it('renders a sequence with an arrow per cross-process hop', () => {
    const out = renderSequence(T, selectTrace(spans, T).spans);
    expect(out).toContain('lanes: [0] relay#2  [1] producer#1  [2] sink#3');
    expect(out).toMatch(/\[1\] ──▶ \[0\] process a/);
    expect(out).toMatch(/\[0\] ──▶ \[2\] process b  \(hop 1\.50ms\)/);
    expect(out.split('\n').filter((l) => l.includes('──▶'))).toHaveLength(2);
  });

  it('finds traces by attribute value', () => {
    expect(traceIdsByAttribute(spans, 'troupe.message.kind', 'task.accepted')).toEqual([T]);
    expect(traceIdsByAttribute(spans, 'gen_ai.usage.input_tokens', '5')).toEqual([T]);
    expect(traceIdsByAttribute(spans, 'troupe.message.kind', 'nope')).toEqual([]);
  });

  it('summarises traces newest first and emits nested JSON', () => {
    const sum = summarizeTraces(spans);
    expect(sum.map((s) => [s.traceId.slice(0, 4), s.spans, s.processes, s.root, s.errors])).toEqual([
      ['4bf9', 7, 3, 'root', 1],
      ['ffff', 1, 1, 'other trace', 0],
    ]);
    const json = treeToJson(buildTraceTree(selectTrace(spans, T).spans)) as Array<{ spanId: string; children: unknown[] }>;
    expect(json).toHaveLength(1);
    expect(json[0].spanId).toBe('s1');
    expect(JSON.stringify(json)).toContain('"spanId":"s6b"');
  });
});
