// Long idempotency keys (τ² telecom task ids alone pass 200 characters) are bounded to fit the
// envelope without losing what keys are for: distinct keys stay distinct, the same key dedupes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineMessage, EnvelopeSchema } from '../../protocols/envelope.ts';
import { Bus, boundedKey, MAX_ID_LENGTH } from '../../runtime/nats/bus.ts';
import { startTestNats, type TestNats } from '../helpers/nats.ts';

const Kind = defineMessage('test.bounded-key', z.object({ n: z.number() }));
let nats: TestNats;
beforeAll(async () => {
  nats = await startTestNats();
});
afterAll(async () => {
  await nats?.stop();
});

describe('boundedKey', () => {
  it('keeps short keys, bounds long ones, keeps distinct keys distinct and the same key stable', () => {
    expect(boundedKey('run/task/t0/a1')).toBe('run/task/t0/a1');
    const long = `eval/${'[mms_issue]airplane_mode_on|bad_network_preference|'.repeat(6)}/t0/a1`;
    const other = long.replace('/t0/', '/t1/');
    expect(long.length).toBeGreaterThan(MAX_ID_LENGTH);
    expect(boundedKey(long).length).toBeLessThanOrEqual(MAX_ID_LENGTH);
    expect(boundedKey(long)).toBe(boundedKey(long));
    expect(boundedKey(other)).not.toBe(boundedKey(long));
    expect(boundedKey(long).startsWith(long.slice(0, 150))).toBe(true);
  });

  it('lets a message with a long key through, valid, and dedupes its republish', async () => {
    const bus = new Bus(nats.nc, { role: 'test', instance: 't' });
    const key = `k/${'x'.repeat(400)}`;
    const a = await bus.publish(Kind, { n: 1 }, { key });
    const b = await bus.publish(Kind, { n: 1 }, { key });
    expect(a.duplicate).toBe(false);
    expect(b.duplicate).toBe(true);
    const c = await bus.publish(Kind, { n: 2 }, { key: `${key}y` });
    expect(c.duplicate).toBe(false);
    const js = bus.js;
    const msg = await (await js.jetstreamManager()).streams.getMessage('TROUPE_MSG', { seq: a.seq });
    const env = EnvelopeSchema.parse(JSON.parse(new TextDecoder().decode(msg!.data)));
    expect(env.key).toBe(boundedKey(key));
  });
});
