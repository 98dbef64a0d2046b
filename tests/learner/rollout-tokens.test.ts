// Dialogue → learner tokens + agent mask, and the rendering decision: the learner's tokens of a
// dialogue with tool results are, turn by turn, exactly the prompt tokens the model server builds
// (server code: PromptRenderer + ModelInstance.tokenize on the default model).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadChatTokenizer, tokenizeRollout, type ChatTokenizer } from '../../nn/model/tokenizer.ts';
import { normalizeChat, toRequestMessage, type ChatMessage, type ToolSpec } from '../../nn/model/chat-format.ts';
import { ModelInstance } from '../../llm/server/engine.ts';
import { agentChatOf } from '../../actors/learner/society-source.ts';
import type { Message } from '../../protocols/dialogue.ts';
import { defaultModelFile } from '../helpers/model.ts';

const modelPath = defaultModelFile();
let tok: ChatTokenizer;
let server: ModelInstance;
beforeAll(async () => {
  tok = await loadChatTokenizer(modelPath);
  server = await ModelInstance.load(modelPath, { parallel: 1, contextSize: 1024, threads: 1 });
}, 60_000);
afterAll(async () => {
  await tok?.dispose();
  await server?.dispose();
});

const tools: ToolSpec[] = [
  { type: 'function', function: { name: 'get_task', description: 'Look up a task', parameters: { type: 'object', properties: { task_id: { type: 'string' } }, required: ['task_id'] } } },
];
// An agent's view: system prompt, greeting (fixed, not generated), user, a tool call, its result, a reply.
const chat: ChatMessage[] = [
  { role: 'system', content: 'You are a task-tracker agent.' },
  { role: 'assistant', content: 'Hi! How can I help you today?' },
  { role: 'user', content: 'Is task_1 done?' },
  { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_task', arguments: '{"task_id": "task_1"}' } }] },
  { role: 'tool', tool_call_id: 'call_1', content: '{"status": "pending"}' },
  { role: 'assistant', content: 'It is still pending.' },
  { role: 'user', content: 'Thanks. ###STOP###' },
];
const generated = [false, false, false, true, false, true, false];

describe('dialogue → tokens and agent mask', () => {
  it('the learner tokens agree with the model server prompt before every generated turn', () => {
    const { tokens, agentMask } = tokenizeRollout(tok, chat, tools, generated);
    for (const k of [3, 5]) {
      // What the agent's LLM client sends for turn k: the history so far, the tools, tool_choice auto.
      const prompt = server.renderer.render({ messages: chat.slice(0, k).map(toRequestMessage), tools: tools as never, tool_choice: 'auto' });
      const ids = [...server.tokenize(prompt)];
      expect(tokens.slice(0, ids.length)).toEqual(ids);
      expect(agentMask[ids.length]).toBe(1); // the very next token is the policy's
      expect(agentMask[ids.length - 1]).toBe(0); // the role header is not
    }
    // Tool results are user turns in <tool_response> tags for a template without a tool role (SmolLM2).
    expect(server.renderer.knowsToolRole).toBe(false);
    const text = tok.detokenize(tokens);
    expect(text).toContain('<|im_start|>user\n<tool_response>\n{"status": "pending"}\n</tool_response><|im_end|>');
    expect(normalizeChat(tok.template, chat, tools)[4]).toEqual({ role: 'user', content: '<tool_response>\n{"status": "pending"}\n</tool_response>' });
  });

  it('marks exactly the generated turns: their text or tool-call JSON and the end-of-turn token', () => {
    const { tokens, agentMask } = tokenizeRollout(tok, chat, tools, generated);
    expect(agentMask).toHaveLength(tokens.length);
    const marked = tok.detokenize(tokens.filter((_, i) => agentMask[i] === 1));
    expect(marked).toBe('<tool_call>{"name":"get_task","arguments":{"task_id":"task_1"}}</tool_call><|im_end|>It is still pending.<|im_end|>');
    // The greeting is an assistant turn too, but the scene wrote it: nothing of it is marked.
    const greetingEnd = tok.detokenize(tokens).indexOf('How can I help');
    expect(greetingEnd).toBeGreaterThan(0);
    // Marked spans are contiguous per turn: two spans here.
    const spans = agentMask.reduce((n, m, i) => n + (m === 1 && agentMask[i - 1] !== 1 ? 1 : 0), 0);
    expect(spans).toBe(2);
  });

  it('with no generated turn nothing is marked; a non-assistant message cannot be marked', () => {
    const none = tokenizeRollout(tok, chat, tools, chat.map(() => false));
    expect(none.agentMask.every((m) => m === 0)).toBe(true);
    expect(none.tokens).toEqual(tokenizeRollout(tok, chat, tools, generated).tokens);
    expect(() => tokenizeRollout(tok, chat, tools, chat.map((m) => m.role === 'user'))).toThrow(/marked generated but its role is user/);
    expect(() => tokenizeRollout(tok, chat, tools, [true])).toThrow(/1 generated flags for 7 messages/);
  });

  it('agentChatOf: the agent view of a dialogue, the opening not generated, the user\'s tool calls hidden', () => {
    const messages = [
      { role: 'assistant', content: 'Hi! How can I help you today?', tool_calls: null },
      { role: 'user', content: 'Check my inbox, then help.', tool_calls: null },
      { role: 'user', content: null, tool_calls: [{ id: 'u1', name: 'check_notifications', arguments: {}, requestor: 'user' }] },
      { role: 'tool', id: 'u1', content: '[]', requestor: 'user', error: false },
      { role: 'assistant', content: null, tool_calls: [{ id: 'a1', name: 'get_users', arguments: {}, requestor: 'assistant' }] },
      { role: 'tool', id: 'a1', content: '{"user_1": {}}', requestor: 'assistant', error: false },
      { role: 'assistant', content: 'Found you.', tool_calls: null },
    ] as unknown as Message[];
    const { messages: view, generated: gen } = agentChatOf({ messages }, 1);
    expect(view.map((m) => m.role)).toEqual(['assistant', 'user', 'assistant', 'tool', 'assistant']);
    expect(gen).toEqual([false, false, true, false, true]);
    expect(view[2].tool_calls?.[0].function).toEqual({ name: 'get_users', arguments: '{}' });
  });
});
