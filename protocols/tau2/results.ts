// τ²-bench's Results JSON (the `results.json` that `tau2 run` writes and `tau2 evaluate-trajs`
// re-grades). Field names, nesting and types follow the reference's pydantic models, so a file we
// write loads in the reference and a file it wrote loads here. Unknown keys are kept (`passthrough`):
// the reference grows optional fields over versions and we must not drop what we do not model.
import { z } from 'zod';

// ---- shared enums ---------------------------------------------------------------------------

export const RewardTypeSchema = z.enum(['DB', 'ENV_ASSERTION', 'NL_ASSERTION', 'ACTION', 'COMMUNICATE']);
export type RewardType = z.infer<typeof RewardTypeSchema>;

export const ToolTypeSchema = z.enum(['read', 'write', 'think', 'generic']);
export type ToolType = z.infer<typeof ToolTypeSchema>;

export const RequestorSchema = z.enum(['assistant', 'user']);
export type Requestor = z.infer<typeof RequestorSchema>;

/** Every way a simulation can end. Only `user_stop` and `agent_stop` are graded; the rest score 0. */
export const TerminationReasonSchema = z.enum([
  'user_stop',
  'agent_stop',
  'max_steps',
  'too_many_errors',
  'agent_error',
  'user_error',
  'timeout',
  'infrastructure_error',
]);
export type TerminationReason = z.infer<typeof TerminationReasonSchema>;

/**
 * A JSON object, passed through as the very same object: a rebuilt copy would lose the Python key
 * order that the parser attaches to objects with integer-like keys, and tool arguments must reach
 * tools exactly as recorded.
 */
const JsonObject = z.custom<Record<string, unknown>>(
  (v) => v !== null && typeof v === 'object' && !Array.isArray(v),
  { message: 'Expected a JSON object' },
);

/**
 * A number, also accepting a tagged Python float (any non-plain object whose valueOf() is a
 * number): results are parsed with Python's int/float distinction kept, for faithful replay.
 */
const Num = z.preprocess((v) => {
  if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) !== Object.prototype) {
    const n = (v as { valueOf(): unknown }).valueOf();
    if (typeof n === 'number') return n;
  }
  return v;
}, z.number());
const Int = z.number().int();

// ---- messages -------------------------------------------------------------------------------

export const ToolCallSchema = z
  .object({
    id: z.string().default(''),
    name: z.string(),
    arguments: JsonObject,
    requestor: RequestorSchema.default('assistant'),
  })
  .passthrough();
export type ToolCall = z.infer<typeof ToolCallSchema>;

const messageMeta = {
  turn_idx: Int.nullable().optional(),
  timestamp: z.string().nullable().optional(),
};

export const SystemMessageSchema = z
  .object({ role: z.literal('system'), content: z.string().nullable().optional(), ...messageMeta })
  .passthrough();

const participantFields = {
  content: z.string().nullable().optional(),
  tool_calls: z.array(ToolCallSchema).nullable().optional(),
  ...messageMeta,
  cost: Num.nullable().optional(),
  usage: JsonObject.nullable().optional(),
  raw_data: JsonObject.nullable().optional(),
};

export const AssistantMessageSchema = z.object({ role: z.literal('assistant'), ...participantFields }).passthrough();
export const UserMessageSchema = z.object({ role: z.literal('user'), ...participantFields }).passthrough();

export const ToolMessageSchema = z
  .object({
    id: z.string(),
    role: z.literal('tool'),
    content: z.string().nullable().optional(),
    requestor: RequestorSchema.default('assistant'),
    error: z.boolean().default(false),
    ...messageMeta,
  })
  .passthrough();

/** Several tool results delivered together; flattened into ToolMessages before grading. */
export const MultiToolMessageSchema = z
  .object({ role: z.literal('tool'), tool_messages: z.array(ToolMessageSchema) })
  .passthrough();

export const MessageSchema = z.union([
  SystemMessageSchema,
  AssistantMessageSchema,
  UserMessageSchema,
  MultiToolMessageSchema,
  ToolMessageSchema,
]);

export type SystemMessage = z.infer<typeof SystemMessageSchema>;
export type AssistantMessage = z.infer<typeof AssistantMessageSchema>;
export type UserMessage = z.infer<typeof UserMessageSchema>;
export type ToolMessage = z.infer<typeof ToolMessageSchema>;
export type MultiToolMessage = z.infer<typeof MultiToolMessageSchema>;
export type Message = z.infer<typeof MessageSchema>;

// ---- task pieces the reward info repeats ----------------------------------------------------

export const ActionSchema = z
  .object({
    action_id: z.string(),
    requestor: RequestorSchema.default('assistant'),
    name: z.string(),
    arguments: JsonObject,
    info: z.string().nullable().optional(),
    compare_args: z.array(z.string()).nullable().optional(),
  })
  .passthrough();
export type Action = z.infer<typeof ActionSchema>;

export const EnvFunctionCallSchema = z
  .object({ env_type: RequestorSchema, func_name: z.string(), arguments: JsonObject })
  .passthrough();
export type EnvFunctionCall = z.infer<typeof EnvFunctionCallSchema>;

export const EnvAssertionSchema = EnvFunctionCallSchema.extend({
  assert_value: z.boolean().default(true),
  message: z.string().nullable().optional(),
}).passthrough();
export type EnvAssertion = z.infer<typeof EnvAssertionSchema>;

// ---- reward info ----------------------------------------------------------------------------

export const DBCheckSchema = z.object({ db_match: z.boolean(), db_reward: Num }).passthrough();
export const EnvAssertionCheckSchema = z
  .object({ env_assertion: EnvAssertionSchema, met: z.boolean(), reward: Num })
  .passthrough();
export const ActionCheckSchema = z
  .object({
    action: ActionSchema,
    action_match: z.boolean(),
    action_reward: Num,
    tool_type: ToolTypeSchema.nullable().optional(),
  })
  .passthrough();
export const NLAssertionCheckSchema = z
  .object({ nl_assertion: z.string(), met: z.boolean(), justification: z.string() })
  .passthrough();
export const CommunicateCheckSchema = z
  .object({ info: z.string(), met: z.boolean(), justification: z.string() })
  .passthrough();

export type DBCheck = z.infer<typeof DBCheckSchema>;
export type EnvAssertionCheck = z.infer<typeof EnvAssertionCheckSchema>;
export type ActionCheck = z.infer<typeof ActionCheckSchema>;
export type NLAssertionCheck = z.infer<typeof NLAssertionCheckSchema>;
export type CommunicateCheck = z.infer<typeof CommunicateCheckSchema>;

export const RewardInfoSchema = z
  .object({
    reward: Num,
    db_check: DBCheckSchema.nullable().optional(),
    env_assertions: z.array(EnvAssertionCheckSchema).nullable().optional(),
    action_checks: z.array(ActionCheckSchema).nullable().optional(),
    nl_assertions: z.array(NLAssertionCheckSchema).nullable().optional(),
    communicate_checks: z.array(CommunicateCheckSchema).nullable().optional(),
    reward_basis: z.array(RewardTypeSchema).nullable().optional(),
    reward_breakdown: z.partialRecord(RewardTypeSchema, Num).nullable().optional(),
    info: JsonObject.nullable().optional(),
  })
  .passthrough();
export type RewardInfo = z.infer<typeof RewardInfoSchema>;

// ---- simulation run and run info ------------------------------------------------------------

export const SimulationRunSchema = z
  .object({
    id: z.string(),
    task_id: z.string(),
    timestamp: z.string(),
    start_time: z.string(),
    end_time: z.string(),
    duration: Num,
    termination_reason: TerminationReasonSchema,
    agent_cost: Num.nullable().optional(),
    user_cost: Num.nullable().optional(),
    reward_info: RewardInfoSchema.nullable().optional(),
    messages: z.array(MessageSchema),
    trial: Int.nullable().optional(),
    seed: Int.nullable().optional(),
    mode: z.string().default('half_duplex'),
  })
  .passthrough();
export type SimulationRun = z.infer<typeof SimulationRunSchema>;

export const UserInfoSchema = z
  .object({
    implementation: z.string(),
    llm: z.string().nullable().optional(),
    llm_args: JsonObject.nullable().optional(),
    global_simulation_guidelines: z.string().nullable().optional(),
    persona_config: JsonObject.nullable().optional(),
  })
  .passthrough();

export const AgentInfoSchema = z
  .object({
    implementation: z.string(),
    llm: z.string().nullable().optional(),
    llm_args: JsonObject.nullable().optional(),
  })
  .passthrough();

export const EnvironmentInfoSchema = z
  .object({
    domain_name: z.string(),
    policy: z.string(),
    tool_defs: JsonObject.nullable().optional(),
  })
  .passthrough();

export const InfoSchema = z
  .object({
    git_commit: z.string(),
    num_trials: Int,
    max_steps: Int,
    max_errors: Int,
    user_info: UserInfoSchema,
    agent_info: AgentInfoSchema,
    environment_info: EnvironmentInfoSchema,
    seed: Int.nullable().optional(),
    text_streaming_config: JsonObject.nullable().optional(),
  })
  .passthrough();
export type Info = z.infer<typeof InfoSchema>;

/**
 * The whole results file. `tasks` holds τ² Task objects; they are validated against the task
 * schema by whoever needs them as tasks (the grader), so this schema only requires an `id`.
 */
export const ResultsSchema = z
  .object({
    timestamp: z.string().nullable().optional(),
    info: InfoSchema,
    tasks: z.array(z.object({ id: z.string() }).passthrough()),
    simulations: z.array(SimulationRunSchema).default([]),
    /** Summaries the reference writes for its directory format; kept as-is. */
    simulation_index: z.array(JsonObject).nullable().optional(),
  })
  .passthrough();
export type Results = z.infer<typeof ResultsSchema>;
