// Off-policy GRPO done right, with the real model server and the real SmolLM2-135M: the server
// returns each sampled token id and its log-probability (OpenAI `logprobs` + `token_id`), the agent
// keeps them in the message (raw_data.sampled), and the learner trains exactly those ids, each in the
// context the model saw — also when later prompts re-render a turn differently (tool-call JSON
// spacing). The learner's own log-probs of the sampled tokens (its float32 copy of the same weights)
// are close to the server's, so the behaviour weight is ≈ 1 on-policy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../nn/backend/backend.ts';
import { startModelServer, type RunningModelServer } from '../../llm/server/server.ts';
import { LlmClient } from '../../llm/client/index.ts';
import { llmClientChatModel } from '../../actors/kit/llm-chat-model.ts';
import { createLlmAgent } from '../../actors/kit/agent.ts';
import { agentChatOf } from '../../actors/learner/society-source.ts';
import { loadChatTokenizer, tokenizeSampledRollout, type ChatTokenizer } from '../../nn/model/tokenizer.ts';
import type { ChatMessage, ToolSpec } from '../../nn/model/chat-format.ts';
import { loadGgufModel } from '../../nn/model/load-gguf.ts';
import { selectedTargetLogProbs } from '../../nn/train/step.ts';
import { disposeModel } from '../../nn/model/llama.ts';
import type { AssistantMessage, Message, ToolSchema } from '../../protocols/dialogue.ts';
import { defaultModelFile } from '../helpers/model.ts';

const modelPath = defaultModelFile();
let server: RunningModelServer;
let tok: ChatTokenizer;
beforeAll(async () => {
  await initBackend();
  server = await startModelServer({ model: modelPath, port: 0, parallel: 1, contextSize: 2048, unref: true });
  tok = await loadChatTokenizer(modelPath);
}, 120_000);
afterAll(async () => {
  await tok?.dispose();
  await server?.close();
});

const tools: ToolSchema[] = [
  { type: 'function', function: { name: 'get_task', description: 'Look up a task by id', parameters: { type: 'object', properties: { task_id: { type: 'string' } }, required: ['task_id'] } } },
] as ToolSchema[];
const system = 'You are a task-tracker agent. Look tasks up with the get_task tool.';

describe('sampled tokens from the model server', () => {
  it('the server returns the sampled ids and log-probs; the learner trains exactly them, in the server prompt', async () => {
    const client = new LlmClient({ role: 'actor', config: { model: 'local', baseURL: `${server.baseURL}`, logprobs: true, maxRetries: 0, timeoutMs: 60_000, concurrency: 1 } as never, resolveLocal: async () => ({ baseURL: server.baseURL, model: server.modelId }) });
    const agent = createLlmAgent({ model: llmClientChatModel(client), systemPrompt: system, tools, temperature: 1, maxTokens: 40 });
    const history: Message[] = [
      { role: 'assistant', content: 'Hi! How can I help you today?' },
      { role: 'user', content: 'Is task t1 done? Please look it up.' },
    ] as Message[];
    const replies: AssistantMessage[] = [];
    for (const seed of [3, 4]) {
      const { message } = await agent.nextTurn({ dialogueId: 'd1', domain: 'mock', history, seed } as never);
      replies.push(message);
      history.push(message);
      if (message.tool_calls?.length) history.push(...message.tool_calls.map((c) => ({ role: 'tool', id: c.id, content: '{"status": "pending"}', requestor: 'assistant', error: false }) as Message));
      else history.push({ role: 'user', content: 'Thanks. Anything else about t1?' } as Message);
    }
    for (const r of replies) {
      const s = (r.raw_data as { sampled: { token_ids: number[]; logprobs: number[]; served_by: string } }).sampled;
      expect(s.token_ids.length).toBeGreaterThan(0);
      expect(s.logprobs.length).toBe(s.token_ids.length);
      for (const lp of s.logprobs) { expect(lp).toBeLessThanOrEqual(0); expect(Number.isFinite(lp)).toBe(true); }
      expect(s.served_by).toMatch(/SmolLM2/);
    }
    // The learner's sequences: trained tokens are exactly the sampled ids, turn by turn, in order.
    const chat = agentChatOf({ messages: history }, 1);
    const msgs: ChatMessage[] = [{ role: 'system', content: system }, ...chat.messages];
    const { sequences } = tokenizeSampledRollout(tok, msgs, tools as unknown as ToolSpec[], [false, ...chat.generated], [undefined, ...chat.sampled]);
    const trained = sequences.flatMap((q) => q.tokens.filter((_, i) => q.agentMask[i]));
    const sampledIds = replies.flatMap((r) => (r.raw_data as { sampled: { token_ids: number[] } }).sampled.token_ids);
    expect(trained).toEqual(sampledIds);
    const trainedLp = sequences.flatMap((q) => q.logprobs.filter((_, i) => q.agentMask[i]));
    expect(trainedLp).toEqual(replies.flatMap((r) => (r.raw_data as { sampled: { logprobs: number[] } }).sampled.logprobs));
    // Before the first sampled token stands exactly the prompt the server evaluated.
    const first = sequences[0];
    const at = first.agentMask.indexOf(1);
    const upTo = history.findIndex((m) => m === replies[0]);
    // The server's own rendering (PromptRenderer.render) and tokenization (ModelInstance.tokenize) of that turn's request.
    const plain = server.host.instance.tokenize(server.host.instance.renderer.render({ messages: [{ role: 'system', content: system }, ...agentChatOf({ messages: history.slice(0, upTo) }, 1).messages.map((m) => ({ ...m, content: m.content ?? '' }))] as never, tools: tools as never, tool_choice: 'auto', parallel_tool_calls: false } as never));
    expect(first.tokens.slice(0, at)).toEqual([...plain]);
  }, 180_000);

  it('a tool call sampled with spaces is trained as sampled; later turns train on the re-rendered context', () => {
    const sampledCall = '<tool_call>{"name": "get_task", "arguments": {"task_id": "t1"}}</tool_call>';
    const ids = [...tok.tokenize(sampledCall), tok.eosId];
    const lps = ids.map((_, i) => -0.1 - i / 100);
    const text = 'It is still pending.';
    const ids2 = [...tok.tokenize(text), tok.eosId];
    const msgs: ChatMessage[] = [
      { role: 'system', content: system },
      { role: 'user', content: 'Is task t1 done?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'get_task', arguments: { task_id: 't1' } } }] },
      { role: 'tool', tool_call_id: 'c1', content: '{"status": "pending"}' },
      { role: 'assistant', content: text },
    ];
    const { sequences, split } = tokenizeSampledRollout(tok, msgs, tools as unknown as ToolSpec[], [false, false, true, false, true],
      [undefined, undefined, { tokenIds: ids, logprobs: lps }, undefined, { tokenIds: ids2, logprobs: ids2.map(() => -0.5) }]);
    expect(split).toBe(1);
    expect(sequences.length).toBe(2);
    // Sequence 1 ends with the sampled call (spaces and all), trained with its log-probs.
    const [a, b] = sequences;
    expect(a.tokens.slice(-ids.length)).toEqual(ids);
    expect(a.tokens.filter((_, i) => a.agentMask[i])).toEqual(ids);
    expect(a.logprobs.filter((_, i) => a.agentMask[i])).toEqual(lps);
    expect(tok.detokenize(a.tokens.filter((_, i) => a.agentMask[i]))).toContain('{"task_id": "t1"}');
    // Sequence 2 shows the call as the server re-renders it in later prompts, untrained, and trains the reply.
    expect(tok.detokenize(b.tokens)).toContain('{"name":"get_task","arguments":{"task_id":"t1"}}');
    expect(b.tokens.filter((_, i) => b.agentMask[i])).toEqual(ids2);
    // Both share the prompt up to the call.
    const header = a.tokens.length - ids.length;
    expect(b.tokens.slice(0, header)).toEqual(a.tokens.slice(0, header));
  });

  it("the learner's log-probs of the sampled tokens are close to the server's (temperature 1, no grammar)", async () => {
    const res = await fetch(`${server.baseURL}/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'local', messages: [{ role: 'system', content: system }, { role: 'user', content: 'Say something about tasks.' }], temperature: 1, seed: 7, max_tokens: 16, logprobs: true }),
    });
    const body = await res.json() as { choices: { logprobs: { content: { token_id: number; logprob: number; token: string }[] } }[] };
    const content = body.choices[0].logprobs.content;
    expect(content.length).toBeGreaterThan(3);
    const msgs: ChatMessage[] = [{ role: 'system', content: system }, { role: 'user', content: 'Say something about tasks.' }, { role: 'assistant', content: 'x' }];
    const { sequences } = tokenizeSampledRollout(tok, msgs, [], [false, false, true], [undefined, undefined, { tokenIds: content.map((c) => c.token_id), logprobs: content.map((c) => c.logprob) }]);
    const q = sequences[0];
    const model = loadGgufModel(modelPath);
    try {
      const inputs = [q.tokens.slice(0, -1)], targets = [q.tokens.slice(1)];
      const pos = q.agentMask.slice(1).map((m, i) => (m ? i : -1)).filter((i) => i >= 0);
      const lp = tf.tidy(() => selectedTargetLogProbs(model, inputs, targets, pos).dataSync());
      const server = pos.map((i) => q.logprobs[i + 1]);
      const diffs = server.map((s, i) => Math.abs(s - lp[i]));
      const mean = diffs.reduce((x, y) => x + y, 0) / diffs.length;
      // llama.cpp multiplies Q4/Q8 weights with quantized activations; we dequantize to float32.
      expect(mean).toBeLessThan(0.15);
    } finally {
      disposeModel(model);
    }
  }, 180_000);
});
