// A small line diff in unified format, for `troupe instructions diff` and the evolver's reports.
// Longest-common-subsequence over lines: prompts and plans are short, so O(n·m) is fine and keeps the
// code obvious. Not meant for large files (inputs above MAX_CELLS are refused with a clear error).

export interface DiffOptions {
  fromLabel?: string;
  toLabel?: string;
  /** Unchanged lines shown around each change (3, like diff -u). */
  context?: number;
}

type Op = { kind: ' ' | '-' | '+'; line: string; a: number; b: number };

const MAX_CELLS = 25_000_000;

function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Edit script turning `a` into `b`; each op carries its 0-based positions in a and b. */
function editScript(a: string[], b: string[]): Op[] {
  const n = a.length;
  const m = b.length;
  if ((n + 1) * (m + 1) > MAX_CELLS) throw new Error(`diff: inputs too large (${n} × ${m} lines)`);
  // lcs[i][j] = LCS length of a[i..] and b[j..], stored row-major.
  const w = m + 1;
  const lcs = new Uint32Array((n + 1) * w);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * w + j] = a[i] === b[j] ? lcs[(i + 1) * w + j + 1] + 1 : Math.max(lcs[(i + 1) * w + j], lcs[i * w + j + 1]);
    }
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) ops.push({ kind: ' ', line: a[i], a: i++, b: j++ });
    else if (lcs[(i + 1) * w + j] >= lcs[i * w + j + 1]) ops.push({ kind: '-', line: a[i], a: i++, b: j });
    else ops.push({ kind: '+', line: b[j], a: i, b: j++ });
  }
  while (i < n) ops.push({ kind: '-', line: a[i], a: i++, b: j });
  while (j < m) ops.push({ kind: '+', line: b[j], a: i, b: j++ });
  return ops;
}

function range(start: number, len: number): string {
  // diff -u convention: 1-based start; an empty range names the line before it.
  const s = len === 0 ? start : start + 1;
  return len === 1 ? `${s}` : `${s},${len}`;
}

/** Unified diff of two texts; '' when they are equal. */
export function unifiedDiff(from: string, to: string, opts: DiffOptions = {}): string {
  const ctx = opts.context ?? 3;
  const ops = editScript(splitLines(from), splitLines(to));
  const changed = ops.flatMap((op, k) => (op.kind === ' ' ? [] : [k]));
  if (!changed.length) return '';
  // Group changes whose surrounding context windows touch into one hunk.
  const hunks: Array<[number, number]> = [];
  for (const k of changed) {
    const lo = Math.max(0, k - ctx);
    const hi = Math.min(ops.length - 1, k + ctx);
    const last = hunks[hunks.length - 1];
    if (last && lo <= last[1] + 1) last[1] = hi;
    else hunks.push([lo, hi]);
  }
  const out = [`--- ${opts.fromLabel ?? 'a'}`, `+++ ${opts.toLabel ?? 'b'}`];
  for (const [lo, hi] of hunks) {
    const body = ops.slice(lo, hi + 1);
    const aLen = body.filter((o) => o.kind !== '+').length;
    const bLen = body.filter((o) => o.kind !== '-').length;
    out.push(`@@ -${range(body[0].a, aLen)} +${range(body[0].b, bLen)} @@`);
    for (const o of body) out.push(o.kind + o.line);
  }
  return out.join('\n') + '\n';
}
