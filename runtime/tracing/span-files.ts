// Finding and reading the span files of a run (`<runDir>/spans/*.jsonl`).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseSpanLines, type ParsedSpans } from './tree.ts';

/** Newest run directory under `runsRoot` (by modification time), or undefined when there is none. */
export function newestRunDir(runsRoot: string): string | undefined {
  if (!existsSync(runsRoot)) return undefined;
  let best: { dir: string; mtime: number } | undefined;
  for (const name of readdirSync(runsRoot)) {
    const dir = join(runsRoot, name);
    let st;
    try {
      st = statSync(dir);
    } catch {
      continue;
    }
    if (!st.isDirectory()) continue;
    // A run's spans folder changes while it runs; prefer its mtime over the run folder's own.
    const spans = join(dir, 'spans');
    const mtime = existsSync(spans) ? Math.max(st.mtimeMs, statSync(spans).mtimeMs) : st.mtimeMs;
    if (!best || mtime > best.mtime) best = { dir, mtime };
  }
  return best?.dir;
}

export function spanFilesOfRun(runDir: string): string[] {
  const dir = join(runDir, 'spans');
  if (!existsSync(dir)) throw new Error(`${runDir} has no spans/ folder (was tracing initialised with this run dir?)`);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .sort()
    .map((f) => join(dir, f));
}

export function readSpanFiles(files: string[]): ParsedSpans {
  const out: ParsedSpans = { spans: [], errors: [] };
  for (const f of files) {
    const { spans, errors } = parseSpanLines(readFileSync(f, 'utf8'), f);
    out.spans.push(...spans);
    out.errors.push(...errors);
  }
  return out;
}
