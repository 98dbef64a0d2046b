// A scripted model for unit tests of one role: an object with the LlmClient surface the roles use
// (`config.model`, `chat`). Each request goes to `answer`, which returns a JSON answer (for
// `jsonSchema` requests), a tool call (for requests with tools) or text; every request is recorded.
import type { ChatRequest, ChatResult, LlmClient } from '../../llm/client/index.ts';

export type FakeAnswer = { json: unknown } | { call: { name: string; arguments: Record<string, unknown> } } | { text: string };

export interface FakeLlm {
  client: LlmClient;
  requests: ChatRequest[];
}

let ids = 0;

export function fakeLlm(answer: (req: ChatRequest) => FakeAnswer): FakeLlm {
  const requests: ChatRequest[] = [];
  const client = {
    config: { model: 'fake', role: 'fake' },
    async chat(req: ChatRequest): Promise<ChatResult> {
      requests.push(JSON.parse(JSON.stringify(req)));
      const a = answer(req);
      const usage = { promptTokens: 10, completionTokens: 5 };
      if ('call' in a) {
        const id = `call_${++ids}`;
        const raw = JSON.stringify(a.call.arguments);
        return {
          content: null,
          toolCalls: [{ id, name: a.call.name, arguments: a.call.arguments, rawArguments: raw }],
          finishReason: 'tool_calls',
          usage,
          model: 'fake',
          attempts: 1,
          assistantMessage: { role: 'assistant', content: null, tool_calls: [{ id, type: 'function', function: { name: a.call.name, arguments: raw } }] },
        };
      }
      const content = 'json' in a ? JSON.stringify(a.json) : a.text;
      return { content, toolCalls: [], ...('json' in a ? { json: a.json } : {}), finishReason: 'stop', usage, model: 'fake', attempts: 1, assistantMessage: { role: 'assistant', content } };
    },
  };
  return { client: client as unknown as LlmClient, requests };
}

/** A tool call on the first offered tool, each argument its first allowed value (an enum's first, else `x`). */
export function firstToolCall(req: ChatRequest, pick?: (tool: string) => boolean): FakeAnswer {
  const tools = req.tools ?? [];
  const t = tools.find((x) => pick?.(x.name) ?? true) ?? tools[0];
  const props = (t.parameters as { properties?: Record<string, { enum?: string[] }> }).properties ?? {};
  return { call: { name: t.name, arguments: Object.fromEntries(Object.entries(props).map(([k, v]) => [k, v.enum?.[0] ?? 'x'])) } };
}
