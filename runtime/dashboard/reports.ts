// Run reports on disk, for the dashboard: `troupe synth` writes `<run dir>/synth/report.md` +
// funnel.svg, `troupe evolve` `<run dir>/evolve/report.md` + curves, `troupe train`
// `<runs dir>/train-*/report.md` + curves. A report is named by its folder relative to the runs
// directory ("<run>" or "<run>/<sub>"); names and file names are checked before any path is built,
// and the resolved path must stay inside the runs directory (symlinks included).
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';

const SEGMENT = '[A-Za-z0-9][A-Za-z0-9._-]{0,127}';
export const REPORT_ID = new RegExp(`^${SEGMENT}(/${SEGMENT})?$`);
/** Files a report may show beside its markdown: the SVG plots it links. */
export const REPORT_FILE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}\.svg$/;
const MAX_MARKDOWN_BYTES = 2 * 1024 * 1024;
const MAX_SVG_BYTES = 8 * 1024 * 1024;
const MAX_LISTED = 200;

export interface ReportInfo {
  id: string;
  run: string;
  /** synth | evolve | train | the sub-folder's name. */
  kind: string;
  title: string;
  mtimeMs: number;
  plots: string[];
}

export class ReportError extends Error {
  constructor(readonly status: 400 | 404 | 413, message: string) {
    super(message);
  }
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function titleOf(md: string, fallback: string): string {
  const m = /^#\s+(.+)$/m.exec(md.slice(0, 4096));
  return m ? m[1].trim().slice(0, 200) : fallback;
}

/** Reports under `runsRoot`, newest first. */
export function listReports(runsRoot: string): ReportInfo[] {
  if (!existsSync(runsRoot)) return [];
  const found: ReportInfo[] = [];
  const consider = (id: string, dir: string, run: string, kind: string) => {
    const file = join(dir, 'report.md');
    let st;
    try {
      st = statSync(file);
    } catch {
      return;
    }
    if (!st.isFile()) return;
    const head = readFileSync(file, 'utf8').slice(0, 4096);
    const plots = readdirSync(dir).filter((f) => REPORT_FILE.test(f)).sort();
    found.push({ id, run, kind, title: titleOf(head, id), mtimeMs: st.mtimeMs, plots });
  };
  for (const run of readdirSync(runsRoot)) {
    if (!new RegExp(`^${SEGMENT}$`).test(run)) continue;
    const runDir = join(runsRoot, run);
    if (!isDir(runDir)) continue;
    consider(run, runDir, run, run.startsWith('train-') ? 'train' : 'report');
    for (const sub of readdirSync(runDir)) {
      // Stores and logs of a run are not reports; skip them without reading.
      if (['nats', 'logs', 'spans', 'checkpoint'].includes(sub) || !new RegExp(`^${SEGMENT}$`).test(sub)) continue;
      const d = join(runDir, sub);
      if (isDir(d)) consider(`${run}/${sub}`, d, run, sub);
    }
  }
  return found.sort((a, b) => b.mtimeMs - a.mtimeMs).slice(0, MAX_LISTED);
}

/** The report folder for `id`, after checking the name and that it resolves inside `runsRoot`. */
function reportDir(runsRoot: string, id: string): string {
  if (!REPORT_ID.test(id) || id.split('/').some((s) => s === '.' || s === '..')) throw new ReportError(400, 'report: not a report id ("<run>" or "<run>/<folder>")');
  let root: string;
  let dir: string;
  try {
    root = realpathSync(runsRoot);
    dir = realpathSync(join(runsRoot, id));
  } catch {
    throw new ReportError(404, `no report ${id}`);
  }
  if (!dir.startsWith(root + sep)) throw new ReportError(404, `no report ${id}`);
  return dir;
}

function readBounded(file: string, max: number, what: string): Buffer {
  let st;
  try {
    st = statSync(file);
  } catch {
    throw new ReportError(404, `no ${what}`);
  }
  if (!st.isFile()) throw new ReportError(404, `no ${what}`);
  if (st.size > max) throw new ReportError(413, `${what} is ${st.size} bytes, over the dashboard's limit of ${max}`);
  return readFileSync(file);
}

export function readReport(runsRoot: string, id: string): { id: string; markdown: string; plots: string[] } {
  const dir = reportDir(runsRoot, id);
  const markdown = readBounded(join(dir, 'report.md'), MAX_MARKDOWN_BYTES, `report.md in ${id}`).toString('utf8');
  return { id, markdown, plots: readdirSync(dir).filter((f) => REPORT_FILE.test(f)).sort() };
}

export function readReportFile(runsRoot: string, id: string, file: string): Buffer {
  if (!REPORT_FILE.test(file)) throw new ReportError(400, 'file: only the report\'s .svg plots are served');
  const dir = reportDir(runsRoot, id);
  let real: string;
  try {
    real = realpathSync(join(dir, file));
  } catch {
    throw new ReportError(404, `no ${file} in ${id}`);
  }
  if (!real.startsWith(dir + sep)) throw new ReportError(404, `no ${file} in ${id}`);
  return readBounded(real, MAX_SVG_BYTES, `${file} in ${id}`);
}
