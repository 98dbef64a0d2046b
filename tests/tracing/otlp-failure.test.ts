// An unreachable OTLP collector is reported on stderr, never silently; the JSONL file still gets every span.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { initTracing, withSpan } from '../../runtime/tracing/index.ts';
import { freePort } from './nats-server.ts';

describe('OTLP export failure', () => {
  const dir = mkdtempSync(join(tmpdir(), 'troupe-otlpfail-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('warns once with the reason and a count, and keeps writing the span file', async () => {
    const errors: string[] = [];
    const spy = vi.spyOn(console, 'error').mockImplementation((m: unknown) => void errors.push(String(m)));
    const port = await freePort(); // nothing listens here
    const tracing = initTracing({ serviceName: 'otlp-fail', runDir: dir, otlpEndpoint: `http://127.0.0.1:${port}/`, otlpTimeoutMs: 2000 });
    expect(tracing.otlpUrl).toBe(`http://127.0.0.1:${port}/v1/traces`);
    withSpan('lost in transit', { attributes: { token: 'abc' } }, () => {});
    await tracing.flush();
    await expect.poll(() => errors.filter((e) => e.includes('failed')).length, { timeout: 20_000, interval: 200 }).toBe(1);
    expect(errors[0]).toMatch(new RegExp(`^tracing: OTLP export to http://127\\.0\\.0\\.1:${port}/v1/traces failed \\(.+\\); 1 span\\(s\\) dropped in 1 failed export`));
    await tracing.shutdown();
    spy.mockRestore();
    const lines = readFileSync(tracing.spanFile!, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.name)).toEqual(['lost in transit']);
    expect(lines[0].attributes.token).toBe('[REDACTED]');
  }, 30_000);
});
