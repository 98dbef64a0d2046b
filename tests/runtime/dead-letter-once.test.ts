// Integration (the installed nats-server, 2.9.10 on Debian): a dead letter is final. An invalid
// message is recorded once and never redelivered, whatever the ack wait; a message the server stops
// delivering (max_deliver reached while its holders died) still ends in the dead-letter stream, once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { PipelineStage0, PipelineStage1, type DeadLetter, type PipelineItem } from '../../protocols/runtime-messages.ts';
import { DEAD_LETTER_STREAM, deadLetterSubject, MESSAGE_STREAM, roleConsumerName } from '../../protocols/subjects.ts';
import { Worker } from '../../runtime/host/worker.ts';
import { Bus } from '../../runtime/nats/bus.ts';
import { collect, startTestNats, type TestNats } from '../helpers/nats.ts';
import { TEST_ROLES } from '../fixtures/roles/catalog.ts';

const ACK_WAIT_MS = 500;
const CONSUMER = roleConsumerName('stage-a', PipelineStage0.kind);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let nats: TestNats;
const workers: Worker[] = [];

async function startWorker(instance: string): Promise<Worker> {
  const w = new Worker({ catalog: TEST_ROLES, nc: nats.nc, roles: [{ role: 'stage-a', instance }], ackWaitMs: ACK_WAIT_MS, maxDeliver: 2, log: () => {} });
  await w.start();
  workers.push(w);
  return w;
}

const letters = async (until: (got: DeadLetter[]) => boolean, settleMs: number) =>
  (await collect<never>(nats.nc, deadLetterSubject(PipelineStage0.kind), (got) => until(got.map((g) => g.envelope as unknown as DeadLetter)), { stream: DEAD_LETTER_STREAM, timeoutMs: 15_000, settleMs })).map(
    (g) => g.envelope as unknown as DeadLetter,
  );

beforeAll(async () => {
  nats = await startTestNats();
});

afterAll(async () => {
  for (const w of workers) await w.drainAll().catch(() => {});
  await nats?.stop();
});

describe('dead letters are final', () => {
  it('every consumer the host creates has the bounded max_deliver', async () => {
    const w = await startWorker('stage-a-bounds');
    const info = await (await jetstreamManager(nats.nc)).consumers.info(MESSAGE_STREAM, CONSUMER);
    expect(info.config.max_deliver).toBe(2);
    expect(info.config.ack_wait).toBe(ACK_WAIT_MS * 1_000_000);
    await w.drainAll();
  });

  it('records an invalid message once and never redelivers it, across many ack waits', async () => {
    const w = await startWorker('stage-a-invalid');
    const js = jetstream(nats.nc);
    await js.publish(PipelineStage0.subject, 'not json at all');
    await js.publish(PipelineStage0.subject, JSON.stringify({ id: 'bad-2', kind: PipelineStage0.kind, v: 1, from: { role: 'x', instance: 'x1' }, sentAt: Date.now(), data: { payload: 'no seq', hops: [] } }));
    // Eight ack waits: with a term the server ignores (2.9 and "+TERM <reason>") each would come back.
    const got = await letters((l) => l.length >= 2, 8 * ACK_WAIT_MS);
    expect(got).toHaveLength(2);
    expect(got.map((l) => l.deliveries)).toEqual([1, 1]);
    expect(got.find((l) => l.body === 'not json at all')!.reason).toMatch(/not JSON/);
    expect(got.find((l) => l.body.includes('no seq'))!.reason).toMatch(/seq/);
    const host = w.instances.get('stage-a-invalid')!.host;
    expect(host.deadLettered).toBe(2);
    const info = await (await jetstreamManager(nats.nc)).consumers.info(MESSAGE_STREAM, CONSUMER);
    expect(info.num_redelivered).toBe(0);
    expect(info.num_ack_pending).toBe(0);
    await w.drainAll();
  });

  it('dead-letters, once, a message whose holders died on every delivery (max_deliver reached)', async () => {
    const before = (await letters(() => true, 0)).length;
    await new Bus(nats.nc, { role: 'feeder', instance: 'f' }).publish(PipelineStage0, { seq: 5, payload: 'held by the dead', hops: [] }, { key: 'dead-5' });
    // Two replicas take it and die before acking (a pull without ack is exactly what they leave behind).
    const consumer = await jetstream(nats.nc).consumers.get(MESSAGE_STREAM, CONSUMER);
    for (let d = 1; d <= 2; d++) {
      const m = await consumer.next({ expires: 5_000 });
      expect(m?.info.deliveryCount).toBe(d);
      await sleep(ACK_WAIT_MS + 200);
    }
    // A healthy replica arrives: the server will not hand the message out a third time, it says so.
    const w = await startWorker('stage-a-survivor');
    const got = await letters((l) => l.length > before, 6 * ACK_WAIT_MS);
    const mine = got.slice(before);
    expect(mine).toHaveLength(1);
    expect(mine[0].reason).toMatch(/gave up after 2 deliveries \(max_deliver\)/);
    expect(mine[0].body).toContain('held by the dead');
    expect(mine[0].kind).toBe(PipelineStage0.kind);
    expect(mine[0].subject).toBe(PipelineStage0.subject);
    expect(mine[0].by.instance).toBe('stage-a-survivor');
    expect(w.instances.get('stage-a-survivor')!.host.handled).toBe(0);
    const out = await collect<PipelineItem>(nats.nc, PipelineStage1.subject, () => false, { timeoutMs: 1_000 });
    expect(out).toHaveLength(0);
  });
});
