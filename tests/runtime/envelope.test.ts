// Unit: envelope and per-kind schema validation, subject names.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { decodeEnvelope, defineMessage, messageDef, validateData } from '../../protocols/envelope.ts';
import { PipelineStage0 } from '../../protocols/runtime-messages.ts';
import { deadLetterSubject, kindOfSubject, messageSubject, roleConsumerName } from '../../protocols/subjects.ts';
import { derivedId } from '../../runtime/nats/bus.ts';

const env = (data: unknown, over: Record<string, unknown> = {}) =>
  JSON.stringify({ id: 'm1', kind: 'pipeline.stage0', v: 1, from: { role: 'feeder', instance: 'f1' }, sentAt: Date.now(), data, ...over });

describe('envelope', () => {
  it('accepts a valid message and returns typed data', () => {
    const r = decodeEnvelope(env({ seq: 1, payload: 'x', hops: [] }), 'pipeline.stage0');
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.envelope.data).toEqual({ seq: 1, payload: 'x', hops: [] });
  });

  it('names the failing field when data does not match the kind schema', () => {
    const r = decodeEnvelope(env({ payload: 'x', hops: [] }), 'pipeline.stage0');
    expect(r).toMatchObject({ ok: false, kind: 'pipeline.stage0' });
    if (!r.ok) expect(r.reason).toMatch(/seq/);
  });

  it('rejects non-JSON, bad envelopes, unknown kinds, wrong versions and subject/kind mismatch', () => {
    const bad = [
      ['{nope', /not JSON/],
      [JSON.stringify({ kind: 'pipeline.stage0' }), /envelope/],
      [env({}, { kind: 'no.such.kind' }), /does not match|unknown/],
      [env({ seq: 1, payload: 'x', hops: [] }, { v: 2 }), /version 2/],
    ] as const;
    for (const [body, re] of bad) {
      const r = decodeEnvelope(body, 'pipeline.stage0');
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.reason).toMatch(re);
    }
    const unknown = decodeEnvelope(env({}, { kind: 'no.such.kind' }));
    expect(unknown.ok).toBe(false);
    if (!unknown.ok) expect(unknown.reason).toMatch(/unknown message kind/);
  });

  it('registers each kind once', () => {
    const schema = z.object({ a: z.number() });
    const def = defineMessage('test.unit-kind', schema);
    expect(defineMessage('test.unit-kind', schema)).toBe(def);
    expect(() => defineMessage('test.unit-kind', z.object({ b: z.string() }))).toThrow(/already defined/);
    expect(() => defineMessage('Bad Kind', schema)).toThrow(/invalid message kind/);
    expect(messageDef('test.unit-kind')).toBe(def);
    expect(validateData(def, { a: 'x' }).ok).toBe(false);
  });

  it('maps kinds to subjects and back', () => {
    expect(PipelineStage0.subject).toBe('troupe.msg.pipeline.stage0');
    expect(kindOfSubject(messageSubject('task.proposed'))).toBe('task.proposed');
    expect(kindOfSubject('troupe.dlq.x')).toBeUndefined();
    expect(deadLetterSubject('task.proposed')).toBe('troupe.dlq.task.proposed');
    expect(deadLetterSubject('Not A Kind')).toBe('troupe.dlq._unknown');
    expect(roleConsumerName('user-simulator', 'task.ready')).toBe('role_user-simulator_task_ready');
  });

  it('derives the same output id on every delivery, different per role and index', () => {
    expect(derivedId('m1', 'a', 0)).toBe(derivedId('m1', 'a', 0));
    expect(new Set([derivedId('m1', 'a', 0), derivedId('m1', 'a', 1), derivedId('m1', 'b', 0), derivedId('m2', 'a', 0)]).size).toBe(4);
  });
});
