// One item = one trace across three OS processes (producer → relay → sink over a real nats-server),
// and `troupe trace` prints it in causal order.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSpanFiles, spanFilesOfRun } from '../../runtime/tracing/span-files.ts';
import { buildTraceTree, flattenTree } from '../../runtime/tracing/tree.ts';
import type { SpanRecord } from '../../runtime/tracing/span-record.ts';
import { startNatsServer, type TestNatsServer } from './nats-server.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const hop = fileURLToPath(new URL('./fixtures/hop.ts', import.meta.url));
const ITEMS = 3;

function run(args: string[]): { child: ChildProcess; out: () => string; exit: Promise<number | null>; line: (s: string) => Promise<void> } {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters: Array<[string, () => void]> = [];
  child.stdout!.on('data', (d) => {
    out += d;
    for (const [s, r] of waiters) if (out.includes(s)) r();
  });
  child.stderr!.on('data', (d) => (err += d));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => {
    if (code !== 0) console.error(`child ${args.join(' ')} exited ${code}: ${err}`);
    resolve(code);
  }));
  return {
    child,
    out: () => out,
    exit,
    line: (s) => new Promise<void>((resolve, reject) => {
      if (out.includes(s)) return resolve();
      waiters.push([s, resolve]);
      void exit.then(() => reject(new Error(`child exited before printing "${s}": ${err}`)));
    }),
  };
}

describe('trace across three processes', () => {
  let nats: TestNatsServer;
  let runDir: string;
  let spans: SpanRecord[];
  let cli: { out: string; code: number | null };
  let byMessage: { out: string; code: number | null };

  beforeAll(async () => {
    nats = await startNatsServer();
    runDir = mkdtempSync(join(tmpdir(), 'troupe-trace-'));
    const sink = run([hop, 'sink', nats.url, runDir, String(ITEMS)]);
    const relay = run([hop, 'relay', nats.url, runDir, String(ITEMS)]);
    await Promise.all([sink.line('ready'), relay.line('ready')]);
    const producer = run([hop, 'producer', nats.url, runDir, String(ITEMS)]);
    expect(await producer.exit).toBe(0);
    expect(await relay.exit).toBe(0);
    expect(await sink.exit).toBe(0);
    const read = await readSpanFiles(spanFilesOfRun(runDir));
    expect(read.errors).toEqual([]);
    spans = read.spans;
    const someTrace = spans.find((s) => s.name === 'produce item')!.traceId;
    const c = run(['bin/troupe.js', 'trace', someTrace.slice(0, 10), '--run', runDir]);
    cli = { code: await c.exit, out: c.out() };
    const m = run(['bin/troupe.js', 'trace', '--message', 'r1', '--run', runDir, '--json']);
    byMessage = { code: await m.exit, out: m.out() };
  }, 90_000);

  afterAll(async () => {
    await nats?.stop();
    if (runDir) rmSync(runDir, { recursive: true, force: true });
  });

  it('writes one span file per process', () => {
    expect(spanFilesOfRun(runDir).map((f) => f.split('/').pop()!.replace(/-\d+\.jsonl$/, '')).sort()).toEqual(['hop-producer', 'hop-relay', 'hop-sink']);
  });

  it('puts each item in one trace holding spans of three processes, linked parent to child', () => {
    const traceIds = [...new Set(spans.map((s) => s.traceId))];
    expect(traceIds).toHaveLength(ITEMS);
    for (const id of traceIds) {
      const t = spans.filter((s) => s.traceId === id);
      expect(new Set(t.map((s) => s.resource.pid)).size).toBe(3);
      const order = flattenTree(buildTraceTree(t)).map(({ node, depth }) => `${depth}:${node.span.resource.role}:${node.span.name}`);
      expect(order).toEqual([
        '0:producer:produce item',
        '1:producer:publish troupe.test.a',
        '2:relay:process troupe.test.a',
        '3:relay:handle relay test.a',
        '4:relay:publish troupe.test.b',
        '5:sink:process troupe.test.b',
        '6:sink:handle sink test.b',
        '7:sink:tool get_user_details',
        '7:sink:llm smollm2-135m',
        '7:sink:failing step',
      ]);
      const pub = t.find((s) => s.name === 'publish troupe.test.b')!;
      const con = t.find((s) => s.name === 'process troupe.test.b')!;
      expect(con.parentSpanId).toBe(pub.spanId);
      expect(con.kind).toBe('consumer');
      expect(pub.kind).toBe('producer');
      expect(con.attributes['messaging.destination.name']).toBe('troupe.test.b');
      const llm = t.find((s) => s.name.startsWith('llm'))!;
      expect(llm.attributes['gen_ai.usage.input_tokens']).toBe(12);
    }
  });

  it('keeps secrets out of the span files', () => {
    const text = spanFilesOfRun(runDir).map((f) => readFileSync(f, 'utf8')).join('');
    expect(text).not.toContain('sk-live-abcdefghijklmnop');
    expect(text).not.toContain('abc.def.ghi-jkl');
    expect(text).not.toContain('hunter2');
    const produce = spans.find((s) => s.name === 'produce item')!;
    expect(produce.attributes.api_key).toBe('[REDACTED]');
    expect(produce.attributes.note).toBe('auth header was Bearer [REDACTED]');
    const failing = spans.find((s) => s.name === 'failing step')!;
    expect(failing.status).toEqual({ code: 'error', message: 'upstream said: password=[REDACTED]' });
  });

  it('troupe trace --message finds the trace that carried a message id', () => {
    expect(byMessage.code).toBe(0);
    const { traceId, roots } = JSON.parse(byMessage.out);
    const relayPublish = spans.find((s) => s.name === 'publish troupe.test.b' && s.attributes['messaging.message.id'] === 'r1')!;
    expect(traceId).toBe(relayPublish.traceId);
    expect(roots).toHaveLength(1);
    expect(roots[0].name).toBe('produce item');
    expect(roots[0].children[0].children[0].resource.role).toBe('relay');
  });

  it('troupe trace prints the trace as a tree in causal order', () => {
    expect(cli.code).toBe(0);
    const lines = cli.out.trim().split('\n');
    expect(lines[0]).toMatch(/^trace [0-9a-f]{32}  10 spans, 3 processes/);
    const names = ['produce item', 'publish troupe.test.a', 'process troupe.test.a', 'handle relay', 'publish troupe.test.b', 'process troupe.test.b', 'handle sink', 'tool get_user_details'];
    const at = names.map((n) => lines.findIndex((l) => l.includes(n)));
    expect(at.every((i) => i > 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    expect(lines.find((l) => l.includes('process troupe.test.b'))).toMatch(/sink#\d+/);
    expect(lines.find((l) => l.includes('failing step'))).toMatch(/ERROR: upstream said: password=\[REDACTED\]/);
  });
});
