// The dataset: a JetStream stream (`TROUPE_DATASET`) with one subject per record and at most one
// message per subject, written by the `dataset` role from `synth.dataset.record`. Reading it back
// for `troupe export`. Records of validation runs (the evolver's trial batches) are not stored.
import { jetstream, jetstreamManager, DeliverPolicy, AckPolicy } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { DATASET_PREFIX, DATASET_STREAM, DatasetRecordMsg, DatasetRecordSchema, datasetSubject, type DatasetRecord } from '../../protocols/synthesis.ts';
import type { RoleContext, RoleDefinition } from '../../runtime/host/role.ts';
import { workRole } from '../kit/work-role.ts';
import { storeReplicas } from '../../runtime/nats/streams.ts';

export async function ensureDatasetStream(nc: NatsConnection): Promise<void> {
  const jsm = await jetstreamManager(nc);
  try {
    await jsm.streams.info(DATASET_STREAM);
  } catch {
    await jsm.streams
      .add({
        name: DATASET_STREAM,
        subjects: [`${DATASET_PREFIX}.>`],
        storage: 'file' as any,
        max_msgs_per_subject: 1,
        duplicate_window: 24 * 3600 * 1e9,
        num_replicas: storeReplicas(nc),
      })
      .catch(async (err) => {
        await jsm.streams.info(DATASET_STREAM).catch(() => {
          throw err;
        });
      });
  }
}

/** Store a record once: the subject is per record and the msg id is the record id. */
export async function storeRecord(nc: NatsConnection, rec: DatasetRecord): Promise<{ duplicate: boolean; seq: number }> {
  const ack = await jetstream(nc).publish(datasetSubject(rec.domain, rec.recordId), JSON.stringify(rec), { msgID: rec.recordId });
  return { duplicate: !!ack.duplicate, seq: ack.seq };
}

export function datasetRole(nc: NatsConnection): RoleDefinition {
  return workRole<DatasetRecord>({
    name: 'dataset',
    impl: 'dataset-stream@1',
    consumes: [DatasetRecordMsg],
    produces: [],
    concurrency: 4,
    async run(input) {
      // A validation run's records only count in its funnel: they never enter the dataset.
      if (input.data.provenance.validation) return [];
      await storeRecord(nc, input.data);
      return [];
    },
  });
}

/** For `troupe up` / `troupe worker --roles dataset`: the stream is created if missing. */
export async function createRole(ctx: RoleContext): Promise<RoleDefinition> {
  await ensureDatasetStream(ctx.nc);
  return datasetRole(ctx.nc);
}

/** Every record in the dataset stream (optionally one domain / one run), in stream order. */
export async function readDataset(nc: NatsConnection, opts: { domain?: string; runId?: string } = {}): Promise<DatasetRecord[]> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(DATASET_STREAM).catch(() => null);
  if (!info || info.state.messages === 0) return [];
  const js = jetstream(nc);
  const filter = opts.domain ? `${DATASET_PREFIX}.${opts.domain}.>` : `${DATASET_PREFIX}.>`;
  const c = await jsm.consumers.add(DATASET_STREAM, { ack_policy: AckPolicy.None, max_deliver: 1, deliver_policy: DeliverPolicy.All, filter_subject: filter, inactive_threshold: 30e9 });
  const consumer = await js.consumers.get(DATASET_STREAM, c.name);
  const out: DatasetRecord[] = [];
  const total = info.state.messages;
  let seen = 0;
  while (seen < total) {
    const batch = await consumer.fetch({ max_messages: 256, expires: 2000 });
    let got = 0;
    for await (const m of batch) {
      got++;
      seen = Math.max(seen, m.info.streamSequence - info.state.first_seq + 1);
      const r = DatasetRecordSchema.safeParse(m.json());
      if (!r.success) throw new Error(`dataset record at sequence ${m.seq} is invalid: ${r.error.issues[0]?.message}`);
      if (!opts.runId || r.data.runId === opts.runId) out.push(r.data);
      if (m.info.pending === 0) seen = total;
    }
    if (!got) break;
  }
  await jsm.consumers.delete(DATASET_STREAM, c.name).catch(() => {});
  return out;
}
