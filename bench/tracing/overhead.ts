// Cost of tracing one bus hop (publish + process + handle spans) in-process, without NATS:
// no tracing installed / SDK with no exporter / SDK + JSONL span file (with redaction).
// Run: npx tsx bench/tracing/overhead.ts   (each mode runs in its own child process)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { headers } from '@nats-io/transport-node';
import { initTracing, withConsumeSpan, withHandlerSpan, withPublishSpan } from '../../runtime/tracing/index.ts';
import { redactAttributes } from '../../runtime/tracing/redact.ts';

const HOPS = 20_000;
const REPS = 5;

async function hop(i: number): Promise<void> {
  const h = headers();
  const info = { kind: 'pipeline.stage0', messageId: `id-${i}`, size: 200 };
  await withPublishSpan('troupe.msg.pipeline.stage0', h, { ...info, role: 'stage0', instance: 'stage0-host-1' }, async () => {});
  await withConsumeSpan('troupe.msg.pipeline.stage0', h, { ...info, role: 'stage1', instance: 'stage1-host-2' }, () =>
    withHandlerSpan('stage1', 'pipeline.stage0', { 'troupe.impl': 'stage1@1', 'troupe.delivery': 1 }, async () => {}),
  );
}

async function child(mode: string, dir: string): Promise<void> {
  const t = mode === 'off' ? undefined : initTracing({ serviceName: 'bench', ...(mode === 'jsonl' ? { spanFile: join(dir, 'spans.jsonl') } : {}) });
  for (let i = 0; i < 2000; i++) await hop(i); // warm-up
  const per: number[] = [];
  for (let r = 0; r < REPS; r++) {
    const t0 = performance.now();
    for (let i = 0; i < HOPS; i++) await hop(i);
    per.push(((performance.now() - t0) / HOPS) * 1000);
    await t?.flush();
  }
  await t?.shutdown();
  per.sort((a, b) => a - b);
  console.log(JSON.stringify({ mode, medianUsPerHop: +per[Math.floor(REPS / 2)].toFixed(1), minUsPerHop: +per[0].toFixed(1) }));
}

if (process.argv[2] === '--child') {
  await child(process.argv[3], process.argv[4]);
} else {
  const dir = mkdtempSync(join(tmpdir(), 'troupe-bench-tracing-'));
  const self = fileURLToPath(import.meta.url);
  console.log(`tracing overhead per hop (publish + process + handle spans), ${HOPS} hops × ${REPS} reps, median`);
  console.log('| mode | µs per hop (median) | µs per hop (best) |\n| --- | --- | --- |');
  for (const mode of ['off', 'sdk', 'jsonl']) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', self, '--child', mode, dir], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${mode}: ${r.stderr}`);
    const res = JSON.parse(r.stdout.trim().split('\n').pop()!);
    console.log(`| ${mode} | ${res.medianUsPerHop} | ${res.minUsPerHop} |`);
  }
  const attrs = { 'messaging.system': 'nats', 'messaging.destination.name': 'troupe.msg.pipeline.stage0', 'messaging.operation.type': 'process', 'messaging.message.id': 'id-123', 'troupe.message.kind': 'pipeline.stage0', 'troupe.role': 'stage1', 'troupe.instance': 'stage1-host-124', 'messaging.message.body.size': 200 };
  const t0 = performance.now();
  for (let i = 0; i < 100_000; i++) redactAttributes(attrs);
  console.log(`redactAttributes, 8 typical attributes: ${(((performance.now() - t0) / 100_000) * 1000).toFixed(2)} µs`);
  rmSync(dir, { recursive: true, force: true });
}
