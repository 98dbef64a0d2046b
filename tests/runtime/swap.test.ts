// Integration: hot-swap stage-b's implementation while 1,000 items flow. None lost, none handled
// twice, and every stage-b output stored after the swap returned carries the new implementation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { PipelineDone, PipelineStage0, PipelineStage2, type PipelineItem } from '../../protocols/runtime-messages.ts';
import { Bus } from '../../runtime/nats/bus.ts';
import { MESSAGE_STREAM } from '../../protocols/subjects.ts';
import { parseSocietyConfig } from '../../runtime/society/config.ts';
import { Society } from '../../runtime/society/society.ts';
import { Worker } from '../../runtime/host/worker.ts';
import { collect, countBy, feedItems, startTestNats, type TestNats } from '../helpers/nats.ts';
import { TEST_ROLES } from '../fixtures/roles/catalog.ts';

const N = 1000;
let nats: TestNats;
let society: Society;

beforeAll(async () => {
  nats = await startTestNats();
  process.env.TROUPE_RUNS_DIR = nats.dir;
  society = new Society({ catalog: TEST_ROLES,
    config: parseSocietyConfig({ roles: { 'stage-a': {}, 'stage-b': { replicas: 2, concurrency: 8 }, 'stage-c': {} }, ackWaitMs: 5000 }),
    nats: nats.settings,
    control: false,
    log: () => {},
  });
  await society.start();
});

afterAll(async () => {
  await society?.stop();
  await nats?.stop();
});

describe('hot swap under load', () => {
  it('swaps stage-b@1 for stage-b@2 with nothing lost or duplicated', async () => {
    const jsm = await jetstreamManager(nats.nc);
    let swap: Promise<{ lastSeqAtSwap: number; result: Awaited<ReturnType<Society['swap']>> }> | undefined;
    await feedItems(nats.nc, N, {
      perTick: 50,
      tickMs: 40,
      item: () => ({ workMs: 2 }),
      onTick: async (sent) => {
        // Items 300..699 flow while the swap runs; 700.. only after it returned, so both sides are exercised.
        if (sent >= 700) await swap;
        if (!swap && sent >= 300) {
          swap = society.swap({ role: 'stage-b', implModule: 'tests/fixtures/roles/stage-b-v2.ts' }).then(async (result) => ({
            result,
            // Everything stored on stage2 after this point was produced after the old instances exited.
            lastSeqAtSwap: (await jsm.streams.info(MESSAGE_STREAM)).state.last_seq,
          }));
        }
      },
    });
    const { result, lastSeqAtSwap } = await swap!;
    expect(result.oldInstanceIds).toHaveLength(2);
    expect(result.newInstanceIds).toHaveLength(2);
    expect(result.nowServing).toBe('stage-b@2');

    const done = await collect<PipelineItem>(nats.nc, PipelineDone.subject, (got) => new Set(got.map((g) => g.envelope.data.seq)).size >= N, {
      timeoutMs: 90_000,
      settleMs: 2000,
    });
    const perSeq = countBy(done, (d) => d.envelope.data.seq);
    expect(perSeq.size).toBe(N);
    expect(done).toHaveLength(N);

    const stage2 = await collect<PipelineItem>(nats.nc, PipelineStage2.subject, (got) => got.length >= N, { timeoutMs: 30_000 });
    expect(stage2).toHaveLength(N);
    const impls = countBy(stage2, (m) => m.envelope.data.hops[1].impl);
    expect(impls.get('stage-b@1')).toBeGreaterThan(0); // the swap really happened mid-stream
    expect(impls.get('stage-b@2')).toBeGreaterThan(0);
    const after = stage2.filter((m) => m.seq > lastSeqAtSwap);
    expect(after.length).toBeGreaterThan(0);
    expect(after.every((m) => m.envelope.data.hops[1].impl === 'stage-b@2')).toBe(true);
    // The envelope's sender names the implementation too.
    expect(after.every((m) => m.envelope.from.impl === 'stage-b@2')).toBe(true);

    const live = await society.instances('stage-b');
    expect(live.map((r) => r.instance).sort()).toEqual([...result.newInstanceIds].sort());
  }, 150_000);
});

describe('a swap whose new instances cannot start', () => {
  it('fails fast and leaves the old instances serving', async () => {
    const before = (await society.instances('stage-b')).map((r) => r.instance).sort();
    const t0 = Date.now();
    await expect(society.swap({ role: 'stage-b', implModule: 'tests/fixtures/roles/stage-b-broken.ts' })).rejects.toThrow(/did not start/);
    expect(Date.now() - t0).toBeLessThan(30_000); // not the 60 s readiness timeout
    expect((await society.instances('stage-b')).map((r) => r.instance).sort()).toEqual(before);
    expect(society.children().filter((c) => c.role === 'stage-b')).toHaveLength(before.length);
  }, 60_000);
});

describe('swapping model and instructions', () => {
  it('starts stage-a anew with the model, then with a pinned instructions revision', async () => {
    const m = await society.swap({ role: 'stage-a', model: 'tiny-model-2' });
    expect(m.nowServing).toBe('model tiny-model-2');
    let live = await society.instances('stage-a');
    expect(live.map((r) => [r.instance, r.model])).toEqual([[m.newInstanceIds[0], 'tiny-model-2']]);

    const i = await society.swap({ role: 'stage-a', instructions: 'tag every item politely' });
    expect(i.nowServing).toMatch(/^instructions r\d+$/);
    const rev = Number(i.nowServing.slice('instructions r'.length));
    live = await society.instances('stage-a');
    // The model chosen before is kept; the instructions revision is pinned.
    expect(live.map((r) => [r.instance, r.model, r.instructionsRevision])).toEqual([[i.newInstanceIds[0], 'tiny-model-2', rev]]);

    await new Bus(nats.nc, { role: 'feeder', instance: 'f-swap' }).publish(PipelineStage0, { seq: 5000, payload: 'after', hops: [] }, { key: 'after-swap-5000' });
    const done = await collect<PipelineItem>(nats.nc, PipelineDone.subject, (got) => got.some((g) => g.envelope.data.seq === 5000), { timeoutMs: 30_000 });
    expect(done.find((d) => d.envelope.data.seq === 5000)!.envelope.data.hops[0].rev).toBe(rev);
  }, 120_000);
});

describe('a swap keeps the replica count and spares workers it did not start', () => {
  it('replaces its own 2 stage-b replicas with 2 new ones; a worker joined by hand keeps serving', async () => {
    // A stage-b instance joined by hand (as `troupe worker --roles stage-b` would): not the society's.
    const hand = new Worker({ nc: nats.nc, roles: [{ role: 'stage-b', instance: 'stage-b-byhand' }], catalog: TEST_ROLES, log: () => {} });
    await hand.start();
    try {
      const ours = society.children().filter((c) => c.role === 'stage-b').map((c) => c.instance).sort();
      expect(ours).toHaveLength(2);
      expect((await society.instances('stage-b')).map((r) => r.instance)).toContain('stage-b-byhand');

      const r = await society.swap({ role: 'stage-b', implModule: 'tests/fixtures/roles/stage-b.ts' });
      expect([...r.oldInstanceIds].sort()).toEqual(ours); // only its own were retired
      expect(r.newInstanceIds).toHaveLength(2); // and as many came back

      const live = (await society.instances('stage-b')).map((r) => r.instance).sort();
      expect(live).toEqual([...r.newInstanceIds, 'stage-b-byhand'].sort());
      expect(hand.instances.get('stage-b-byhand')!.host.state).toBe('ready');
      expect(society.children().filter((c) => c.role === 'stage-b')).toHaveLength(2);
    } finally {
      await hand.drainAll();
    }
  }, 120_000);
});
