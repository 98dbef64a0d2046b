// The user simulator's model plays the *assistant* of its own chat: the agent's words arrive as
// `user` turns, the simulator's own messages are `assistant` turns, its tool results stay `tool`.
import type { Message } from '../../protocols/dialogue.ts';
import type { ChatMessage } from '../kit/ports.ts';
import { toChatToolCall } from '../kit/chat.ts';

/** Role-flip the user's view of the trajectory (as from `userView`) into chat messages. */
export function flipForUser(view: readonly Message[]): ChatMessage[] {
  const out: ChatMessage[] = [];
  for (const m of view) {
    if (m.role === 'assistant') {
      if (m.tool_calls && m.tool_calls.length > 0) continue; // never the user's to see
      out.push({ role: 'user', content: m.content ?? '' });
    } else if (m.role === 'user') {
      const calls = (m.tool_calls ?? []).map(toChatToolCall);
      out.push(calls.length > 0 ? { role: 'assistant', content: m.content ?? null, tool_calls: calls } : { role: 'assistant', content: m.content ?? '' });
    } else {
      if (m.requestor !== 'user') continue;
      out.push({ role: 'tool', tool_call_id: m.id, content: m.content ?? '' });
    }
  }
  return out;
}
