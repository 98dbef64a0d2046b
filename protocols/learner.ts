// Message kinds of the learner role: its progress, step by step, and each policy it hands to the
// model servers (so `troupe watch` and dashboards can follow a training run on the bus).
import { z } from 'zod';
import { defineMessage } from './envelope.ts';

export const LearnStepSchema = z.object({
  runId: z.string(),
  mode: z.enum(['sft', 'user-sft', 'grpo']),
  step: z.number().int().nonnegative(),
  totalSteps: z.number().int().nonnegative(),
  /** Policy version after this step (GRPO: bumped by each update). */
  policyVersion: z.number().int().nonnegative(),
  /** Null when the step was skipped (no informative group). */
  loss: z.number().nullable(),
  /** Mean reward over every rollout drawn this step, before filtering. */
  reward: z.number().nullable(),
  clipFrac: z.number().nullable(),
  gradNorm: z.number().nullable(),
  filteredFrac: z.number().nullable(),
  groups: z.object({
    attempts: z.number().int().nonnegative(),
    kept: z.number().int().nonnegative(),
    droppedAllSuccess: z.number().int().nonnegative(),
    droppedAllFailure: z.number().int().nonnegative(),
    droppedStale: z.number().int().nonnegative(),
    short: z.boolean(),
  }).optional(),
  trainTokens: z.number().int().nonnegative(),
  tokensPerSec: z.number().nonnegative(),
  seconds: z.number().nonnegative(),
  skipped: z.boolean(),
});
export type LearnStep = z.infer<typeof LearnStepSchema>;

export const PolicyPublishedSchema = z.object({
  runId: z.string(),
  step: z.number().int().nonnegative(),
  policyVersion: z.number().int().nonnegative(),
  ok: z.boolean(),
  /** Object store reference without credentials. */
  ref: z.string().optional(),
  sha256: z.string().optional(),
  bytes: z.number().int().nonnegative().optional(),
  error: z.string().optional(),
  servers: z.array(z.object({ url: z.string(), ok: z.boolean(), error: z.string().optional() })),
});
export type PolicyPublished = z.infer<typeof PolicyPublishedSchema>;

export const LearnStepCompleted = defineMessage('learn.step.completed', LearnStepSchema, { description: 'one training step of the learner finished (metrics)' });
export const LearnPolicyPublished = defineMessage('learn.policy.published', PolicyPublishedSchema, { description: 'the learner published a policy version and asked the model servers to reload it' });

// ---------------------------------------------------------------------------------------------
// Work for the hosted learner (`troupe worker --roles learner`): one message starts a training run,
// one reports how it ended. The run's configuration travels in the message, in the shape of
// `troupe train --config FILE` (actors/learner/config.ts checks it; this schema only frames it).

export const LearnRunRequestSchema = z.object({
  /** Names the run (its directory is `<runs dir>/learn-<runId>` unless `config.output.dir` says otherwise). */
  runId: z.string().min(1).max(120).regex(/^[A-Za-z0-9._-]+$/, 'runId: letters, digits, ".", "_" and "-" only'),
  mode: z.enum(['sft', 'user-sft', 'grpo']),
  /** The training configuration as `troupe train --config` reads it (TOML/JSON as an object). */
  config: z.record(z.string(), z.unknown()).default({}),
});
export type LearnRunRequest = z.infer<typeof LearnRunRequestSchema>;

export const LearnRunResultSchema = z.object({
  runId: z.string(),
  mode: z.enum(['sft', 'user-sft', 'grpo']),
  ok: z.boolean(),
  /** Run directory (metrics.jsonl, report.md, checkpoint/, weights) on the learner's machine. */
  dir: z.string().optional(),
  report: z.string().optional(),
  /** The run report's summary (steps, rewards, published versions, …). */
  summary: z.record(z.string(), z.unknown()).optional(),
  error: z.string().optional(),
});
export type LearnRunResult = z.infer<typeof LearnRunResultSchema>;

export const LearnRunRequested = defineMessage('learn.run.requested', LearnRunRequestSchema, { description: 'start a training run of the learner (configuration in the message)' });
export const LearnRunCompleted = defineMessage('learn.run.completed', LearnRunResultSchema, { description: 'a training run of the learner ended (report, summary, or the error)' });
