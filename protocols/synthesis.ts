// The data society's language (issue 8): run requests, plan pairs, task proposals, critic verdicts,
// validated checkers, played dialogues, failure reports with blame, dropped items, dataset records.
//
// Accounting rule: a run asks for plans × tasksPerPlan *items*; every item ends in exactly one
// terminal message — `synth.item.dropped` (with the stage that lost it), `synth.failure.reported`
// (dialogue failed its checker, with blame) or `synth.dataset.record` — so the funnel adds up.
import { z } from 'zod';
import { defineMessage } from './envelope.ts';
import { TaskSchema, EvaluationCriteriaSchema } from './tau2/task.ts';
import { MessageSchema } from './tau2/results.ts';

const JsonObject = z.record(z.string(), z.unknown());

/** Who made an item: one entry per role that touched it. */
export const RoleProvenanceSchema = z.object({
  impl: z.string(),
  instance: z.string().optional(),
  /** Model id as the endpoint reported it (or the configured one); null for deterministic roles. */
  model: z.string().nullable(),
  /** Revision of the role's instructions in the instructions KV bucket; null when it used none. */
  instructionsRevision: z.number().int().nullable(),
  /** The KV key those instructions were read from: the role's own (`critic`) or a run's override (`candidate.critic`). */
  instructionsKey: z.string().optional(),
  /** Revision of the workflow parameters used (`params.<role>` or the override key); null when none were set. */
  paramsRevision: z.number().int().nullable().optional(),
  /** The KV key the parameters were read from, when not `params.<role>`. */
  paramsKey: z.string().optional(),
});
export type RoleProvenance = z.infer<typeof RoleProvenanceSchema>;

/**
 * Per-run KV keys that replace a role's own keys for that run's items only: role R reads its
 * instructions from `instructions[R]` (e.g. `candidate.critic`) instead of `R`, and its workflow
 * parameters from `params[R]` instead of `params.R`. Lets a candidate run beside the live revision.
 */
export const RunOverridesSchema = z.object({
  instructions: z.record(z.string(), z.string()).optional(),
  params: z.record(z.string(), z.string()).optional(),
});
export type RunOverrides = z.infer<typeof RunOverridesSchema>;

/**
 * The lowest revision of each KV key (`critic`, `params.critic`, `candidate.critic`, …) a run's items
 * may read: what the run is credited to or validates. A host whose live view of a key is still
 * behind (its watch has not delivered the write yet) reads the key again instead of running the item
 * on an older revision, so the same run request gives the same items whatever the timing.
 */
export const RunRevisionsSchema = z.record(z.string(), z.number().int().positive());
export type RunRevisions = z.infer<typeof RunRevisionsSchema>;

export const ProvenanceSchema = z.object({
  runId: z.string(),
  planId: z.string(),
  itemId: z.string(),
  /** W3C trace id of the item's trace (one trace from plan to record). */
  traceId: z.string().nullable(),
  roles: z.record(z.string(), RoleProvenanceSchema),
  /** Model tokens spent on this item so far, all roles (the plan's share included). */
  tokens: z.object({ prompt: z.number().int(), completion: z.number().int() }),
  /** Copied from the run request, so every downstream role can resolve them per item. */
  overrides: RunOverridesSchema.optional(),
  /** Copied from the run request (RunRevisionsSchema). */
  revisions: RunRevisionsSchema.optional(),
  seed: z.number().int().optional(),
  validation: z.boolean().optional(),
});
export type Provenance = z.infer<typeof ProvenanceSchema>;

export const TierSchema = z.enum(['easy', 'medium', 'hard']);

/**
 * What the user wants, which decides how the task is checked: `write` (the agent changes the state;
 * checked on the changed leaves), `info` (the agent must tell the user values it looks up: τ²'s
 * `communicate_info`; nothing may be written), `refusal` (the policy forbids the request: nothing
 * may be written and the agent must say no), `multi-intent` (two or more writes in one dialogue).
 */
export const TaskKindSchema = z.enum(['write', 'info', 'refusal', 'multi-intent']);
export type TaskKind = z.infer<typeof TaskKindSchema>;

/** A synthesis plan: what kind of task to write. */
export const SynthesisPlanSchema = z.object({
  tier: TierSchema,
  /** Tool-use patterns required, e.g. `lookup:get_users`, `write:update_task_status`, `multi-write`. */
  toolPatterns: z.array(z.string()).min(1),
  userStyle: z.string(),
  persona: z.string(),
  goal: z.string(),
  /** The intent structure of the plan's tasks (absent: `write`, what plans written before kinds existed meant). */
  taskKind: TaskKindSchema.optional(),
});
export type SynthesisPlan = z.infer<typeof SynthesisPlanSchema>;

/** An evaluation plan: how to judge it, and the failure kinds to attribute. */
export const EvaluationPlanSchema = z.object({
  rubric: z.array(z.string()).min(1),
  failureTaxonomy: z.array(z.string()).min(1),
});
export type EvaluationPlan = z.infer<typeof EvaluationPlanSchema>;

/**
 * Workflow parameters of a synthesis role, stored as data at `params.<role>` in the instructions KV
 * bucket and read per item (a new revision is used by the next item). Every field is optional: an
 * absent field keeps the role's built-in default. Unknown fields are an error, so a typo cannot be
 * silently ignored. Which role honours what:
 * - all LLM roles (meta-planner, scriptwriter, critic, verifier): `temperature`, `maxTokens`;
 * - critic: `votes` (odd number of LLM reviews, majority verdict; 1 = a single review),
 *   `maxRevisions` (revision rounds; overrides the run request's value);
 * - meta-planner: `tierQuotas` (share of a run's plans per tier; the planner is told which tier to
 *   write for each slot, largest-remainder rounding, in the order easy → medium → hard).
 */
export const SynthRoleParamsSchema = z
  .object({
    temperature: z.number().min(0).max(2).optional(),
    maxTokens: z.number().int().positive().max(8192).optional(),
    votes: z.number().int().positive().max(9).refine((n) => n % 2 === 1, { message: 'votes must be odd (majority verdict)' }).optional(),
    maxRevisions: z.number().int().min(0).max(10).optional(),
    tierQuotas: z.partialRecord(TierSchema, z.number().min(0)).refine((q) => Object.values(q).some((x) => (x ?? 0) > 0), { message: 'tierQuotas needs a positive share' }).optional(),
  })
  .strict();
export type SynthRoleParams = z.infer<typeof SynthRoleParamsSchema>;

/**
 * A domain's plan library (`plan.<domain>` in the instructions bucket, revisioned with lineage like
 * every value there): plans the meta-planner issues, in order, for the first slots of a run that
 * gives no `fixedPlans`; later slots are written by its model, kept apart from these.
 */
export const PlanLibrarySchema = z.array(z.object({ synthesis: SynthesisPlanSchema, evaluation: EvaluationPlanSchema })).min(1);
export type PlanLibrary = z.infer<typeof PlanLibrarySchema>;

export const SynthRunRequestSchema = z.object({
  runId: z.string(),
  domain: z.string(),
  plans: z.number().int().positive(),
  tasksPerPlan: z.number().int().positive(),
  /** Critic "revise" verdicts allowed per item before a revise counts as reject (`params.critic.maxRevisions` overrides). */
  maxRevisions: z.number().int().min(0),
  /** This run's items read these KV keys instead of the roles' own (see RunOverridesSchema). */
  overrides: RunOverridesSchema.optional(),
  /** The lowest revision of each KV key this run's items may read (see RunRevisionsSchema). */
  revisions: RunRevisionsSchema.optional(),
  /** Issue exactly these plans, in order, instead of asking the model (`plans` must equal their count). */
  fixedPlans: z.array(z.object({ synthesis: SynthesisPlanSchema, evaluation: EvaluationPlanSchema })).min(1).optional(),
  /** Base sampling seed: roles pass base + a stable per-item offset as `seed` on their LLM calls. */
  seed: z.number().int().optional(),
  /** A validation run: checked against accepted-task signatures but never added to them; no dataset writes. */
  validation: z.boolean().optional(),
}).refine((r) => !r.fixedPlans || r.fixedPlans.length === r.plans, { message: 'plans must equal the number of fixedPlans', path: ['plans'] });
export type SynthRunRequest = z.infer<typeof SynthRunRequestSchema>;

export const PlanIssuedSchema = z.object({
  runId: z.string(),
  domain: z.string(),
  planId: z.string(),
  index: z.number().int().min(0),
  tasksPerPlan: z.number().int().positive(),
  maxRevisions: z.number().int().min(0),
  synthesis: SynthesisPlanSchema,
  evaluation: EvaluationPlanSchema,
  /** Non-overlap check: the measure, and the highest similarity to an earlier plan of the run. */
  /**
   * Non-overlap check on the plan's structural signature (docs/synthesis.md): `maxSimilarity` = 1 −
   * the smallest signature distance to an earlier plan of the run; `threshold` the similarity at or
   * above which a written plan is refused; `signature` the plan's signature, `distances` its distance
   * to each earlier plan (for the run report's distribution).
   */
  overlap: z.object({
    measure: z.string(),
    maxSimilarity: z.number(),
    threshold: z.number(),
    attempts: z.number().int(),
    signature: z.record(z.string(), z.unknown()).optional(),
    distances: z.array(z.number()).optional(),
  }),
  /** Set when no acceptable plan could be written for this slot: its items are dropped at stage "plan". */
  rejected: z.array(z.string()).optional(),
  /** Set when the plan came from the domain's plan library (`plan.<domain>` in the instructions bucket). */
  library: z.object({ key: z.string(), revision: z.number().int(), index: z.number().int().min(0) }).optional(),
  provenance: ProvenanceSchema,
});
export type PlanIssued = z.infer<typeof PlanIssuedSchema>;

/** A read-tool call the scriptwriter made while exploring, with what it returned. */
export const ExplorationStepSchema = z.object({ name: z.string(), arguments: JsonObject, output: z.string(), error: z.boolean() });
export type ExplorationStep = z.infer<typeof ExplorationStepSchema>;

export const CriticCheckSchema = z.object({ name: z.string(), ok: z.boolean(), detail: z.string() });
export type CriticCheck = z.infer<typeof CriticCheckSchema>;

export const VerdictSchema = z.enum(['accept', 'revise', 'reject']);
export type Verdict = z.infer<typeof VerdictSchema>;

export const CriticVerdictSchema = z.object({
  round: z.number().int().min(0),
  verdict: VerdictSchema,
  checks: z.array(CriticCheckSchema),
  /** The LLM review (null when the deterministic checks already rejected). */
  review: z.object({ verdict: VerdictSchema, reasons: z.array(z.string()) }).nullable(),
  reasons: z.array(z.string()),
});
export type CriticVerdict = z.infer<typeof CriticVerdictSchema>;

export const TaskProposalSchema = z.object({
  runId: z.string(),
  domain: z.string(),
  planId: z.string(),
  itemId: z.string(),
  /** 0 for the first draft, +1 per critic "revise". */
  round: z.number().int().min(0),
  plan: PlanIssuedSchema.pick({ synthesis: true, evaluation: true, maxRevisions: true }),
  /** The task in τ²'s schema (gold actions in evaluation_criteria.actions). */
  task: TaskSchema,
  exploration: z.array(ExplorationStepSchema),
  /** Executing the gold actions on a scratch environment. */
  expected: z.object({
    initialAgentHash: z.string().nullable(),
    finalAgentHash: z.string().nullable(),
    initialUserHash: z.string().nullable(),
    finalUserHash: z.string().nullable(),
    goldErrors: z.array(z.object({ actionId: z.string(), name: z.string(), error: z.string() })),
  }),
  /**
   * What the task asks and how it is checked beyond the state diff: its kind; for `info`, the values
   * the agent must tell (τ² communicate_info); for `refusal`, the write the user asks for that the
   * policy forbids (the checker requires that it did not happen and that the agent said no).
   */
  intent: z.object({
    kind: TaskKindSchema,
    communicate: z.array(z.string()).optional(),
    forbidden: z.array(z.object({ name: z.string(), arguments: JsonObject })).optional(),
  }).optional(),
  /** How the exploration was made: by the scriptwriter's model calling read tools, or the scripted fallback (with why). */
  explorer: z.object({ mode: z.enum(['model', 'scripted-fallback']), modelCalls: z.number().int(), reason: z.string().optional() }).optional(),
  /** Earlier critic reasons this draft answers (revisions). */
  revisionOf: z.array(z.string()).optional(),
  /** Critic verdicts of the earlier rounds (kept through revisions for the record). */
  verdicts: z.array(CriticVerdictSchema).optional(),
  provenance: ProvenanceSchema,
});
export type TaskProposal = z.infer<typeof TaskProposalSchema>;

export const TaskReviewedSchema = TaskProposalSchema.extend({ verdicts: z.array(CriticVerdictSchema) });
export type TaskReviewed = z.infer<typeof TaskReviewedSchema>;

/** One validation run of a checker on a known state. */
export const CheckerValidationSchema = z.object({
  case: z.string(),
  /** What the checker must answer on this state. */
  expectPass: z.boolean(),
  status: z.string(),
  pass: z.boolean(),
  reasons: z.array(z.string()),
  ok: z.boolean(),
});
export type CheckerValidation = z.infer<typeof CheckerValidationSchema>;

export const CheckerSchema = z.object({
  /** JavaScript source defining `function check(initialState, finalState, trajectory)`. */
  source: z.string(),
  /** `llm`: the verifier's model chose the checks; `diff`: compiled from the whole gold diff. */
  origin: z.enum(['llm', 'diff']),
  validation: z.array(CheckerValidationSchema),
  /** Validation of an earlier candidate that failed (kept for the record). */
  rejectedCandidates: z.array(z.object({ origin: z.string(), validation: z.array(CheckerValidationSchema) })),
});
export type Checker = z.infer<typeof CheckerSchema>;

export const TaskReadySchema = TaskReviewedSchema.extend({ checker: CheckerSchema, criteria: EvaluationCriteriaSchema });
export type TaskReady = z.infer<typeof TaskReadySchema>;

export const DialogueSummarySchema = z.object({
  dialogueId: z.string(),
  terminationReason: z.string(),
  messages: z.array(MessageSchema),
  steps: z.number().int(),
  agentTokens: z.object({ prompt: z.number().int(), completion: z.number().int() }),
  userTokens: z.object({ prompt: z.number().int(), completion: z.number().int() }),
  error: z.string().nullable(),
});
export type DialogueSummary = z.infer<typeof DialogueSummarySchema>;

export const DialoguePlayedSchema = TaskReadySchema.extend({ dialogue: DialogueSummarySchema });
export type DialoguePlayed = z.infer<typeof DialoguePlayedSchema>;

export const CheckerRunSchema = z.object({ status: z.string(), pass: z.boolean(), reasons: z.array(z.string()) });

export const DialogueFailedSchema = DialoguePlayedSchema.extend({ checkerRun: CheckerRunSchema });
export type DialogueFailed = z.infer<typeof DialogueFailedSchema>;

export const BlameSchema = z.object({
  /** `task`: the task was flawed (ambiguous, infeasible); `trajectory`: the agent or user went wrong. */
  blame: z.enum(['task', 'trajectory']),
  /** A kind from the plan's failure taxonomy. */
  kind: z.string(),
  reason: z.string(),
});
export type Blame = z.infer<typeof BlameSchema>;

export const FailureReportSchema = DialogueFailedSchema.extend({ blame: BlameSchema });
export type FailureReport = z.infer<typeof FailureReportSchema>;

export const DropStageSchema = z.enum(['plan', 'draft', 'critic', 'checker', 'rollout']);
export type DropStage = z.infer<typeof DropStageSchema>;

export const ItemDroppedSchema = z.object({
  runId: z.string(),
  planId: z.string(),
  itemId: z.string(),
  stage: DropStageSchema,
  reasons: z.array(z.string()),
  /** The item as far as it got (task, verdicts, checker), when there was one. */
  detail: JsonObject.optional(),
  provenance: ProvenanceSchema,
});
export type ItemDropped = z.infer<typeof ItemDroppedSchema>;

/** A dataset record: a task, its checker, and a dialogue that passed the checker. */
export const DatasetRecordSchema = z.object({
  /** Idempotency key: `<runId>/<itemId>`; a redelivered message cannot make a second record. */
  recordId: z.string(),
  runId: z.string(),
  domain: z.string(),
  task: TaskSchema,
  plan: PlanIssuedSchema.pick({ synthesis: true, evaluation: true }),
  checker: CheckerSchema,
  criteria: EvaluationCriteriaSchema,
  dialogue: DialogueSummarySchema,
  checkerRun: CheckerRunSchema,
  verdicts: z.array(CriticVerdictSchema),
  /** The task's kind and what beyond the state it checks (see TaskProposalSchema.intent). */
  intent: TaskProposalSchema.shape.intent,
  /** OpenAI tool schemas the agent was offered (for SFT export). */
  agentTools: z.array(JsonObject),
  agentSystemPrompt: z.string(),
  provenance: ProvenanceSchema,
});
export type DatasetRecord = z.infer<typeof DatasetRecordSchema>;

export const SynthRunRequested = defineMessage('synth.run.requested', SynthRunRequestSchema, { description: 'start a synthesis run (meta-planner)' });
export const PlanIssued = defineMessage('synth.plan.issued', PlanIssuedSchema, { description: 'one synthesis + evaluation plan pair (scriptwriter)' });
export const TaskProposed = defineMessage('synth.task.proposed', TaskProposalSchema, { description: 'a drafted τ² task with gold actions (critic)' });
export const TaskReviseRequested = defineMessage('synth.task.revise', TaskReviewedSchema, { description: 'critic asks the scriptwriter for a revision' });
export const TaskAccepted = defineMessage('synth.task.accepted', TaskReviewedSchema, { description: 'critic accepted (verifier writes the checker)' });
export const TaskReady = defineMessage('synth.task.ready', TaskReadySchema, { description: 'checker validated (rollout)' });
export const DialoguePlayed = defineMessage('synth.dialogue.played', DialoguePlayedSchema, { description: 'rollout finished (verifier runs the checker)' });
export const DialogueFailed = defineMessage('synth.dialogue.failed', DialogueFailedSchema, { description: 'checker failed the dialogue (critic attributes blame)' });
export const FailureReported = defineMessage('synth.failure.reported', FailureReportSchema, { description: 'failed dialogue with blame (evolver)' });
export const ItemDropped = defineMessage('synth.item.dropped', ItemDroppedSchema, { description: 'an item lost before a dialogue, with the stage' });
export const DatasetRecordMsg = defineMessage('synth.dataset.record', DatasetRecordSchema, { description: 'a verified dialogue for the dataset' });

/** Kinds that end an item (exactly one per item). */
export const TERMINAL_KINDS = [ItemDropped.kind, FailureReported.kind, DatasetRecordMsg.kind] as const;

/**
 * JetStream stream holding the dataset, apart from the 7-day work stream: one subject per record
 * (`troupe.dataset.<domain>.<record key>`) and at most one message per subject, so a redelivered
 * record — even after the dedupe window — can never make a second copy.
 */
export const DATASET_STREAM = 'TROUPE_DATASET';
export const DATASET_PREFIX = 'troupe.dataset';
export function datasetSubject(domain: string, recordId: string): string {
  const key = recordId.replace(/[^A-Za-z0-9_-]/g, '_');
  return `${DATASET_PREFIX}.${domain}.${key}`;
}
/** KV bucket of accepted-task signatures per domain (critic's near-duplicate check). */
export const ACCEPTED_TASKS_BUCKET = 'troupe_synth_accepted';
