// Message kinds the runtime itself uses: dead letters, registry entries, and the pipeline items the
// runtime's own tests and benchmark push through small test roles.
import { z } from 'zod';
import { defineMessage } from './envelope.ts';

/** One hop of a pipeline item: which role, implementation and instance handled it. */
export const HopSchema = z.object({
  role: z.string(),
  impl: z.string(),
  instance: z.string(),
  at: z.number(),
  /** Instructions revision the role ran with, if any. */
  rev: z.number().int().optional(),
});

export const PipelineItemSchema = z.object({
  seq: z.number().int().nonnegative(),
  payload: z.string(),
  hops: z.array(HopSchema),
  /** Test hook: the named role throws on the first delivery of this item. */
  failOnceAt: z.string().optional(),
  /** Test hook: the named role throws on every delivery (a poison item). */
  failAt: z.string().optional(),
  /** Test hook: the handling role sleeps this many ms. */
  workMs: z.number().nonnegative().optional(),
});
export type PipelineItem = z.infer<typeof PipelineItemSchema>;

/** A three-stage test pipeline: stage0 → (stage-a) → stage1 → (stage-b) → stage2 → (stage-c) → done. */
export const PipelineStage0 = defineMessage('pipeline.stage0', PipelineItemSchema, { description: 'item entering the test pipeline' });
export const PipelineStage1 = defineMessage('pipeline.stage1', PipelineItemSchema, { description: 'item after stage-a' });
export const PipelineStage2 = defineMessage('pipeline.stage2', PipelineItemSchema, { description: 'item after stage-b' });
export const PipelineDone = defineMessage('pipeline.done', PipelineItemSchema, { description: 'item after stage-c (sink)' });

export const DeadLetterSchema = z.object({
  reason: z.string(),
  /** Subject the message was published on (or would have been). */
  subject: z.string(),
  kind: z.string().optional(),
  /** The offending body as text (truncated to 64 KiB). */
  body: z.string(),
  headers: z.record(z.string(), z.string()),
  deliveries: z.number().int().nonnegative().optional(),
  /** Who dead-lettered it. */
  by: z.object({ role: z.string(), instance: z.string() }),
  at: z.number(),
});
export type DeadLetter = z.infer<typeof DeadLetterSchema>;

/** One live role instance, as stored in the registry bucket (key = instance id). */
export const InstanceRecordSchema = z.object({
  instance: z.string(),
  role: z.string(),
  impl: z.string(),
  version: z.string(),
  model: z.string().optional(),
  instructionsRevision: z.number().optional(),
  host: z.string(),
  pid: z.number().int(),
  startedAt: z.number(),
  heartbeatAt: z.number(),
  state: z.enum(['starting', 'ready', 'draining', 'stopped']),
  inFlight: z.number().int().nonnegative(),
  handled: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  deadLettered: z.number().int().nonnegative(),
  restarts: z.number().int().nonnegative(),
});
export type InstanceRecord = z.infer<typeof InstanceRecordSchema>;

export const InstanceControlSchema = z.object({ op: z.enum(['drain']) });
export type InstanceControl = z.infer<typeof InstanceControlSchema>;

/** A work run in the run table (KV `troupe_runs`, key = run id). */
export const RunRecordSchema = z.object({
  runId: z.string(),
  state: z.enum(['running', 'cancelled', 'finished']),
  /** What submitted it (`synth`, `evolve`, `eval`, …) and from where. */
  by: z.string(),
  host: z.string().optional(),
  pid: z.number().int().optional(),
  startedAt: z.number(),
  /** The submitter refreshes this while it follows the run; a running run whose heartbeat is stale is dead. */
  heartbeatAt: z.number(),
  endedAt: z.number().optional(),
  reason: z.string().optional(),
});
export type RunRecord = z.infer<typeof RunRecordSchema>;

/** What a host records when it drops a message of a cancelled or dead run (acked, not worked). */
export const RunItemDroppedSchema = z.object({
  runId: z.string(),
  /** `cancelled`, or `dead` (running, but its submitter stopped heartbeating). */
  runState: z.enum(['cancelled', 'dead']),
  kind: z.string(),
  messageId: z.string(),
  role: z.string(),
  instance: z.string(),
  at: z.number(),
});
export const RunItemDropped = defineMessage('run.item.dropped', RunItemDroppedSchema, { description: 'a message of a cancelled or dead run, acked without being worked' });
