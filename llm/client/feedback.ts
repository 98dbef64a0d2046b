// Turning a malformed answer into the messages that let the model correct itself on the next turn.
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { MalformedOutputError, MalformedToolCallError } from './errors.ts';

interface AssistantWithCalls {
  role: 'assistant';
  content?: string | null;
  tool_calls?: Array<{ id: string }>;
}

/**
 * Messages to append to the history after `err`: the rejected assistant message as received, then the
 * feedback. When the reply carried tool calls, every call gets its tool message (OpenAI-compatible
 * endpoints reject a history with an unanswered call): the faulty call gets the feedback, the others
 * a note that they were not run. Otherwise the feedback is a user message.
 */
export function feedbackMessages(err: MalformedOutputError): ChatCompletionMessageParam[] {
  const sent = err.assistantMessage as AssistantWithCalls | undefined;
  const feedback = err.toModelMessage();
  const calls = sent?.tool_calls ?? [];
  if (!sent || (calls.length === 0 && !sent.content?.trim())) {
    // Nothing usable to replay (an empty reply): the feedback alone.
    return [{ role: 'user', content: feedback }];
  }
  if (calls.length === 0) return [sent as ChatCompletionMessageParam, { role: 'user', content: feedback }];
  const faulty = err instanceof MalformedToolCallError ? err.toolCallId : undefined;
  return [
    sent as ChatCompletionMessageParam,
    ...calls.map((c): ChatCompletionMessageParam => ({
      role: 'tool',
      tool_call_id: c.id,
      content: faulty === undefined || c.id === faulty ? feedback : 'Not run: another tool call in the same reply was malformed.',
    })),
  ];
}
