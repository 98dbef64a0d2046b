// Trace context over a real nats-server in one process, the JSONL file, and OTLP/HTTP export to a
// local collector stand-in.
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, headers, type NatsConnection, type Msg } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  activeTraceId,
  extractTraceContext,
  initTracing,
  injectTraceHeaders,
  trace,
  traceIdFromHeaders,
  withConsumeSpan,
  withPublishSpan,
  withSpan,
  type TracingHandle,
} from '../../runtime/tracing/index.ts';
import { parseSpanLines } from '../../runtime/tracing/tree.ts';
import { startNatsServer, type TestNatsServer } from './nats-server.ts';

describe('trace context over NATS', () => {
  let nats: TestNatsServer;
  let nc: NatsConnection;
  let dir: string;
  let tracing: TracingHandle;
  let collector: Server;
  const otlpBodies: Array<{ path: string; type: string; body: string }> = [];

  beforeAll(async () => {
    collector = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        otlpBodies.push({ path: req.url ?? '', type: String(req.headers['content-type']), body });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
    const port = (collector.address() as { port: number }).port;
    dir = mkdtempSync(join(tmpdir(), 'troupe-prop-'));
    tracing = initTracing({ serviceName: 'prop-test', role: 'tester', runDir: dir, otlpEndpoint: `http://127.0.0.1:${port}` });
    nats = await startNatsServer();
    nc = await connect({ servers: nats.url });
  });

  afterAll(async () => {
    await nc?.close();
    await nats?.stop();
    await tracing?.shutdown();
    collector?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function roundTrip(subject: string, send: (data: Uint8Array) => void): Promise<{ consumerTrace?: string; consumerSpan?: string; msg: Msg }> {
    const sub = nc.subscribe(subject, { max: 1 });
    const got = (async () => {
      for await (const msg of sub) {
        return withConsumeSpan(msg.subject, msg.headers, { kind: 'test', size: msg.data.length }, (span) => ({
          consumerTrace: activeTraceId(),
          consumerSpan: span.spanContext().spanId,
          msg,
        }));
      }
      throw new Error('subscription ended without a message');
    })();
    await nc.flush();
    send(new TextEncoder().encode('{"x":1}'));
    return got;
  }

  it('the consumer span joins the publisher trace with the publish span as parent', async () => {
    let pubTrace = '';
    let pubSpan = '';
    const res = await roundTrip('troupe.prop.a', (data) => {
      withSpan('root', {}, () => {
        const h = headers();
        withPublishSpan('troupe.prop.a', h, { kind: 'test', messageId: 'id-1', size: data.length }, (span) => {
          pubTrace = span.spanContext().traceId;
          pubSpan = span.spanContext().spanId;
          nc.publish('troupe.prop.a', data, { headers: h });
        });
      });
    });
    expect(pubTrace).toMatch(/^[0-9a-f]{32}$/);
    expect(res.consumerTrace).toBe(pubTrace);
    expect(traceIdFromHeaders(res.msg.headers)).toBe(pubTrace);
    expect(res.msg.headers!.get('traceparent')).toBe(`00-${pubTrace}-${pubSpan}-01`);

    await tracing.flush();
    const { spans, errors } = parseSpanLines(readFileSync(tracing.spanFile!, 'utf8'));
    expect(errors).toEqual([]);
    const consumer = spans.find((s) => s.spanId === res.consumerSpan)!;
    expect(consumer.parentSpanId).toBe(pubSpan);
    expect(consumer.traceId).toBe(pubTrace);
    expect(consumer.name).toBe('process troupe.prop.a');
    expect(consumer.resource).toMatchObject({ service: 'prop-test', role: 'tester', pid: process.pid });
    const publish = spans.find((s) => s.spanId === pubSpan)!;
    expect(publish.attributes).toMatchObject({ 'messaging.system': 'nats', 'messaging.destination.name': 'troupe.prop.a', 'messaging.message.id': 'id-1' });
    expect(spans.find((s) => s.spanId === publish.parentSpanId)?.name).toBe('root');
  });

  it('a message without trace headers starts a new trace, not a child of whatever is active', async () => {
    let outerTrace = '';
    const res = await withSpan('unrelated outer', {}, async () => {
      outerTrace = activeTraceId()!;
      return roundTrip('troupe.prop.b', (data) => nc.publish('troupe.prop.b', data));
    });
    expect(res.consumerTrace).toMatch(/^[0-9a-f]{32}$/);
    expect(res.consumerTrace).not.toBe(outerTrace);
    await tracing.flush();
    const { spans } = parseSpanLines(readFileSync(tracing.spanFile!, 'utf8'));
    expect(spans.find((s) => s.spanId === res.consumerSpan)!.parentSpanId).toBeUndefined();
  });

  it('extracts context from headers whose names arrive in another case', () => {
    const tid = '4bf92f3577b34da6a3ce929d0e0e4736';
    const map = new Map([['Traceparent', `00-${tid}-00f067aa0ba902b7-01`]]);
    const carrier = { get: (k: string) => map.get(k) ?? '', set: (k: string, v: string) => void map.set(k, v), keys: () => [...map.keys()] };
    const ctx = extractTraceContext(carrier);
    expect(trace.getSpanContext(ctx)?.traceId).toBe(tid);
    expect(trace.getSpanContext(ctx)?.spanId).toBe('00f067aa0ba902b7');
    // and inject writes the active context back out
    const out = headers();
    withSpan('inject', {}, () => injectTraceHeaders(out));
    expect(out.get('traceparent')).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  });

  it('exports spans over OTLP/HTTP, redacted', async () => {
    await withSpan('otlp check', { attributes: { password: 'hunter2', 'http.url': 'https://bob:pw123@example.com/x', 'gen_ai.usage.input_tokens': 42 } }, () => {});
    await tracing.flush();
    await expect.poll(() => otlpBodies.some((b) => b.body.includes('otlp check')), { timeout: 5000 }).toBe(true);
    expect(otlpBodies.every((b) => b.path === '/v1/traces')).toBe(true);
    const all = otlpBodies.map((b) => b.body).join('\n');
    expect(all).not.toContain('hunter2');
    expect(all).not.toContain('pw123');
    expect(all).toContain('[REDACTED]');
    expect(all).toContain('process troupe.prop.a');
  });
});
