// Finding and reading the span files of a run (`<runDir>/spans/*.jsonl`).
import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseSpanLines, type ParsedSpans } from './tree.ts';

/**
 * Newest run directory under `runsRoot` that has a `spans/` folder (by the later of the run folder's
 * and its spans folder's modification time), or undefined when there is none.
 */
export function newestRunDir(runsRoot: string): string | undefined {
  if (!existsSync(runsRoot)) return undefined;
  let best: { dir: string; mtime: number } | undefined;
  for (const name of readdirSync(runsRoot)) {
    const dir = join(runsRoot, name);
    const spans = join(dir, 'spans');
    let mtime: number;
    try {
      if (!statSync(dir).isDirectory() || !existsSync(spans)) continue;
      mtime = Math.max(statSync(dir).mtimeMs, statSync(spans).mtimeMs);
    } catch {
      continue;
    }
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

export interface ReadSpanOptions {
  /**
   * Keep only lines whose text holds `"traceId":"<prefix>` (our writer puts traceId first, compact),
   * so one trace can be pulled out of a large run without parsing every line.
   */
  traceIdPrefix?: string;
}

/** Read span files line by line (files of any size). Unparseable lines are reported in `errors`. */
export async function readSpanFiles(files: string[], opts: ReadSpanOptions = {}): Promise<ParsedSpans> {
  const out: ParsedSpans = { spans: [], errors: [] };
  const needle = opts.traceIdPrefix ? `"traceId":"${opts.traceIdPrefix.toLowerCase()}` : undefined;
  for (const f of files) {
    const rl = createInterface({ input: createReadStream(f, 'utf8'), crlfDelay: Infinity });
    let lineNo = 0;
    for await (const line of rl) {
      lineNo++;
      if (needle && line.includes('"traceId":"') && !line.includes(needle)) continue;
      const { spans, errors } = parseSpanLines(line, `${f}`);
      out.spans.push(...spans);
      for (const e of errors) out.errors.push(e.replace(/:1: /, `:${lineNo}: `));
    }
  }
  return out;
}
