// `npx tsx bench/study/salvage.ts --scale S --run train [--started ISO]`: the result of a synthesis run
// that was stopped before it finished (for time), read back from its own NATS store — the dataset
// records (verified dialogues), failed dialogues and dropped items the society had published — and
// written as `synth/<run>.json` with `complete: false`, so the later stages can go on. Stop the
// synthesis process first: the store is opened by this process.
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { openNatsSession } from '../../runtime/nats/session.ts';
import { readDataset } from '../../actors/dataset/role.ts';
import { MESSAGE_PREFIX, MESSAGE_STREAM } from '../../protocols/subjects.ts';
import { decodeEnvelope } from '../../protocols/envelope.ts';
import type { FailureReport, ItemDropped } from '../../protocols/synthesis.ts';
import { SCALES } from './scales.ts';
import type { SynthRunResult } from './pipeline.ts';

const here = dirname(fileURLToPath(import.meta.url));

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { scale: { type: 'string', default: 'medium' }, run: { type: 'string', default: 'train' }, out: { type: 'string' } } });
  const scale = SCALES[values.scale!];
  if (!scale) throw new Error(`unknown scale ${values.scale}`);
  const name = values.run!;
  const spec = (scale.synth as unknown as Record<string, SynthRunResult['spec'] | undefined>)[name] ?? scale.synth.more?.find((m) => m.name === name);
  if (!spec) throw new Error(`scale ${scale.name} has no synthesis run "${name}"`);
  const out = resolve(values.out ?? join(here, '..', 'results', 'study', scale.name));
  const target = join(out, 'synth', `${name}.json`);
  if (existsSync(target)) throw new Error(`${target} exists: that run finished; nothing to salvage`);
  const dir = join(out, 'synth', name);
  if (!existsSync(join(dir, 'nats'))) throw new Error(`no NATS store at ${join(dir, 'nats')}`);
  const runId = `study-${scale.name}-${name}`;
  const session = await openNatsSession(undefined, { runDir: dir, name: `troupe-study-salvage-${name}` });
  try {
    const records = await readDataset(session.nc, { runId });
    const failures: FailureReport[] = [];
    const drops = new Map<string, ItemDropped>();
    let first = Infinity, last = -Infinity;
    const jsm = await jetstreamManager(session.nc);
    const c = await jsm.consumers.add(MESSAGE_STREAM, { ack_policy: AckPolicy.None, deliver_policy: DeliverPolicy.All, filter_subject: `${MESSAGE_PREFIX}.synth.>`, inactive_threshold: 30e9 });
    const consumer = await jetstream(session.nc).consumers.get(MESSAGE_STREAM, c.name);
    for (;;) {
      const batch = await consumer.fetch({ max_messages: 256, expires: 2000 });
      let got = 0;
      for await (const m of batch) {
        got++;
        const v = decodeEnvelope(m.data);
        if (!v.ok) continue;
        const d = v.envelope.data as { runId?: string };
        if (d.runId !== runId) continue;
        const ts = Number((v.envelope as { sentAt?: number }).sentAt);
        if (Number.isFinite(ts)) { first = Math.min(first, ts); last = Math.max(last, ts); }
        if (v.envelope.kind === 'synth.failure.reported') failures.push(d as FailureReport);
        // One drop per item (an item's drop may be on the stream more than once: redelivered work).
        else if (v.envelope.kind === 'synth.item.dropped') drops.set((d as ItemDropped).itemId, d as ItemDropped);
      }
      if (!got) break;
    }
    // Stopped, not finished: the wall time is from the run's first message to its last.
    const seconds = (last - first) / 1000;
    const res: SynthRunResult = {
      name, spec, runId, complete: false, seconds: Number.isFinite(seconds) && seconds > 0 ? seconds : NaN,
      counts: { runId, items: spec.plans * spec.tasksPerPlan, salvaged: true, dialoguesPlayed: records.length + failures.length, dialoguePassed: records.length, dialogueFailed: failures.length, dropped: drops.size },
      drops: [...drops.values()].map((d) => ({ stage: d.stage, reasons: d.reasons })),
      records,
      failures,
    };
    writeFileSync(target, JSON.stringify(res, null, 2) + '\n');
    console.log(`salvaged ${name}: ${records.length} verified, ${failures.length} failed, ${drops.size} dropped → ${target}`);
  } finally {
    await session.close();
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
