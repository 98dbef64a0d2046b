// `troupe watch`: event extraction and formatting (pure), then the real CLI against a real nats-server.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { connect, headers } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventFromMessage, formatWatchLine, WatchStats } from '../../runtime/control/watch-events.ts';
import type { MessageEvent } from '../../runtime/control/types.ts';
import { startNatsServer, type TestNatsServer } from '../tracing/nats-server.ts';

const names = { kindHeader: 'Troupe-Kind', messagePrefix: 'troupe.msg', deadLetterPrefix: 'troupe.dlq' };
const enc = (x: unknown) => new TextEncoder().encode(typeof x === 'string' ? x : JSON.stringify(x));
const TID = '4bf92f3577b34da6a3ce929d0e0e4736';
const hdrs = (m: Record<string, string>) => ({ get: (k: string) => m[k] ?? '' });

describe('watch events', () => {
  it('reads kind, sender, id and latency from an envelope and the trace id from headers', () => {
    const body = enc({ id: 'm1', kind: 'task.proposed', v: 1, from: { role: 'scriptwriter', instance: 'i' }, sentAt: 1000, data: {} });
    const ev = eventFromMessage({ subject: 'troupe.msg.task.proposed', data: body, headers: hdrs({ traceparent: `00-${TID}-00f067aa0ba902b7-01` }) }, 1012.5, names);
    expect(ev).toEqual({ subject: 'troupe.msg.task.proposed', kind: 'task.proposed', size: body.length, latencyMs: 12.5, traceId: TID, time: 1012.5, senderRole: 'scriptwriter', messageId: 'm1' });
  });

  it('prefers the kind header, falls back to the subject, and marks non-envelopes', () => {
    expect(eventFromMessage({ subject: 'troupe.msg.a.b', data: enc('{"kind":"x.y"}'), headers: hdrs({ 'Troupe-Kind': 'a.b' }) }, 5, names).kind).toBe('a.b');
    const raw = eventFromMessage({ subject: 'troupe.msg.a.b', data: enc('hello') }, 5, names);
    expect(raw.kind).toBe('a.b');
    expect(Number.isNaN(raw.latencyMs)).toBe(true);
    expect(raw.detail).toBe('not a JSON envelope');
    expect(eventFromMessage({ subject: 'elsewhere', data: enc('[1]') }, 5, names).kind).toBe('?');
  });

  it('shows a dead letter with its reason and the rejecting role', () => {
    const ev = eventFromMessage({ subject: 'troupe.dlq.task.proposed', data: enc({ reason: 'envelope: id: required', by: { role: 'critic' }, at: 90 }), headers: hdrs({ 'Troupe-Kind': 'runtime.dead-letter' }) }, 100, names);
    expect(ev).toMatchObject({ kind: 'dead-letter task.proposed', senderRole: 'critic', latencyMs: 10, detail: 'envelope: id: required' });
  });

  it('formats a line and keeps per-kind statistics', () => {
    const ev: MessageEvent = { subject: 'troupe.msg.task.proposed', kind: 'task.proposed', size: 2048, latencyMs: 3.25, traceId: TID, time: Date.UTC(2026, 0, 1, 12, 0, 1, 5), senderRole: 'critic' };
    expect(formatWatchLine(ev)).toBe(`12:00:01.005  ${'troupe.msg.task.proposed'.padEnd(32)}  ${'task.proposed'.padEnd(20)}    2.0kB    3.3ms  ${'from=critic'.padEnd(18)}  trace=4bf92f3577b3`);
    expect(formatWatchLine({ ...ev, detail: 'bad' })).toMatch(/  ! bad$/);
    const st = new WatchStats();
    for (let i = 1; i <= 100; i++) st.add({ ...ev, latencyMs: i });
    st.add({ ...ev, kind: 'x', latencyMs: NaN });
    expect(st.rows()).toEqual([
      { kind: 'task.proposed', count: 100, bytes: 204800, p50: 50, p99: 99 },
      { kind: 'x', count: 1, bytes: 2048, p50: NaN, p99: NaN },
    ]);
    expect(st.summary()).toMatch(/^101 message\(s\)/);
  });
});

describe('troupe watch --nats (real nats-server)', () => {
  let nats: TestNatsServer;
  beforeAll(async () => {
    nats = await startNatsServer();
  });
  afterAll(async () => {
    await nats?.stop();
  });

  it('prints the messages flowing on the society subjects as JSON lines', async () => {
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const child = spawn(process.execPath, ['bin/troupe.js', 'watch', '--nats', nats.url, '--json', '--count', '3', '--kind', 'task.proposed', '--kind', 'dead-letter task.proposed'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const exit = new Promise<number | null>((r) => child.once('exit', r));
    await expect.poll(() => err, { timeout: 20_000 }).toMatch(/watching troupe\.msg\.>, troupe\.dlq\.> on nats:\/\/127\.0\.0\.1/);

    const nc = await connect({ servers: nats.url });
    const h = headers();
    h.set('Troupe-Kind', 'task.proposed');
    h.set('traceparent', `00-${TID}-00f067aa0ba902b7-01`);
    const env = { id: 'm1', kind: 'task.proposed', v: 1, from: { role: 'scriptwriter', instance: 'i' }, sentAt: Date.now(), data: { x: 1 } };
    nc.publish('troupe.msg.task.proposed', JSON.stringify(env), { headers: h });
    nc.publish('troupe.msg.other.kind', JSON.stringify({ ...env, kind: 'other.kind' })); // filtered out by --kind
    nc.publish('unrelated.subject', 'x'); // not a society subject
    nc.publish('troupe.msg.task.proposed', 'not json');
    nc.publish('troupe.dlq.task.proposed', JSON.stringify({ reason: 'envelope: sentAt: required', by: { role: 'critic' }, at: Date.now() }));
    await nc.flush();
    await nc.close();

    expect(await exit).toBe(0);
    const lines = out.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.subject, l.kind])).toEqual([
      ['troupe.msg.task.proposed', 'task.proposed'],
      ['troupe.msg.task.proposed', 'task.proposed'],
      ['troupe.dlq.task.proposed', 'dead-letter task.proposed'],
    ]);
    expect(lines[0]).toMatchObject({ traceId: TID, senderRole: 'scriptwriter', messageId: 'm1', size: JSON.stringify(env).length });
    expect(lines[0].latencyMs).toBeGreaterThanOrEqual(0);
    expect(lines[0].latencyMs).toBeLessThan(10_000);
    expect(lines[1]).toMatchObject({ latencyMs: null, detail: 'not a JSON envelope' });
    expect(lines[2].detail).toBe('envelope: sentAt: required');
  });
});

describe('troupe watch via the control plane', () => {
  it('finds the running society, streams both default subject filters, and exits after --count', async () => {
    const { mkdtempSync, mkdirSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { startControlServer, generateControlToken, writeControlEndpoint } = await import('../../runtime/control/index.ts');
    const { writeSocietyState } = await import('../../runtime/society/state.ts');
    const runs = mkdtempSync(join(tmpdir(), 'troupe-watch-runs-'));
    const runDir = join(runs, 'r1');
    mkdirSync(runDir);
    const token = generateControlToken();
    const filters: string[] = [];
    const server = await startControlServer({
      port: 0,
      token,
      handlers: {
        listRoles: async () => [],
        swapRole: async () => { throw new Error('unused'); },
        getInstructions: async () => { throw new Error('unused'); },
        setInstructions: async () => { throw new Error('unused'); },
        async *watchMessages(filter, signal) {
          filters.push(filter.subject ?? '');
          const base = (filter.subject ?? '').replace('.>', '');
          for (let i = 0; i < 2 && !signal.aborted; i++) {
            yield { subject: `${base}.k${i}`, kind: `k${i}`, size: 10, latencyMs: 1, traceId: '', time: Date.now() };
          }
          await new Promise((r) => signal.addEventListener('abort', r, { once: true }));
        },
      },
    });
    try {
      writeControlEndpoint(runDir, { address: server.address, token });
      writeSocietyState({ runId: 'r1', runDir, pid: process.pid, startedAt: Date.now(), natsUrl: 'nats://127.0.0.1:1', embeddedNats: true, controlAddress: server.address });
      const root = fileURLToPath(new URL('../..', import.meta.url));
      const child = spawn(process.execPath, ['bin/troupe.js', 'watch', '--json', '--count', '4'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TROUPE_RUNS_DIR: runs } });
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (err += d));
      const code = await new Promise<number | null>((r) => child.once('exit', r));
      expect(code, err).toBe(0);
      expect(filters.sort()).toEqual(['troupe.dlq.>', 'troupe.msg.>']);
      const subjects = out.trim().split('\n').map((l) => JSON.parse(l).subject).sort();
      expect(subjects).toEqual(['troupe.dlq.k0', 'troupe.dlq.k1', 'troupe.msg.k0', 'troupe.msg.k1']);
      expect(err).toMatch(/via control plane 127\.0\.0\.1:\d+/);
    } finally {
      await server.stop();
      rmSync(runs, { recursive: true, force: true });
    }
  });
});
