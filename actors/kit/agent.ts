// The actor role: the agent under test or training. A chat model given the policy prompt and the
// domain's tools; each turn it answers with one message — text for the user, or tool call(s) for
// the environment. By default it cannot end the dialogue (as τ²'s LLM agent): the user or a limit
// does. With `mayStop` a text reply containing ###STOP### ends it (`agent_stop`), as τ²'s solo agent
// does through its `done` tool: for users that never stop (a 135M user simulator never says ###STOP###,
// so no dialogue with it is ever graded).
import type { AgentTurnReply, AgentTurnRequest, Message, ToolSchema } from '../../protocols/dialogue.ts';
import { messageFromReply, toChatToolCall } from './chat.ts';
import type { AgentPort, ChatMessage, ChatModel } from './ports.ts';
import { isAgentStopText } from './views.ts';

export interface LlmAgentOptions {
  model: ChatModel;
  /** From buildAgentSystemPrompt. */
  systemPrompt: string;
  tools: ToolSchema[];
  temperature?: number;
  maxTokens?: number;
  /** A text reply containing ###STOP### ends the dialogue (`agent_stop`). Default false: τ²'s LLM agent cannot stop. */
  mayStop?: boolean;
}

/** The agent's view of the trajectory (from `agentView`) as chat messages. */
export function toAgentChat(view: readonly Message[]): ChatMessage[] {
  return view.map((m): ChatMessage => {
    if (m.role === 'assistant') {
      const calls = (m.tool_calls ?? []).map(toChatToolCall);
      return calls.length > 0 ? { role: 'assistant', content: m.content ?? null, tool_calls: calls } : { role: 'assistant', content: m.content ?? '' };
    }
    if (m.role === 'user') return { role: 'user', content: m.content ?? '' };
    return { role: 'tool', tool_call_id: m.id, content: m.content ?? '' };
  });
}

export function createLlmAgent(opts: LlmAgentOptions): AgentPort {
  return {
    async nextTurn(req: AgentTurnRequest, signal?: AbortSignal): Promise<AgentTurnReply> {
      const reply = await opts.model.complete(
        {
          messages: [{ role: 'system', content: opts.systemPrompt }, ...toAgentChat(req.history)],
          tools: opts.tools,
          temperature: opts.temperature ?? 0,
          seed: req.seed,
          maxTokens: opts.maxTokens,
          dialogueId: req.dialogueId,
        },
        signal,
      );
      const message = messageFromReply(reply, 'assistant') as AgentTurnReply['message'];
      return { message, stop: opts.mayStop === true && !message.tool_calls?.length && isAgentStopText(message) };
    },
  };
}
