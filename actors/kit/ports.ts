// The three services a scene needs — agent, user, environment — and the chat-model interface the LLM
// roles speak through. A scene never knows whether a port is an in-process object or a NATS
// request/reply client: the same machine runs in tests and in the society.
import type {
  AgentTurnReply,
  AgentTurnRequest,
  ToolCall,
  ToolMessage,
  ToolSchema,
  UserTurnReply,
  UserTurnRequest,
} from '../../protocols/dialogue.ts';

export interface AgentPort {
  nextTurn(req: AgentTurnRequest, signal?: AbortSignal): Promise<AgentTurnReply>;
}

export interface UserPort {
  nextTurn(req: UserTurnRequest, signal?: AbortSignal): Promise<UserTurnReply>;
}

/**
 * How the user simulator opens a dialogue. `model` (τ²'s way, the default): its model writes every
 * turn. `scenario`: its first turn is the scenario's reason for call and known info verbatim (the
 * whole instruction text when the task has unstructured instructions), its model writes the rest —
 * for user models too small to state their own task (the embedded 135M one answers the agent's
 * greeting as if it were the assistant, so dialogues never contain what the task is about).
 */
export type UserOpening = 'model' | 'scenario';
export const USER_OPENINGS = ['model', 'scenario'] as const;

/** One dialogue's environment: executes a batch of tool calls in order, one ToolMessage per call. */
export interface EnvPort {
  execute(toolCalls: ToolCall[], signal?: AbortSignal): Promise<ToolMessage[]>;
}

// ---------------------------------------------------------------------------------------------
// Chat model (OpenAI chat shape). Kept minimal so any client — the project's LLM client, an
// OpenAI-compatible endpoint, node-llama-cpp directly, or a scripted fake — can stand behind it.
// ---------------------------------------------------------------------------------------------

export interface ChatToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export type ChatMessage =
  | { role: 'system'; content: string }
  | { role: 'user'; content: string }
  | { role: 'assistant'; content: string | null; tool_calls?: ChatToolCall[] }
  | { role: 'tool'; tool_call_id: string; content: string };

export interface ChatRequest {
  messages: ChatMessage[];
  tools?: ToolSchema[];
  temperature?: number;
  seed?: number;
  maxTokens?: number;
  /** For usage accounting and tracing: the dialogue this call belongs to. */
  dialogueId?: string;
}

export interface ChatReply {
  content: string | null;
  toolCalls: ChatToolCall[];
  usage: { prompt_tokens: number; completion_tokens: number };
  /** Money spent, when the backend knows (0 for a local model). */
  cost?: number;
  raw?: unknown;
  /** The sampled token ids and their log-probs, when the model server returned them (GRPO's behaviour policy). */
  sampled?: { tokenIds: number[]; logprobs: number[]; servedBy?: string };
}

export interface ChatModel {
  complete(req: ChatRequest, signal?: AbortSignal): Promise<ChatReply>;
}
