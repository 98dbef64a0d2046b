// τ²-bench's Task (`data_model/tasks.py`) as it appears in `tasks.json`, synthesized task files and
// the `tasks` list of a results file. Unknown keys (e.g. airline's `annotations`) are dropped, as
// pydantic's default `extra="ignore"` does. Messages, actions and env calls reuse the shapes in
// ./results.ts so a trajectory and a task's message_history are the same type.
//
// Numbers: parse task files with `domains/pycompat/pyjson.ts` `parse` so that Python floats stay tagged
// (`arguments` are `z.record(..., z.unknown())` and keep PyFloat values untouched).
import { z } from 'zod';
import { ActionSchema, EnvAssertionSchema, EnvFunctionCallSchema, MessageSchema, RewardTypeSchema } from './results.ts';

export { ActionSchema, EnvAssertionSchema, EnvFunctionCallSchema, MessageSchema, RewardTypeSchema };
export type { Action, EnvAssertion, EnvFunctionCall, Message, RewardType } from './results.ts';

const JsonObject = z.record(z.string(), z.unknown());

export const StructuredUserInstructionsSchema = z.object({
  domain: z.string(),
  reason_for_call: z.string(),
  known_info: z.string().nullable().optional(),
  unknown_info: z.string().nullable().optional(),
  task_instructions: z.string(),
});
export type StructuredUserInstructions = z.infer<typeof StructuredUserInstructionsSchema>;

export const UserScenarioSchema = z.object({
  persona: z.string().nullable().optional(),
  instructions: z.union([z.string(), StructuredUserInstructionsSchema]),
});
export type UserScenario = z.infer<typeof UserScenarioSchema>;

export const DescriptionSchema = z.object({
  purpose: z.string().nullable().optional(),
  relevant_policies: z.string().nullable().optional(),
  notes: z.string().nullable().optional(),
});

export const InitializationDataSchema = z.object({
  agent_data: JsonObject.nullable().optional(),
  user_data: JsonObject.nullable().optional(),
});
export type InitializationData = z.infer<typeof InitializationDataSchema>;

export const InitialStateSchema = z.object({
  initialization_data: InitializationDataSchema.nullable().optional(),
  initialization_actions: z.array(EnvFunctionCallSchema).nullable().optional(),
  message_history: z.array(MessageSchema).nullable().optional(),
});
export type InitialState = z.infer<typeof InitialStateSchema>;

export const EvaluationCriteriaSchema = z.object({
  actions: z.array(ActionSchema).nullable().optional(),
  env_assertions: z.array(EnvAssertionSchema).nullable().optional(),
  communicate_info: z.array(z.string()).nullable().optional(),
  nl_assertions: z.array(z.string()).nullable().optional(),
  /** Absent means `["DB", "COMMUNICATE"]` (see `rewardBasis`). */
  reward_basis: z.array(RewardTypeSchema).optional(),
});
export type EvaluationCriteria = z.infer<typeof EvaluationCriteriaSchema>;

export const TaskSchema = z.object({
  id: z.string(),
  description: DescriptionSchema.nullable().optional(),
  user_scenario: UserScenarioSchema,
  ticket: z.string().nullable().optional(),
  initial_state: InitialStateSchema.nullable().optional(),
  evaluation_criteria: EvaluationCriteriaSchema.nullable().optional(),
  issues: z.array(JsonObject).nullable().optional(),
  required_documents: z.array(z.string()).nullable().optional(),
  /** None = all user tools; [] = none. */
  user_tools: z.array(z.string()).nullable().optional(),
});
export type Task = z.infer<typeof TaskSchema>;

export const DEFAULT_REWARD_BASIS = ['DB', 'COMMUNICATE'] as const;

/** The task's reward basis, with τ²'s default when the key is missing. */
export function rewardBasis(criteria: EvaluationCriteria | null | undefined): string[] {
  return criteria?.reward_basis ? [...criteria.reward_basis] : [...DEFAULT_REWARD_BASIS];
}
