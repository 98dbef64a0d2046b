// The language of one dialogue (a "scene"): the messages of the trajectory in τ²-bench's shape, the
// requests the scene makes of the agent, the user simulator and the environment, and the result.
//
// Trajectory messages keep τ²'s snake_case field names (`tool_calls`, `turn_idx`, …) so a dialogue log
// drops straight into a τ² results file; the scene's own request/reply bodies use camelCase.
import { z } from 'zod';
import { defineMessage } from './envelope.ts';
import { TerminationReasonSchema } from './tau2/results.ts';

// ---------------------------------------------------------------------------------------------
// Trajectory messages (τ² shape)
// ---------------------------------------------------------------------------------------------

/** Who asked for a tool call, and so whose environment (agent DB or user DB) runs it. */
export const Requestor = z.enum(['assistant', 'user']);
export type Requestor = z.infer<typeof Requestor>;

/** Token counts of the model call that produced a message (OpenAI names). */
export const Usage = z.object({
  prompt_tokens: z.number().int().nonnegative(),
  completion_tokens: z.number().int().nonnegative(),
});
export type Usage = z.infer<typeof Usage>;

export const ToolCall = z.object({
  id: z.string().min(1),
  name: z.string().min(1),
  /** JSON-decoded arguments, passed to the tool as they are (τ² does not validate them). */
  arguments: z.record(z.string(), z.unknown()),
  requestor: Requestor.default('assistant'),
});
export type ToolCall = z.infer<typeof ToolCall>;

/** Fields shared by the agent's and the user's messages. */
const spokenFields = {
  content: z.string().nullable().optional(),
  tool_calls: z.array(ToolCall).nullable().optional(),
  turn_idx: z.number().int().nullable().optional(),
  /** ISO-8601 time the message was produced. */
  timestamp: z.string().nullable().optional(),
  /** Money spent on the model call, when known (0 for scripted messages). */
  cost: z.number().nullable().optional(),
  usage: Usage.nullable().optional(),
  raw_data: z.record(z.string(), z.unknown()).nullable().optional(),
};

export const AssistantMessage = z.object({ role: z.literal('assistant'), ...spokenFields });
export type AssistantMessage = z.infer<typeof AssistantMessage>;

export const UserMessage = z.object({ role: z.literal('user'), ...spokenFields });
export type UserMessage = z.infer<typeof UserMessage>;

export const ToolMessage = z.object({
  role: z.literal('tool'),
  /** The id of the tool call this answers. */
  id: z.string().min(1),
  content: z.string().nullable().optional(),
  requestor: Requestor.default('assistant'),
  error: z.boolean().default(false),
  turn_idx: z.number().int().nullable().optional(),
  timestamp: z.string().nullable().optional(),
});
export type ToolMessage = z.infer<typeof ToolMessage>;

export const Message = z.discriminatedUnion('role', [AssistantMessage, UserMessage, ToolMessage]);
export type Message = z.infer<typeof Message>;
export type SpokenMessage = AssistantMessage | UserMessage;

/** The fixed first agent message of a dialogue that has no prior history (τ²'s default greeting). */
export const GREETING = 'Hi! How can I help you today?';

/** Strings in a user message that end the dialogue (all give `user_stop`). */
export const USER_STOP_TOKENS = ['###STOP###', '###TRANSFER###', '###OUT-OF-SCOPE###'] as const;
/** What an agent that may end a dialogue (solo agent, oracle harness) says to end it. */
export const AGENT_STOP_TOKEN = '###STOP###';

// ---------------------------------------------------------------------------------------------
// Termination
// ---------------------------------------------------------------------------------------------

/** τ²'s termination reasons (one list, in the τ² results format). Only `agent_stop` and `user_stop` can earn a reward. */
export const TerminationReason = TerminationReasonSchema;
export type TerminationReason = z.infer<typeof TerminationReason>;

// ---------------------------------------------------------------------------------------------
// OpenAI-style tool schema (what the agent and user models are given)
// ---------------------------------------------------------------------------------------------

export const ToolSchema = z.object({
  type: z.literal('function'),
  function: z.object({
    name: z.string().min(1),
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()),
  }),
});
export type ToolSchema = z.infer<typeof ToolSchema>;

// ---------------------------------------------------------------------------------------------
// Scene requests and replies (carried in the runtime's envelope on NATS)
// ---------------------------------------------------------------------------------------------

/** Limits of one dialogue; defaults are τ²'s CLI defaults. */
export const DialogueLimits = z.object({
  maxSteps: z.number().int().positive().default(200),
  maxErrors: z.number().int().positive().default(10),
  /** Whole-dialogue wall-clock limit (τ² `--timeout`); none by default. */
  timeoutMs: z.number().int().positive().optional(),
  /** Limit on one agent/user/environment call; a call that exceeds it ends the dialogue as that side's error. */
  turnTimeoutMs: z.number().int().positive().optional(),
});
export type DialogueLimits = z.infer<typeof DialogueLimits>;

/** Ask for one dialogue to be played: which task, which models play agent and user. */
export const DialogueRequest = z.object({
  dialogueId: z.string().min(1),
  domain: z.string().min(1),
  taskId: z.string().min(1),
  /** Which trial of the task this is (τ² `trial`), and the seed given to both models. */
  trial: z.number().int().nonnegative().default(0),
  seed: z.number().int().optional(),
  agent: z.object({ implementation: z.string().default('llm_agent'), model: z.string().min(1) }),
  user: z.object({ implementation: z.string().default('user_simulator'), model: z.string().min(1) }),
  limits: DialogueLimits.prefault({}),
});
export type DialogueRequest = z.infer<typeof DialogueRequest>;

/** The scene asks the agent for its next message, giving it what the agent can see. */
export const AgentTurnRequest = z.object({
  dialogueId: z.string().min(1),
  domain: z.string().min(1),
  taskId: z.string().optional(),
  /** The agent's view of the trajectory (see `agentView`). */
  history: z.array(Message),
  seed: z.number().int().optional(),
});
export type AgentTurnRequest = z.infer<typeof AgentTurnRequest>;

export const AgentTurnReply = z.object({
  message: AssistantMessage,
  /** True when the agent ends the dialogue (`agent_stop`); plain LLM agents never do. */
  stop: z.boolean().default(false),
});
export type AgentTurnReply = z.infer<typeof AgentTurnReply>;

/** The scene asks the user simulator for its next message. */
export const UserTurnRequest = z.object({
  dialogueId: z.string().min(1),
  domain: z.string().min(1),
  taskId: z.string().optional(),
  /** The user's view of the trajectory, un-flipped (see `userView`); the simulator flips roles itself. */
  history: z.array(Message),
  seed: z.number().int().optional(),
});
export type UserTurnRequest = z.infer<typeof UserTurnRequest>;

export const UserTurnReply = z.object({ message: UserMessage });
export type UserTurnReply = z.infer<typeof UserTurnReply>;

/**
 * Execute a batch of tool calls (one message's calls, in order) in the dialogue's environment.
 * `prior` lists every call already executed in this dialogue, in order, so any replica can rebuild
 * the dialogue's environment (fresh from the task, then replay) when it does not hold it: replicas
 * keep a per-dialogue instance as a cache, never as the only copy.
 */
export const EnvToolRequest = z.object({
  dialogueId: z.string().min(1),
  domain: z.string().min(1),
  taskId: z.string().min(1),
  prior: z.array(ToolCall).default([]),
  toolCalls: z.array(ToolCall).min(1),
});
export type EnvToolRequest = z.infer<typeof EnvToolRequest>;

export const EnvToolReply = z.object({
  dialogueId: z.string().min(1),
  /** One ToolMessage per call, same order; a failing tool is `error: true`, not a failed request. */
  results: z.array(ToolMessage),
});
export type EnvToolReply = z.infer<typeof EnvToolReply>;

/** The dialogue is over: replicas drop its environment instance. */
export const EnvClose = z.object({ dialogueId: z.string().min(1), domain: z.string().min(1) });
export type EnvClose = z.infer<typeof EnvClose>;

/** What one played dialogue produced: the full log and why it ended. */
export const DialogueResult = z.object({
  dialogueId: z.string().min(1),
  domain: z.string().min(1),
  taskId: z.string().min(1),
  trial: z.number().int().nonnegative().default(0),
  seed: z.number().int().optional(),
  terminationReason: TerminationReason,
  /** The full trajectory, including any task message_history and the greeting. */
  messages: z.array(Message),
  steps: z.number().int().nonnegative(),
  numErrors: z.number().int().nonnegative(),
  startTime: z.string(),
  endTime: z.string(),
  durationMs: z.number().nonnegative(),
  agentCost: z.number().nonnegative().default(0),
  userCost: z.number().nonnegative().default(0),
  agentUsage: Usage,
  userUsage: Usage,
  /** Why the dialogue failed, for error terminations. */
  error: z.string().optional(),
});
export type DialogueResult = z.infer<typeof DialogueResult>;

/** A request/reply call failed on the serving side. */
export const RpcError = z.object({
  message: z.string(),
  /** True when the failure is the plumbing's (the serving side could not do its job), not the role's answer. */
  infrastructure: z.boolean().default(false),
});
export type RpcError = z.infer<typeof RpcError>;

// ---------------------------------------------------------------------------------------------
// Message kinds and subjects
// ---------------------------------------------------------------------------------------------

/** Work items (JetStream, `troupe.msg.<kind>`): a dialogue to play, and a played dialogue. */
export const DialogueRequested = defineMessage('dialogue.requested', DialogueRequest, { description: 'a dialogue to play (task, trial, models, limits)' });
export const DialogueCompleted = defineMessage('dialogue.completed', DialogueResult, { description: 'a played dialogue: full log and termination reason' });

/** Request/reply kinds of one scene (core NATS on `troupe.rpc.*`, not stored). */
export const AgentTurnAsked = defineMessage('dialogue.agent-turn', AgentTurnRequest, { description: 'scene → actor: your next message (request/reply)' });
export const AgentTurnAnswered = defineMessage('dialogue.agent-turn-reply', AgentTurnReply, { description: 'actor → scene: next agent message' });
export const UserTurnAsked = defineMessage('dialogue.user-turn', UserTurnRequest, { description: 'scene → user simulator: your next message (request/reply)' });
export const UserTurnAnswered = defineMessage('dialogue.user-turn-reply', UserTurnReply, { description: 'user simulator → scene: next user message' });
export const EnvToolsAsked = defineMessage('dialogue.env-tools', EnvToolRequest, { description: 'scene → environment: execute a batch of tool calls (request/reply)' });
export const EnvToolsAnswered = defineMessage('dialogue.env-tools-reply', EnvToolReply, { description: 'environment → scene: one ToolMessage per call' });
export const EnvClosed = defineMessage('dialogue.env-close', EnvClose, { description: 'scene → all environment replicas: drop this dialogue\'s instance' });
export const RpcFailed = defineMessage('dialogue.rpc-error', RpcError, { description: 'the serving side of a request/reply call failed' });

/** Prefix of the scene's request/reply subjects; deliberately outside the JetStream-captured `troupe.msg.>`. */
export const RPC_PREFIX = 'troupe.rpc';
/** The actor (agent) replicas for a domain; queue group `actor`. */
export const agentTurnSubject = (domain: string) => `${RPC_PREFIX}.agent.${domain}`;
/** The user-simulator replicas for a domain; queue group `user-simulator`. */
export const userTurnSubject = (domain: string) => `${RPC_PREFIX}.user.${domain}`;
/** The environment replicas of a domain; queue group `env-<domain>`. */
export const envToolsSubject = (domain: string) => `${RPC_PREFIX}.env.${domain}.tools`;
/** Broadcast (no queue group) so whichever replica caches the dialogue's environment drops it. */
export const envCloseSubject = (domain: string) => `${RPC_PREFIX}.env.${domain}.close`;
export const QUEUE = { agent: 'actor', user: 'user-simulator', env: (domain: string) => `env-${domain}` } as const;
