// Integration (real nats-server, role hosted in-process): invalid messages land on the dead-letter
// subject with their reason and are counted; invalid outputs are refused at publish.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { headers } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { PipelineStage0, PipelineStage1, type DeadLetter, type PipelineItem } from '../../protocols/runtime-messages.ts';
import { DEAD_LETTER_STREAM, deadLetterSubject } from '../../protocols/subjects.ts';
import { Worker } from '../../runtime/host/worker.ts';
import { Bus, InvalidMessageError } from '../../runtime/nats/bus.ts';
import { listInstances, openRegistry } from '../../runtime/registry/registry.ts';
import { collect, startTestNats, type TestNats } from '../helpers/nats.ts';
import { TEST_ROLES } from '../fixtures/roles/catalog.ts';

let nats: TestNats;
let worker: Worker;

beforeAll(async () => {
  nats = await startTestNats();
  worker = new Worker({ catalog: TEST_ROLES, nc: nats.nc, roles: [{ role: 'stage-a', instance: 'stage-a-dlq' }], maxDeliver: 3, log: () => {} });
  await worker.start();
});

afterAll(async () => {
  await worker?.drainAll();
  await nats?.stop();
});

describe('dead letters', () => {
  it('sends a received message that fails its schema to troupe.dlq.<kind> with the reason, and counts it', async () => {
    const js = jetstream(nats.nc);
    const h = headers();
    h.set('traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    const bad = { id: 'bad-1', kind: 'pipeline.stage0', v: 1, from: { role: 'x', instance: 'x1' }, sentAt: Date.now(), data: { payload: 'no seq', hops: [] } };
    await js.publish(PipelineStage0.subject, JSON.stringify(bad), { headers: h });
    await js.publish(PipelineStage0.subject, 'this is not json');
    // A good item after the bad ones still flows.
    await new Bus(nats.nc, { role: 'feeder', instance: 'f' }).publish(PipelineStage0, { seq: 7, payload: 'ok', hops: [] }, { key: 'ok-7' });

    const dl = await collect<never>(nats.nc, deadLetterSubject('pipeline.stage0'), (got) => got.length >= 2, { stream: DEAD_LETTER_STREAM, timeoutMs: 15_000 });
    const letters = dl.map((d) => d.envelope as unknown as DeadLetter);
    expect(letters).toHaveLength(2);
    const schemaFail = letters.find((l) => l.body.includes('no seq'))!;
    expect(schemaFail.reason).toMatch(/seq/);
    expect(schemaFail.subject).toBe(PipelineStage0.subject);
    expect(schemaFail.by).toEqual({ role: 'stage-a', instance: 'stage-a-dlq' });
    expect(schemaFail.headers.traceparent).toContain('0af7651916cd43dd8448eb211c80319c');
    expect(letters.find((l) => l.body === 'this is not json')!.reason).toMatch(/not JSON/);

    const out = await collect<PipelineItem>(nats.nc, PipelineStage1.subject, (got) => got.length >= 1, { timeoutMs: 15_000 });
    expect(out.map((o) => o.envelope.data.seq)).toEqual([7]);

    // The registry entry shows the count (heartbeats run every 2 s).
    const kv = await openRegistry(nats.nc);
    let rec;
    for (let i = 0; i < 50; i++) {
      rec = (await listInstances(kv)).find((r) => r.instance === 'stage-a-dlq');
      if (rec && rec.deadLettered >= 2) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(rec?.deadLettered).toBe(2);
    expect(rec?.handled).toBe(1);
  });

  it('dead-letters a message whose handler keeps failing after maxDeliver deliveries', async () => {
    const bus = new Bus(nats.nc, { role: 'feeder', instance: 'f' });
    await bus.publish(PipelineStage0, { seq: 99, payload: 'poison', hops: [], failAt: 'stage-a' }, { key: 'poison-99' });
    const dl = await collect<never>(nats.nc, deadLetterSubject('pipeline.stage0'), (got) => got.some((g) => (g.envelope as unknown as DeadLetter).body.includes('poison')), {
      stream: DEAD_LETTER_STREAM,
      timeoutMs: 20_000,
    });
    const letter = dl.map((d) => d.envelope as unknown as DeadLetter).find((l) => l.body.includes('poison'))!;
    // The last delivery's failure is recorded at once, with its error (the server would not redeliver).
    expect(letter.reason).toBe('gave up after 3 deliveries: poison item at stage-a');
    expect(letter.deliveries).toBe(3);
    expect(worker.instances.get('stage-a-dlq')!.host.failed).toBe(3);
  });

  it('refuses to publish invalid data and records it as a dead letter', async () => {
    const bus = new Bus(nats.nc, { role: 'tester', instance: 't1' });
    await expect(bus.publish(PipelineStage1, { seq: -1, payload: 'x', hops: [] } as PipelineItem)).rejects.toBeInstanceOf(InvalidMessageError);
    expect(bus.deadLettered).toBe(1);
    const dl = await collect<never>(nats.nc, deadLetterSubject('pipeline.stage1'), (got) => got.length >= 1, { stream: DEAD_LETTER_STREAM, timeoutMs: 10_000 });
    const letter = dl[0].envelope as unknown as DeadLetter;
    expect(letter.reason).toMatch(/publish rejected.*seq/);
    expect(letter.by.instance).toBe('t1');
  });

  it('stores one copy per idempotency key', async () => {
    const bus = new Bus(nats.nc, { role: 'tester', instance: 't2' });
    const a = await bus.publish(PipelineStage1, { seq: 1, payload: 'dup', hops: [] }, { key: 'same-key' });
    const b = await bus.publish(PipelineStage1, { seq: 1, payload: 'dup', hops: [] }, { key: 'same-key' });
    expect(a.duplicate).toBe(false);
    expect(b.duplicate).toBe(true);
    expect(b.seq).toBe(a.seq);
  });
});
