// Work belongs to a run: a cancelled run's leftover messages, and a dead run's (its submitter stopped
// heartbeating), are acked with a `run.item.dropped` record and never worked; a running run's are
// worked, and its outputs carry the run on. `troupe cancel` takes credentials from the environment.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PipelineStage0, PipelineStage1, RunItemDropped, type PipelineItem } from '../../protocols/runtime-messages.ts';
import { Bus } from '../../runtime/nats/bus.ts';
import { RoleHost } from '../../runtime/host/host.ts';
import { cancelRun, getRun, openRuns, RUN_STALE_MS, RunHandle, runKey } from '../../runtime/registry/runs.ts';
import { collect, startTestNats, type TestNats } from '../helpers/nats.ts';
import stageA from '../fixtures/roles/stage-a.ts';

let nats: TestNats;
let host: RoleHost | undefined;

beforeAll(async () => {
  nats = await startTestNats();
});

afterAll(async () => {
  await host?.drain();
  await nats?.stop();
});

const item = (seq: number): PipelineItem => ({ seq, payload: `p${seq}`, hops: [] });

describe('run table', () => {
  it('drops a cancelled run’s and a dead run’s leftovers, works a running run’s', async () => {
    const kv = await openRuns(nats.nc);
    const live = await RunHandle.start(nats.nc, 'run-live', 'test');
    const doomed = await RunHandle.start(nats.nc, 'run-doomed', 'test');
    // A run whose submitter died long ago: still `running`, heartbeat stale.
    const old = Date.now() - RUN_STALE_MS - 5_000;
    await kv.put(runKey('run-dead'), JSON.stringify({ runId: 'run-dead', state: 'running', by: 'test', startedAt: old, heartbeatAt: old }));

    // Messages queued while no host runs: 10 per run, the run in the envelope.
    const bus = new Bus(nats.nc, { role: 'test-feeder', instance: 'feeder-1' });
    const runs = ['run-live', 'run-doomed', 'run-dead'];
    for (const [r, run] of runs.entries()) for (let i = 0; i < 10; i++) await bus.publish(PipelineStage0, item(r * 100 + i), { run });
    await doomed.cancel('test cancels it');
    expect((await getRun(kv, 'run-doomed'))?.state).toBe('cancelled');

    host = new RoleHost({ bus: new Bus(nats.nc, { role: 'stage-a', instance: 'stage-a-t1', impl: stageA.impl }), role: stageA, instance: 'stage-a-t1', log: () => {} });
    await host.start();

    const worked = await collect(nats.nc, PipelineStage1.subject, (got) => got.length >= 10, { timeoutMs: 30_000, settleMs: 1500 });
    const dropped = await collect<{ runId: string; runState: string }>(nats.nc, RunItemDropped.subject, (got) => got.length >= 20, { timeoutMs: 30_000, settleMs: 1500 });
    // Only the live run's items were worked, and their outputs still belong to the run.
    expect(worked).toHaveLength(10);
    expect(worked.every((w) => w.envelope.data.seq < 100)).toBe(true);
    expect(worked.every((w) => w.envelope.run === 'run-live')).toBe(true);
    // Every leftover of the other two has one drop record, with why.
    expect(dropped).toHaveLength(20);
    expect(dropped.filter((d) => d.envelope.data.runId === 'run-doomed').every((d) => d.envelope.data.runState === 'cancelled')).toBe(true);
    expect(dropped.filter((d) => d.envelope.data.runId === 'run-dead').every((d) => d.envelope.data.runState === 'dead')).toBe(true);
    expect(host.dropped).toBe(20);
    expect(host.handled).toBe(10);

    // A run cancelled while the host runs: its later messages are dropped too (the host's cache is 1 s).
    await live.cancel('cancelled mid-run');
    await new Promise((r) => setTimeout(r, 1_200));
    for (let i = 10; i < 15; i++) await bus.publish(PipelineStage0, item(i), { run: 'run-live' });
    const dropped2 = await collect<{ runId: string }>(nats.nc, RunItemDropped.subject, (got) => got.length >= 25, { timeoutMs: 30_000, settleMs: 1000 });
    expect(dropped2.filter((d) => d.envelope.data.runId === 'run-live')).toHaveLength(5);
    expect(host.handled).toBe(10);
  }, 90_000);

  it('troupe cancel takes the NATS credentials from the environment', () => {
    const env = { ...process.env, TROUPE_RUNS_DIR: nats.dir };
    const withCreds = spawnSync(process.execPath, ['bin/troupe.js', 'cancel', 'run-by-cli', '--nats', nats.settings.url], {
      encoding: 'utf8',
      env: { ...env, TROUPE_NATS_USER: nats.settings.user!, TROUPE_NATS_PASS: nats.settings.pass! },
    });
    expect(withCreds.stdout + withCreds.stderr).toMatch(/run run-by-cli cancelled/);
    expect(withCreds.status).toBe(0);
    const without = spawnSync(process.execPath, ['bin/troupe.js', 'cancel', 'run-by-cli-2', '--nats', nats.settings.url], { encoding: 'utf8', env: { ...env, TROUPE_NATS_USER: '', TROUPE_NATS_PASS: '' } });
    expect(without.status).toBe(1);
    expect(without.stderr).toMatch(/auth|Authorization|permission/i);
  }, 60_000);

  it('records the run as cancelled for the cli', async () => {
    expect((await getRun(await openRuns(nats.nc), 'run-by-cli'))?.state).toBe('cancelled');
    await cancelRun(await openRuns(nats.nc), 'x', 'y');
  });
});
