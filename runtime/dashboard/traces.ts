// Traces for the dashboard, from a run's span files through the same code as `troupe trace`
// (runtime/tracing/tree.ts): the list of traces, and one trace as rows in causal order with depth,
// process, offset and duration, which the page draws as a tree beside a timeline.
import { existsSync, realpathSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import { readSpanFiles, spanFilesOfRun } from '../tracing/span-files.ts';
import { buildTraceTree, flattenTree, keyAttributes, processKey, selectTrace, summarizeTraces, type TraceSummary } from '../tracing/tree.ts';

export const RUN_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const TRACE_ID = /^[0-9a-f]{1,32}$/;

export class TraceError extends Error {
  constructor(readonly status: 400 | 404, message: string) {
    super(message);
  }
}

/** The run directory `run` under `runsRoot`, checked by name and by where it resolves. */
export function runDirOf(runsRoot: string, run: string): string {
  if (!RUN_NAME.test(run)) throw new TraceError(400, 'run: a run id (letters, digits, . _ -, at most 128)');
  let root: string;
  let dir: string;
  try {
    root = realpathSync(runsRoot);
    dir = realpathSync(join(runsRoot, run));
  } catch {
    throw new TraceError(404, `no run ${run}`);
  }
  if (!dir.startsWith(root + sep) || !statSync(dir).isDirectory()) throw new TraceError(404, `no run ${run}`);
  return dir;
}

function files(runDir: string): string[] {
  return existsSync(join(runDir, 'spans')) ? spanFilesOfRun(runDir) : [];
}

export async function listTraces(runDir: string, limit: number): Promise<{ traces: TraceSummary[]; total: number; unreadableLines: number }> {
  const { spans, errors } = await readSpanFiles(files(runDir));
  const all = summarizeTraces(spans);
  return { traces: all.slice(0, limit), total: all.length, unreadableLines: errors.length };
}

export interface TraceRow {
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: string;
  depth: number;
  /** The parent span is not in the files (a killed process, or a span still open). */
  orphan: boolean;
  process: string;
  offsetMs: number;
  durationMs: number;
  attrs: string;
  error?: string;
}

export interface TraceView {
  traceId: string;
  durationMs: number;
  processes: string[];
  rows: TraceRow[];
}

export async function readTrace(runDir: string, idPrefix: string): Promise<TraceView> {
  const prefix = idPrefix.toLowerCase();
  if (!TRACE_ID.test(prefix)) throw new TraceError(400, 'id: a trace id or its prefix (1-32 hex digits)');
  const { spans } = await readSpanFiles(files(runDir), { traceIdPrefix: prefix });
  let picked;
  try {
    picked = selectTrace(spans, prefix);
  } catch (err) {
    throw new TraceError(/ambiguous/.test((err as Error).message) ? 400 : 404, (err as Error).message);
  }
  const flat = flattenTree(buildTraceTree(picked.spans));
  const t0 = Math.min(...flat.map((f) => f.node.span.startMs));
  const t1 = Math.max(...flat.map((f) => f.node.span.endMs));
  const rows = flat.map(({ node, depth }): TraceRow => {
    const s = node.span;
    return {
      spanId: s.spanId,
      parentSpanId: s.parentSpanId,
      name: s.name,
      kind: s.kind,
      depth,
      orphan: node.orphan,
      process: processKey(s),
      offsetMs: s.startMs - t0,
      durationMs: s.durationMs ?? s.endMs - s.startMs,
      attrs: keyAttributes(s),
      error: s.status?.code === 'error' ? (s.status.message ?? 'error') : undefined,
    };
  });
  return { traceId: picked.traceId, durationMs: t1 - t0, processes: [...new Set(rows.map((r) => r.process))], rows };
}
