// The evolver's messages: one per finished round, so anyone on the bus (`troupe watch`, a
// dashboard) sees what the evolver decided and on what numbers. Counts only; the texts and diffs
// live in the instructions KV bucket (lineage) and in the run report.
import { z } from 'zod';
import { defineMessage } from './envelope.ts';

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
