import { describe, expect, it } from 'vitest';
import { isSecretKey, redactAttributes, redactObject, redactText, REDACTED } from '../../runtime/tracing/redact.ts';
import { redactSpan } from '../../runtime/tracing/redacting-exporter.ts';
import { SpanKind } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';

describe('redaction', () => {
  it('recognises credential key names in any casing style', () => {
    for (const k of ['authorization', 'Authorization', 'api_key', 'apiKey', 'x-api-key', 'OPENAI_API_KEY', 'token', 'access_token', 'auth.token',
      'password', 'db.password', 'secret', 'client_secret', 'credentials', 'nkey', 'nats.seed', 'cookie', 'privateKey', 'jwt']) {
      expect(isSecretKey(k), k).toBe(true);
    }
    for (const k of ['gen_ai.usage.input_tokens', 'max_tokens', 'messaging.destination.name', 'troupe.role', 'keyboard', 'tokenizer', 'author']) {
      expect(isSecretKey(k), k).toBe(false);
    }
  });

  it('redacts string values under secret keys but keeps numbers (token counts, sampling seeds)', () => {
    expect(redactAttributes({
      apiKey: 'abc',
      'nats.seed': 'SUAxyz',
      'gen_ai.request.seed': 42,
      'gen_ai.usage.output_tokens': 17,
      headers: ['x', 'Bearer abcdefghijkl'],
      'troupe.role': 'critic',
    })).toEqual({
      apiKey: REDACTED,
      'nats.seed': REDACTED,
      'gen_ai.request.seed': 42,
      'gen_ai.usage.output_tokens': 17,
      headers: ['x', `Bearer ${REDACTED}`],
      'troupe.role': 'critic',
    });
  });

  it('finds credential-looking values inside free text', () => {
    const cases: Array<[string, string]> = [
      ['key sk-proj-AbCdEf0123456789xyz failed', `key ${REDACTED} failed`],
      ['sk-ant-api03-abcdefghijk', REDACTED],
      ['Authorization: Bearer eyJhbGciOi.payload12345.sig', `Authorization: Bearer ${REDACTED}`],
      ['password: Bearer', `password: ${REDACTED}`],
      ['curl -H "Bearer abc123def456"', `curl -H "Bearer ${REDACTED}"`],
      ['nats://alice:s3cr3t@10.0.0.1:4222', `nats://alice:${REDACTED}@10.0.0.1:4222`],
      ['?api_key=12345&x=1', `?api_key=${REDACTED}&x=1`],
      ['{"password": "hunter2", "user": "bob"}', `{"password": "${REDACTED}", "user": "bob"}`],
      ['seed SUACSSL3UAHUDXKFSNVUZRF5UHPMWZ6BFDTJ7M6USDXIEDNPPQYYYCU3VY here', `seed ${REDACTED} here`],
      ['hf_abcdefghijklmnopqrstu and ghp_abcdefghijklmnopqrstuvwxyz12', `${REDACTED} and ${REDACTED}`],
      ['AKIAIOSFODNN7EXAMPLE', REDACTED],
    ];
    for (const [input, want] of cases) expect(redactText(input), input).toBe(want);
    // Ordinary prose and ids survive.
    const plain = 'task t-17 accepted by critic; max_tokens=256; 3 tokens left; sky-blue';
    expect(redactText(plain)).toBe(plain);
  });

  it('redacts nested objects (log records)', () => {
    expect(redactObject({ msg: 'connect nats://u:p4ss@h:4222', opts: { token: 'abc', timeout: 5, list: [{ password: 'x' }] } })).toEqual({
      msg: `connect nats://u:${REDACTED}@h:4222`,
      opts: { token: REDACTED, timeout: 5, list: [{ password: REDACTED }] },
    });
  });

  it('the exporter wrapper redacts attributes, events and status of a span, leaving ids alone', () => {
    const ctx = { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: 1 };
    const span = {
      name: 'llm call', kind: SpanKind.CLIENT, spanContext: () => ctx, parentSpanContext: undefined,
      startTime: [1, 0], endTime: [2, 0], duration: [1, 0], ended: true,
      status: { code: 2, message: 'HTTP 401 for key sk-abcdefghijklmnop' },
      attributes: { authorization: 'Bearer abcdefghijk', 'gen_ai.request.model': 'm' },
      events: [{ name: 'exception', time: [1, 5], attributes: { 'exception.message': 'token=abc123' } }],
      links: [], resource: {} as ReadableSpan['resource'], instrumentationScope: { name: 'troupe' },
      droppedAttributesCount: 0, droppedEventsCount: 0, droppedLinksCount: 0,
    } as unknown as ReadableSpan;
    const r = redactSpan(span);
    expect(r.spanContext()).toBe(ctx);
    expect(r.attributes).toEqual({ authorization: REDACTED, 'gen_ai.request.model': 'm' });
    expect(r.status.message).toBe(`HTTP 401 for key ${REDACTED}`);
    expect(r.events[0].attributes).toEqual({ 'exception.message': `token=${REDACTED}` });
  });
});
