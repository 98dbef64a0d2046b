// The evolver's messages: one per finished round, so anyone on the bus (`troupe watch`, a
// dashboard) sees what the evolver decided and on what numbers. Counts only; the texts and diffs
// live in the instructions KV bucket (lineage) and in the run report.
import { z } from 'zod';
import { defineMessage } from './envelope.ts';
import { EvaluationPlanSchema, SynthesisPlanSchema } from './synthesis.ts';

export const ArmOutcomeSchema = z.object({
  runId: z.string(),
  revision: z.number().int().nullable(),
  proposed: z.number().int().nonnegative(),
  accepted: z.number().int().nonnegative(),
  checkersTested: z.number().int().nonnegative(),
  checkersDiscriminating: z.number().int().nonnegative(),
});
export type ArmOutcome = z.infer<typeof ArmOutcomeSchema>;

export const EvolverRoundSchema = z.object({
  /** The evolve session (`troupe evolve` run id). */
  sessionId: z.string(),
  domain: z.string(),
  round: z.number().int().positive(),
  productionRunId: z.string(),
  /** Items and passed dialogues of the round's production run. */
  production: z.object({ items: z.number().int(), passed: z.number().int() }),
  failures: z.number().int().nonnegative(),
  /** Role whose instructions or parameters were revised this round (null: nothing to rewrite, or baseline mode). */
  target: z.string().nullable(),
  /** What the round proposed for the target: a rewrite of its instructions or a revision of its workflow parameters (absent: no candidate). */
  kind: z.enum(['instructions', 'params']).optional(),
  /** The live key the candidate would replace: `<role>` or `params.<role>` (with `kind`). */
  key: z.string().optional(),
  /** `promote`, `rollback`, `no-candidate` (the model gave no usable rewrite), `no-failures`, `no-validation`, `baseline`. */
  outcome: z.enum(['promote', 'rollback', 'no-candidate', 'no-failures', 'no-validation', 'baseline']),
  reason: z.string(),
  current: ArmOutcomeSchema.optional(),
  candidate: ArmOutcomeSchema.optional(),
  /** Revision of the target's key (`key`, else the role's instructions) after the round (the promoted or restored one, or the kept one). */
  liveRevision: z.number().int().nullable(),
  /** Roles whose archived best revision was restored after the decision (`from` → new revision). */
  restored: z.array(z.object({ role: z.string(), from: z.number().int(), revision: z.number().int() })).optional(),
});
export type EvolverRound = z.infer<typeof EvolverRoundSchema>;

export const EvolverRoundCompleted = defineMessage('evolver.round.completed', EvolverRoundSchema, { description: 'an evolver round ended: target role, decision, arm outcomes' });

/** Typed value key (instructions bucket) of the archive of best revisions per role. */
export const EVOLVER_ARCHIVE_KEY = 'params.evolver-archive';

// ---------------------------------------------------------------------------------------------
// Work for the hosted evolver (`troupe worker --roles evolver`): one message starts a session of
// rounds against the society the evolver lives in; one message reports how it ended.

const FixedPlanSchema = z.object({ synthesis: SynthesisPlanSchema, evaluation: EvaluationPlanSchema });

/** An evolve session, as `troupe evolve` would run it (same defaults as its flags). */
export const EvolverRunRequestSchema = z.object({
  /** Names the session: production runs are `<sessionId>-r<round>`, validation arms `…-current` / `…-candidate`. */
  sessionId: z.string().min(1).max(120),
  domain: z.string().min(1),
  rounds: z.number().int().positive().default(2),
  plans: z.number().int().positive().default(2),
  tasksPerPlan: z.number().int().positive().default(1),
  /** Items per validation arm. */
  validationSize: z.number().int().positive().default(2),
  maxRevisions: z.number().int().min(0).default(1),
  seed: z.number().int().min(0).default(1),
  /** Per synthesis run. */
  timeoutMs: z.number().int().positive().default(60 * 60_000),
  /** false: production rounds only (the baseline). */
  evolve: z.boolean().default(true),
  samePlans: z.boolean().default(false),
  /** Plans of every production run (else the meta-planner writes them). */
  fixedPlans: z.array(FixedPlanSchema).min(1).optional(),
  /** Roles the evolver may revise (default: all it knows; checked by the evolver). */
  roles: z.array(z.string()).min(1).optional(),
  /** What a round may propose: `instructions`, `params` (default both; checked by the evolver). */
  kinds: z.array(z.string()).min(1).optional(),
  /** Promotion rule: forgive drops up to z standard errors. */
  z: z.number().min(0).default(1),
  archiveSize: z.number().int().positive().default(5),
  reflectAttempts: z.number().int().positive().default(3),
});
export type EvolverRunRequest = z.infer<typeof EvolverRunRequestSchema>;

export const EvolverRunResultSchema = z.object({
  sessionId: z.string(),
  domain: z.string(),
  /** One line per finished round (the details are in each `evolver.round.completed`). */
  rounds: z.array(
    z.object({
      round: z.number().int().positive(),
      target: z.string().nullable(),
      kind: z.enum(['instructions', 'params']).optional(),
      outcome: EvolverRoundSchema.shape.outcome,
      reason: z.string(),
      production: z.object({ items: z.number().int(), passed: z.number().int() }),
      liveRevision: z.number().int().nullable(),
    }),
  ),
  /** Why the session stopped early, or why it never started (a request the evolver refused). */
  error: z.string().optional(),
});
export type EvolverRunResult = z.infer<typeof EvolverRunResultSchema>;

export const EvolverRunRequested = defineMessage('evolver.run.requested', EvolverRunRequestSchema, { description: 'start an evolve session (rounds of produce → reflect → validate → decide) in the society' });
export const EvolverRunCompleted = defineMessage('evolver.run.completed', EvolverRunResultSchema, { description: 'an evolve session ended: its rounds, or the error that stopped it' });
