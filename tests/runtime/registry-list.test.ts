// listInstances while heartbeats land: the KV key listing can hand out a key twice when its entry is
// rewritten during the listing (the ordered consumer delivers the new revision too); each instance
// must still appear once (it used to show up twice in `troupe ps` and the dashboard now and then).
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { InstanceRecord } from '../../protocols/runtime-messages.ts';
import { listInstances, openRegistry, putInstance } from '../../runtime/registry/registry.ts';
import { startTestNats, type TestNats } from '../helpers/nats.ts';

let nats: TestNats;
beforeAll(async () => {
  nats = await startTestNats();
});
afterAll(async () => {
  await nats?.stop();
});

it('lists each instance once while its heartbeats are rewritten', async () => {
  const kv = await openRegistry(nats.nc);
  const rec = (i: number): InstanceRecord => ({
    instance: `r-${i}`, role: 'stage-a', impl: 'stage-a@1', version: '1', host: 'h', pid: i, startedAt: i, heartbeatAt: Date.now(),
    state: 'ready', inFlight: 0, handled: 0, failed: 0, deadLettered: 0, restarts: 0,
  });
  const N = 40;
  for (let i = 0; i < N; i++) await putInstance(kv, rec(i));
  let beating = true;
  const beats = (async () => {
    while (beating) await Promise.all(Array.from({ length: N }, (_, i) => putInstance(kv, rec(i))));
  })();
  try {
    for (let round = 0; round < 30; round++) {
      const ids = (await listInstances(kv)).map((r) => r.instance);
      expect(ids.length).toBe(new Set(ids).size);
      expect(ids).toHaveLength(N);
    }
  } finally {
    beating = false;
    await beats;
  }
}, 60_000);
