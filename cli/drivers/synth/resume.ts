// What the stream and the dataset already hold for a synthesis run: its request and every message it
// produced, so `troupe synth --resume RUN` can continue it and count what is already done.
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { decodeEnvelope, type Envelope } from '../../../protocols/envelope.ts';
import { SynthRunRequestSchema, SynthRunRequested, type SynthRunRequest } from '../../../protocols/synthesis.ts';
import { MESSAGE_PREFIX, MESSAGE_STREAM } from '../../../protocols/subjects.ts';
import { subjectReader } from '../../../runtime/nats/read.ts';
import { readDataset } from '../../../actors/dataset/role.ts';

export interface RunHistory {
  /** The run's request as first stored (undefined: the run never started here). */
  request?: SynthRunRequest;
  envelopes: Envelope<unknown>[];
}

/**
 * Every `troupe.msg.synth.*` message of `runId` in the message stream, in stream order, plus the
 * run's dataset records (as `synth.dataset.record` envelopes, so a record whose message aged out of
 * the stream still counts as passed; the funnel counts an item once however often it is seen).
 */
export async function loadRunHistory(nc: NatsConnection, runId: string): Promise<RunHistory> {
  const envelopes: Envelope<unknown>[] = [];
  let request: SynthRunRequest | undefined;
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(MESSAGE_STREAM);
  if (info.state.messages > 0) {
    const consumer = await subjectReader(nc, `${MESSAGE_PREFIX}.synth.>`, { from: 'all' });
    // Bounded: stop at the end of what the stream held when we started (pending 0) or on an empty pull.
    for (let more = true; more; ) {
      const batch = await consumer.fetch({ max_messages: 512, expires: 2_000 });
      more = false;
      for await (const m of batch) {
        more = m.info.pending > 0;
        const v = decodeEnvelope(m.data);
        if (!v.ok || (v.envelope.data as { runId?: string } | undefined)?.runId !== runId) continue;
        envelopes.push(v.envelope);
        if (!request && v.envelope.kind === SynthRunRequested.kind) request = SynthRunRequestSchema.parse(v.envelope.data);
      }
    }
    await consumer.delete().catch(() => {});
  }
  for (const r of await readDataset(nc, { runId })) {
    envelopes.push({ id: `dataset:${r.recordId}`, kind: 'synth.dataset.record', v: 1, from: { role: 'dataset', instance: 'dataset-stream' }, sentAt: 0, data: r } as Envelope<unknown>);
  }
  return { request, envelopes };
}
