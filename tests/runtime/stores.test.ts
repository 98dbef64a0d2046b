// Integration (real nats-server): instructions KV (revisions, lineage, watch) and the artifact store.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getInstructions, instructionsHistory, openInstructions, setInstructions, watchInstructions, type Instructions } from '../../runtime/instructions/instructions.ts';
import { getArtifact, putArtifact } from '../../runtime/nats/objects.ts';
import { startTestNats, type TestNats } from '../helpers/nats.ts';

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
