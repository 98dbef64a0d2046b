// Converting between trajectory messages (τ² shape) and OpenAI-style chat messages, for the roles
// that talk to a chat model (the LLM agent and the user simulator).
import type { Requestor, SpokenMessage, ToolCall } from '../../protocols/dialogue.ts';
import type { ChatReply, ChatToolCall } from './ports.ts';
import { parse as parsePyJson } from '../../domains/pycompat/pyjson.ts';

export function toChatToolCall(c: ToolCall): ChatToolCall {
  return { id: c.id, type: 'function', function: { name: c.name, arguments: JSON.stringify(c.arguments) } };
}

/**
 * A model's tool call as a trajectory tool call; arguments that are not a JSON object are an error.
 * Arguments are decoded as Python's json.loads would (floats stay tagged: `1.0` is not `1`), since a
 * float stored where the gold action stores an int changes the DB hash in τ² (notes §8.1).
 */
export function fromChatToolCall(c: ChatToolCall, requestor: Requestor): ToolCall {
  let args: unknown;
  try {
    args = c.function.arguments.trim() === '' ? {} : parsePyJson(c.function.arguments);
  } catch {
    throw new Error(`tool call ${c.function.name} has arguments that are not valid JSON: ${c.function.arguments.slice(0, 200)}`);
  }
  if (args === null || typeof args !== 'object' || Array.isArray(args)) {
    throw new Error(`tool call ${c.function.name} has arguments that are not a JSON object: ${c.function.arguments.slice(0, 200)}`);
  }
  return { id: c.id, name: c.function.name, arguments: args as Record<string, unknown>, requestor };
}

/** Turn a chat-model reply into the agent's (`assistant`) or the user's (`user`) trajectory message. */
export function messageFromReply(reply: ChatReply, role: 'assistant' | 'user'): SpokenMessage {
  const requestor: Requestor = role;
  const toolCalls = reply.toolCalls.map((c) => fromChatToolCall(c, requestor));
  return {
    role,
    content: reply.content,
    tool_calls: toolCalls.length > 0 ? toolCalls : null,
    timestamp: new Date().toISOString(),
    cost: reply.cost ?? 0,
    usage: reply.usage,
    // τ²'s free-form raw_data field carries what the sampler drew, for the learner (society-source.ts).
    ...(reply.sampled ? { raw_data: { sampled: { token_ids: reply.sampled.tokenIds, logprobs: reply.sampled.logprobs, ...(reply.sampled.servedBy ? { served_by: reply.sampled.servedBy } : {}) } } } : {}),
  };
}
