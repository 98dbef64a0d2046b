// Integration (real nats-server): instructions KV (revisions, lineage, watch) and the artifact store.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getInstructions, instructionsHistory, openInstructions, setInstructions, watchInstructions, type Instructions } from '../../runtime/instructions/instructions.ts';
import { PipelineStage0, PipelineStage1, type PipelineItem } from '../../protocols/runtime-messages.ts';
import { Worker } from '../../runtime/host/worker.ts';
import { Bus } from '../../runtime/nats/bus.ts';
import { getArtifact, putArtifact } from '../../runtime/nats/objects.ts';
import { openOnceGuard } from '../../runtime/nats/once.ts';
import { collect, startTestNats, type TestNats } from '../helpers/nats.ts';
import { TEST_ROLES } from '../fixtures/roles/catalog.ts';

let nats: TestNats;
beforeAll(async () => {
  nats = await startTestNats();
});
afterAll(async () => {
  await nats?.stop();
});

describe('instructions bucket', () => {
  it('keeps every revision with its parent, and tells watchers about new ones', async () => {
    const kv = await openInstructions(nats.nc);
    expect(await getInstructions(kv, 'critic')).toBeNull();
    const seen: Instructions[] = [];
    const stop = await watchInstructions(kv, 'critic', (i) => seen.push(i));
    const r1 = await setInstructions(kv, 'critic', 'be strict', { author: 'test' });
    const r2 = await setInstructions(kv, 'critic', 'be strict but fair', { author: 'evolver', note: 'too many rejects' });
    expect(r2.revision).toBeGreaterThan(r1.revision);
    expect(r2.parent).toBe(r1.revision);
    expect((await getInstructions(kv, 'critic'))!.text).toBe('be strict but fair');
    expect((await getInstructions(kv, 'critic', r1.revision))!.text).toBe('be strict');
    expect((await instructionsHistory(kv, 'critic')).map((i) => i.text)).toEqual(['be strict', 'be strict but fair']);
    for (let i = 0; i < 50 && seen.length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    stop();
    expect(seen.map((i) => i.revision)).toEqual([r1.revision, r2.revision]);
  });
});

describe('artifact store', () => {
  it('round-trips bytes larger than one chunk', async () => {
    const bytes = new Uint8Array(300_000).map((_, i) => i % 251);
    const info = await putArtifact(nats.nc, 'weights/test.bin', bytes);
    expect(info.size).toBe(bytes.length);
    const back = await getArtifact(nats.nc, 'weights/test.bin');
    expect(back).toEqual(bytes);
    expect(await getArtifact(nats.nc, 'missing')).toBeNull();
  });
});

describe('instructions hot reload', () => {
  it('runs each item with the latest revision when the instance is not pinned', async () => {
    const kv = await openInstructions(nats.nc);
    const r1 = await setInstructions(kv, 'stage-a', 'first', { author: 'test' });
    const worker = new Worker({ catalog: TEST_ROLES, nc: nats.nc, roles: [{ role: 'stage-a', instance: 'stage-a-follow' }], log: () => {} });
    await worker.start();
    try {
      const bus = new Bus(nats.nc, { role: 'feeder', instance: 'f' });
      await bus.publish(PipelineStage0, { seq: 1, payload: 'a', hops: [] }, { key: 'rev-1' });
      const first = await collect<PipelineItem>(nats.nc, PipelineStage1.subject, (g) => g.length >= 1, { timeoutMs: 10_000 });
      expect(first[0].envelope.data.hops[0].rev).toBe(r1.revision);
      const r2 = await setInstructions(kv, 'stage-a', 'second', { author: 'evolver' });
      for (let i = 0; i < 50 && worker.instances.get('stage-a-follow')!.instructionsRevision !== r2.revision; i++) await new Promise((r) => setTimeout(r, 50));
      await bus.publish(PipelineStage0, { seq: 2, payload: 'b', hops: [] }, { key: 'rev-2' });
      const both = await collect<PipelineItem>(nats.nc, PipelineStage1.subject, (g) => g.length >= 2, { timeoutMs: 10_000 });
      expect(both.find((m) => m.envelope.data.seq === 2)!.envelope.data.hops[0].rev).toBe(r2.revision);
    } finally {
      await worker.drainAll();
    }
  });
});

describe('once guard', () => {
  it('lets exactly one of several claimants through per id, across connections', async () => {
    const a = await openOnceGuard(nats.nc, 'dataset');
    const b = await openOnceGuard(nats.nc, 'dataset');
    const results = await Promise.all([a.claim('msg/1'), b.claim('msg/1'), a.claim('msg/1')]);
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await b.claim('msg/2')).toBe(true);
    await b.release('msg/2');
    expect(await a.claim('msg/2')).toBe(true);
  });
});
