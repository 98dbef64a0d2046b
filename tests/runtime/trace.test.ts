// Integration: one item's trace crosses processes. The test process publishes inside a root span;
// stage-a, stage-b and stage-c (three worker processes) continue it from the NATS headers; their
// JSONL span files in the run directory hold spans of that one trace id.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PipelineDone, PipelineStage0, type PipelineItem } from '../../protocols/runtime-messages.ts';
import { Bus } from '../../runtime/nats/bus.ts';
import { parseSocietyConfig } from '../../runtime/society/config.ts';
import { Society } from '../../runtime/society/society.ts';
import { initTracing, withSpan, activeTraceId, type TracingHandle, type SpanRecord } from '../../runtime/tracing/index.ts';
import { collect, startTestNats, type TestNats } from '../helpers/nats.ts';
import { TEST_ROLES } from '../fixtures/roles/catalog.ts';

let nats: TestNats;
let society: Society;
let tracing: TracingHandle;

beforeAll(async () => {
  nats = await startTestNats();
  process.env.TROUPE_RUNS_DIR = nats.dir;
  society = new Society({ catalog: TEST_ROLES, config: parseSocietyConfig({ roles: { 'stage-a': {}, 'stage-b': {}, 'stage-c': {} } }), nats: nats.settings, control: false, log: () => {} });
  await society.start();
  tracing = initTracing({ serviceName: 'test-feeder', runDir: society.runDir });
});

afterAll(async () => {
  await society?.stop();
  await tracing?.shutdown();
  await nats?.stop();
});

function readSpans(runDir: string): SpanRecord[] {
  const dir = join(runDir, 'spans');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as SpanRecord));
}

describe('tracing across processes', () => {
  it('puts publish, process and handle spans of ≥3 processes under one trace id', async () => {
    const bus = new Bus(nats.nc, { role: 'feeder', instance: 'feeder-trace' });
    let traceId: string | undefined;
    await withSpan('feed one item', {}, async () => {
      traceId = activeTraceId();
      await bus.publish(PipelineStage0, { seq: 1, payload: 'traced', hops: [] }, { key: 'traced-1' });
    });
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    await collect<PipelineItem>(nats.nc, PipelineDone.subject, (g) => g.length >= 1, { timeoutMs: 20_000 });
    await tracing.flush();

    let spans: SpanRecord[] = [];
    for (let i = 0; i < 50; i++) {
      // Workers write their JSONL files every 200 ms; wait for stage-c's handler span to land.
      spans = readSpans(society.runDir).filter((s) => s.traceId === traceId);
      if (spans.some((s) => s.name === 'handle stage-c pipeline.stage2')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const pids = new Set(spans.map((s) => s.resource.pid));
    expect(pids.size).toBeGreaterThanOrEqual(4); // feeder + three stages
    for (const name of ['handle stage-a pipeline.stage0', 'handle stage-b pipeline.stage1', 'handle stage-c pipeline.stage2']) {
      expect(spans.map((s) => s.name)).toContain(name);
    }
    // Causality: every span but the root has its parent in the same trace.
    const ids = new Set(spans.map((s) => s.spanId));
    const roots = spans.filter((s) => !s.parentSpanId || !ids.has(s.parentSpanId));
    expect(roots.map((s) => s.name)).toEqual(['feed one item']);
  }, 60_000);
});
