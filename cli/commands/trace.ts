// `troupe trace ID`: one trace of a run, read from its span files, as a causal tree or a sequence.
import { parseArgs } from 'node:util';
import { runsDir } from '../../runtime/config/paths.ts';
import { newestRunDir, readSpanFiles, spanFilesOfRun } from '../../runtime/tracing/span-files.ts';
import {
  buildTraceTree,
  formatDuration,
  renderSequence,
  renderTree,
  selectTrace,
  summarizeTraces,
  traceIdsByAttribute,
  treeToJson,
} from '../../runtime/tracing/tree.ts';

const USAGE = `usage: troupe trace ID [--run DIR | --spans FILE...] [--sequence] [--json] [--absolute]
       troupe trace --message MSG_ID | --attr KEY=VALUE [same options]
       troupe trace --list [--run DIR | --spans FILE...] [--json]

Prints one trace (ID may be a unique prefix) from the span files of a run: by default the newest run
under ${'$'}TROUPE_RUNS_DIR (~/.troupe/runs). Tree view: parent before child, siblings by start time,
with process (role#pid), start offset, duration and key attributes.
  --run DIR      run directory (reads DIR/spans/*.jsonl)
  --spans FILE…  span file(s) to read instead (--spans a.jsonl b.jsonl, or repeated)
  --sequence     spans in time order in per-process lanes, with an arrow for every cross-process hop
  --absolute     wall-clock start times instead of offsets
  --message ID   the trace that carried the message with this envelope id
  --attr K=V     the trace holding a span with attribute K equal to V (e.g. troupe.task.id=t-17)
  --list         list the traces in the run (newest first)
  --json         machine-readable output`;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      run: { type: 'string' },
      spans: { type: 'string', multiple: true },
      sequence: { type: 'boolean', default: false },
      absolute: { type: 'boolean', default: false },
      list: { type: 'boolean', default: false },
      message: { type: 'string' },
      attr: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  // `--spans a.jsonl b.jsonl` (the form the docs show): the files after --spans are span files too.
  if (values.spans?.length) {
    const files = positionals.filter((p) => p.endsWith('.jsonl'));
    values.spans.push(...files);
    positionals.splice(0, positionals.length, ...positionals.filter((p) => !p.endsWith('.jsonl')));
  }
  const finder = values.message !== undefined ? `messaging.message.id=${values.message}` : values.attr;
  if (finder !== undefined && !/^[^=]+=.+$/.test(finder)) throw new Error(`--attr needs KEY=VALUE (got "${finder}")`);
  if (!values.list && positionals.length !== (finder === undefined ? 1 : 0)) {
    const why =
      positionals.length === 0
        ? 'give a trace ID (or --list, --message, --attr)'
        : `expected one trace ID, got ${positionals.length} (${positionals.join(' ')})${finder !== undefined ? ' besides --message/--attr' : ''}`;
    console.error(`troupe trace: ${why}\n\n${USAGE}`);
    return 2;
  }

  let files: string[];
  if (values.spans?.length) files = values.spans;
  else {
    const run = values.run ?? newestRunDir(runsDir());
    if (!run) throw new Error(`no run with a spans/ folder under ${runsDir()}; pass --run DIR or --spans FILE`);
    files = spanFilesOfRun(run);
  }
  let prefix = values.list || finder !== undefined ? undefined : positionals[0].trim().toLowerCase();
  const { spans, errors } = await readSpanFiles(files, { traceIdPrefix: prefix });
  if (finder !== undefined) {
    const eq = finder.indexOf('=');
    const ids = traceIdsByAttribute(spans, finder.slice(0, eq), finder.slice(eq + 1));
    if (ids.length === 0) throw new Error(`no span with ${finder} in ${files.length} span file(s)`);
    if (ids.length > 1) throw new Error(`${finder} occurs in ${ids.length} traces: ${ids.slice(0, 5).join(', ')}; pick one with troupe trace ID`);
    prefix = ids[0];
  }
  if (errors.length) {
    console.error(`troupe trace: skipped ${errors.length} unreadable line(s):`);
    for (const e of errors.slice(0, 5)) console.error(`  ${e}`);
  }

  if (values.list) {
    const list = summarizeTraces(spans);
    if (values.json) console.log(JSON.stringify(list, null, 2));
    else {
      console.log(`${list.length} trace(s) in ${files.length} span file(s)`);
      for (const t of list) {
        console.log(`${t.traceId}  ${new Date(t.startMs).toISOString()}  ${String(t.spans).padStart(4)} spans  ${t.processes} proc  ${formatDuration(t.durationMs).padStart(8)}  ${t.root}${t.errors ? `  (${t.errors} error)` : ''}`);
      }
    }
    return 0;
  }

  if (spans.length === 0 && /^[0-9a-f]{1,32}$/.test(prefix ?? '')) {
    throw new Error(`no trace with id starting "${prefix}" in ${files.length} span file(s); try troupe trace --list`);
  }
  const { traceId, spans: traceSpans } = selectTrace(spans, prefix ?? positionals[0]);
  const roots = buildTraceTree(traceSpans);
  if (values.json) console.log(JSON.stringify({ traceId, roots: treeToJson(roots) }, null, 2));
  else if (values.sequence) console.log(renderSequence(traceId, traceSpans));
  else console.log(renderTree(traceId, roots, { absolute: values.absolute }));
  return 0;
}
