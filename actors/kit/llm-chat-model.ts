// The project's LLM client (llm/client) behind the dialogue roles' ChatModel interface.
//
// τ² semantics differ from the client's strict checks in one place: τ² passes a tool call with an
// unknown name or ill-fitting arguments on to the environment, which answers with an error tool
// message (counted toward `too_many_errors`); only undecodable output ends the dialogue. So when the
// client rejects a reply as a malformed tool call, the raw message it received is used as is, and
// arguments that are not JSON surface as the role's error. Endpoint failures are infrastructure
// errors (the dialogue is retried), not the role's.
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { LlmClient, LlmError, MalformedOutputError, MalformedToolCallError, EmptyMessageError } from '../../llm/client/index.ts';
import { InfrastructureError } from '../../runtime/rpc/errors.ts';
import type { ChatModel, ChatReply, ChatToolCall } from './ports.ts';

interface RawAssistant {
  content?: string | null;
  tool_calls?: { id: string; type: string; function: { name: string; arguments: string } }[];
}

export function llmClientChatModel(client: LlmClient): ChatModel {
  return {
    async complete(req, signal): Promise<ChatReply> {
      try {
        const r = await client.chat({
          messages: req.messages as ChatCompletionMessageParam[],
          tools: req.tools?.map((t) => ({ name: t.function.name, description: t.function.description, parameters: t.function.parameters })),
          toolChoice: req.tools?.length ? 'auto' : undefined,
          temperature: req.temperature,
          seed: req.seed,
          maxTokens: req.maxTokens,
          dialogueId: req.dialogueId,
          signal,
        });
        return {
          content: r.content,
          toolCalls: r.toolCalls.map((c): ChatToolCall => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.rawArguments } })),
          usage: { prompt_tokens: r.usage.promptTokens, completion_tokens: r.usage.completionTokens },
          cost: 0,
          raw: { model: r.model, finishReason: r.finishReason, attempts: r.attempts },
          ...(r.sampled ? { sampled: r.sampled } : {}),
        };
      } catch (e) {
        if (e instanceof MalformedToolCallError && e.problem !== 'invalid_json' && e.assistantMessage) {
          const m = e.assistantMessage as RawAssistant;
          return {
            content: m.content ?? null,
            toolCalls: (m.tool_calls ?? []).map((c) => ({ id: c.id, type: 'function', function: { name: c.function.name, arguments: c.function.arguments } })),
            // The client's ledger has the tokens; the error does not carry them.
            usage: { prompt_tokens: 0, completion_tokens: 0 },
            cost: 0,
            raw: { malformed: e.problem },
            ...((e as { sampled?: ChatReply['sampled'] }).sampled ? { sampled: (e as { sampled?: ChatReply['sampled'] }).sampled } : {}),
          };
        }
        if (e instanceof MalformedOutputError || e instanceof EmptyMessageError) throw e;
        if (e instanceof LlmError) throw new InfrastructureError(e.message, { cause: e });
        throw e;
      }
    },
  };
}
