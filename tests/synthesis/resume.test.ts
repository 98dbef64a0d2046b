// `troupe synth --resume RUN` on the real command and the real embedded nats-server: a run (scripted
// model, oracle agent: fast) is SIGKILLed mid-way, then resumed. The resumed run's first progress line
// counts the items the killed one finished, the run completes, and every item is in the dataset (and
// ended in the stream) exactly once.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TAU2_DATA } from '../helpers/tau2.ts';
import { startScriptedLlm, type ScriptedLlm } from '../evolver/scripted-llm.ts';
import { connectNats } from '../../runtime/nats/connect.ts';
import { natsServerAvailable, startEmbeddedNats } from '../../runtime/nats/embedded.ts';
import { decodeEnvelope } from '../../protocols/envelope.ts';
import { MESSAGE_PREFIX } from '../../protocols/subjects.ts';
import { FunnelCounter } from '../../actors/kit/funnel.ts';
import { loadRunHistory } from '../../cli/drivers/synth/resume.ts';
import { readDataset } from '../../actors/dataset/role.ts';

const runs = mkdtempSync(join(tmpdir(), 'troupe-resume-'));
const RUN = 'resume-test';
const ITEMS = 6; // 2 plans × 3 tasks
const TERMINAL = new Set(['synth.item.dropped', 'synth.failure.reported', 'synth.dataset.record']);
let llm: ScriptedLlm | undefined;
const children: ChildProcess[] = [];

function synth(args: string[]): { child: ChildProcess; out: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, ['bin/troupe.js', 'synth', ...args], {
    env: { ...process.env, TAU2_DATA_DIR: TAU2_DATA, TROUPE_RUNS_DIR: runs, TROUPE_TRACING: 'off' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let text = '';
  child.stdout!.on('data', (d) => (text += d));
  child.stderr!.on('data', (d) => (text += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 240_000); // bounded, whatever happens
  const exit = new Promise<number | null>((r) => child.on('close', (code) => (clearTimeout(timer), r(code))));
  return { child, out: () => text, exit };
}

/** The run's store, opened on an embedded server of our own (the run's server is gone by then). */
async function withStore<T>(f: (nc: Awaited<ReturnType<typeof connectNats>>) => Promise<T>): Promise<T> {
  const server = await startEmbeddedNats(join(runs, RUN, 'nats'));
  const nc = await connectNats({ url: server.url, user: server.user, pass: server.pass });
  try {
    return await f(nc);
  } finally {
    await nc.close();
    await server.stop();
  }
}

describe('troupe synth --resume', () => {
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await llm?.close();
    rmSync(runs, { recursive: true, force: true });
  });

  it('continues a SIGKILLed run: counts what was done, finishes, duplicates nothing', async () => {
    if (!natsServerAvailable()) throw new Error('nats-server is missing: install it (apt-get install nats-server)');
    llm = await startScriptedLlm({ delayMs: 150 }); // slow enough to kill the run half-way
    const cfg = join(runs, 'roles.json');
    writeFileSync(cfg, JSON.stringify({ actor: 'oracle', userOpening: 'scenario', criticReview: 'llm', maxRevisions: 0, maxSteps: 12, ackWaitMs: 2000, models: { default: { model: 'scripted', baseURL: llm.baseURL, maxRetries: 0 } } }));

    // 1. Start the run and follow it on its own embedded server (credentials in its run directory).
    const first = synth(['--domain', 'mock', '--plans', '2', '--tasks-per-plan', '3', '--roles-config', cfg, '--run-id', RUN, '--timeout-min', '3']);
    let creds: { port: number; authorization: { user: string; password: string } } | undefined;
    for (let i = 0; i < 600 && !creds && first.child.exitCode === null; i++) {
      try {
        creds = JSON.parse(readFileSync(join(runs, RUN, 'nats', 'nats-server.conf'), 'utf8'));
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    expect(creds, first.out()).toBeDefined();
    // The config is written before the server listens: retry for a while.
    let nc: Awaited<ReturnType<typeof connectNats>> | undefined;
    for (let i = 0; i < 150 && !nc; i++) {
      nc = await connectNats({ url: `nats://127.0.0.1:${creds!.port}`, user: creds!.authorization.user, pass: creds!.authorization.password }).catch(async () => {
        await new Promise((r) => setTimeout(r, 100));
        return undefined;
      });
    }
    if (!nc) throw new Error(`could not reach the run's nats-server: ${first.out()}`);
    const counter = new FunnelCounter(RUN, ITEMS);
    const sub = nc.subscribe(`${MESSAGE_PREFIX}.synth.>`);
    let killedWith = -1;
    for await (const m of sub) {
      const v = decodeEnvelope(m.data);
      if (v.ok) counter.add(v.envelope);
      const t = counter.summary().terminal;
      if (t >= 2) {
        // Mid-run: some items ended, others are on their way.
        first.child.kill('SIGKILL');
        killedWith = t;
        break;
      }
    }
    await nc.close().catch(() => {});
    expect(await first.exit).toBeNull(); // killed, not finished
    expect(killedWith).toBeLessThan(ITEMS);

    // 2. What the stream and the dataset hold now (the killed run's server stops by itself).
    const before = await withStore(async (store) => {
      const c = new FunnelCounter(RUN, ITEMS);
      for (const e of (await loadRunHistory(store, RUN)).envelopes) c.add(e);
      return c.summary();
    });
    expect(before.terminal).toBeGreaterThanOrEqual(killedWith);
    expect(before.terminal).toBeLessThan(ITEMS);

    // 3. Resume: same run, same store, domain and counts from the stored request.
    const second = synth(['--resume', RUN, '--roles-config', cfg, '--timeout-min', '3']);
    const code = await second.exit;
    const out = second.out();
    expect(code, out.slice(-3000)).toBe(0);
    expect(out).toContain(`resuming run ${RUN}, domain mock, 2 plan(s) × 3 task(s)`);
    const firstProgress = /\[synth \d+s\] items (\d+)\/(\d+) done/.exec(out);
    // Counted from what was done, never from 0. (Not equal: items that end at once — e.g. a plan dropped
    // as too similar — may finish before the first progress tick.)
    const [doneFirst, total] = firstProgress?.slice(1).map(Number) ?? [];
    expect(total, out.slice(0, 2000)).toBe(ITEMS);
    expect(doneFirst, out.slice(0, 2000)).toBeGreaterThanOrEqual(before.terminal);
    const summary = JSON.parse(readFileSync(join(runs, RUN, 'synth', 'summary.json'), 'utf8')).summary;
    expect(summary.terminal).toBe(ITEMS);

    // 4. Exactly once: one dataset record per passed item, one terminal message per item.
    await withStore(async (store) => {
      const records = await readDataset(store, { runId: RUN });
      const ids = records.map((r) => r.provenance.itemId);
      expect(new Set(ids).size).toBe(ids.length);
      expect(records.length).toBe(summary.dialoguePassed);
      expect(records.length).toBeGreaterThan(0);
      const terminal = (await loadRunHistory(store, RUN)).envelopes.filter((e) => TERMINAL.has(e.kind) && !e.id.startsWith('dataset:'));
      const perItem = new Map<string, number>();
      for (const e of terminal) {
        const d = e.data as { itemId?: string; provenance?: { itemId: string } };
        const item = d.itemId ?? d.provenance!.itemId;
        perItem.set(item, (perItem.get(item) ?? 0) + 1);
      }
      expect(perItem.size).toBe(ITEMS);
      expect([...perItem.values()].every((n) => n === 1), JSON.stringify([...perItem])).toBe(true);
    });

    // A reused --run-id is refused, pointing at --resume.
    const again = synth(['--domain', 'mock', '--roles-config', cfg, '--run-id', RUN]);
    expect(await again.exit).toBe(1);
    expect(again.out()).toMatch(new RegExp(`run "${RUN}" already exists; continue it with: troupe synth --resume ${RUN}`));
  }, 300_000);
});
