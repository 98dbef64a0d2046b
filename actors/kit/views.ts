// Who sees what, who speaks next, and when a message ends the dialogue — the pure rules of a τ²
// half-duplex dialogue. Each side only sees its own channel: the agent never sees the user's tool
// calls or their results, and the user never sees the agent's.
import {
  AGENT_STOP_TOKEN,
  USER_STOP_TOKENS,
  type Message,
  type SpokenMessage,
} from '../../protocols/dialogue.ts';

export type Role = 'agent' | 'user' | 'env';

export function hasToolCalls(m: Message): boolean {
  return m.role !== 'tool' && Array.isArray(m.tool_calls) && m.tool_calls.length > 0;
}

/** Non-blank text. */
export function hasText(m: Message): boolean {
  return typeof m.content === 'string' && m.content.trim().length > 0;
}

/** A spoken message must carry text or tool calls (τ² rejects empty ones). */
export function isValidSpoken(m: SpokenMessage): boolean {
  return hasText(m) || hasToolCalls(m);
}

/** Messages the agent sees: all its own, the user's text messages, results of its own tool calls. */
export function agentView(trajectory: readonly Message[]): Message[] {
  return trajectory.filter((m) => {
    if (m.role === 'assistant') return true;
    if (m.role === 'user') return !hasToolCalls(m);
    return m.requestor === 'assistant';
  });
}

/** Messages the user sees: all its own, the agent's text messages, results of its own tool calls. */
export function userView(trajectory: readonly Message[]): Message[] {
  return trajectory.filter((m) => {
    if (m.role === 'user') return true;
    if (m.role === 'assistant') return !hasToolCalls(m);
    return m.requestor === 'user';
  });
}

/**
 * Who acts after `last`. A message with both text and tool calls is routed as a tool call (τ²'s
 * default, with protocol enforcement off); tool results go back to whoever asked for them.
 */
export function nextRole(last: Message): Role {
  if (last.role === 'tool') return last.requestor === 'user' ? 'user' : 'agent';
  if (hasToolCalls(last)) return 'env';
  return last.role === 'assistant' ? 'user' : 'agent';
}

/** True when a user message ends the dialogue (any of the three τ² stop tokens, as a substring). */
export function isUserStop(m: SpokenMessage): boolean {
  const text = m.content ?? '';
  return USER_STOP_TOKENS.some((t) => text.includes(t));
}

/** True when an agent message carries the agent stop token (solo agent / oracle harness). */
export function isAgentStopText(m: SpokenMessage): boolean {
  return (m.content ?? '').includes(AGENT_STOP_TOKEN);
}
