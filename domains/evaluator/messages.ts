// Helpers over a τ² trajectory: flattening grouped tool results, finding tool calls and text.
import type { AssistantMessage, Message, ToolCall, ToolMessage, UserMessage } from '../../protocols/tau2/results.ts';

/** Replaces each MultiToolMessage by the ToolMessages it carries, keeping order. */
export function flattenMessages(messages: readonly Message[]): Message[] {
  const out: Message[] = [];
  for (const m of messages) {
    if (m.role === 'tool' && 'tool_messages' in m && Array.isArray(m.tool_messages)) out.push(...m.tool_messages);
    else out.push(m);
  }
  return out;
}

export function isParticipant(m: Message): m is AssistantMessage | UserMessage {
  return m.role === 'assistant' || m.role === 'user';
}

export function isToolMessage(m: Message): m is ToolMessage {
  return m.role === 'tool' && !('tool_messages' in m && Array.isArray((m as { tool_messages?: unknown }).tool_messages));
}

/** τ² counts a message as a tool call when `tool_calls` is present at all, even if empty. */
export function isToolCallMessage(m: Message): m is (AssistantMessage | UserMessage) & { tool_calls: ToolCall[] } {
  return isParticipant(m) && m.tool_calls !== null && m.tool_calls !== undefined;
}

/** Non-blank text content. */
export function hasText(m: Message): boolean {
  return typeof m.content === 'string' && m.content.trim().length > 0;
}

/** Every tool call made by the agent or the user, in trajectory order. */
export function allToolCalls(messages: readonly Message[]): ToolCall[] {
  const calls: ToolCall[] = [];
  for (const m of flattenMessages(messages)) if (isToolCallMessage(m)) calls.push(...m.tool_calls);
  return calls;
}
