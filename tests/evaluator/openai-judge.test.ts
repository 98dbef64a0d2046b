// The OpenAI-compatible NL judge against a local stand-in endpoint: the request it sends (model,
// temperature 0, our prompts) and how it reads the answer.
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenAiNlJudge } from '../../llm/client/openai-nl-judge.ts';
import { NL_JUDGE_SYSTEM_PROMPT } from '../../domains/evaluator/nl-judge.ts';

const bodies: Record<string, unknown>[] = [];
let answer = '';
const server = createServer(async (req: IncomingMessage, res) => {
  let text = '';
  for await (const chunk of req) text += chunk;
  bodies.push(JSON.parse(text));
  res.setHeader('content-type', 'application/json');
  res.end(
    JSON.stringify({
      id: 'x', object: 'chat.completion', created: 0, model: 'judge',
      choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: answer } }],
    }),
  );
});
let baseURL = '';
beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('OpenAiNlJudge', () => {
  it('asks the model at temperature 0 with the system and user prompts, and parses the verdicts', async () => {
    answer = JSON.stringify({ results: [{ expectedOutcome: 'refund issued', reasoning: 'said so', metExpectation: true }] });
    const judge = new OpenAiNlJudge({ baseURL, model: 'judge-model', apiKey: 'k' });
    const out = await judge.judge('assistant: refund issued', ['refund issued']);
    expect(out).toEqual([{ expectedOutcome: 'refund issued', reasoning: 'said so', metExpectation: true }]);
    const body = bodies.at(-1) as { model: string; temperature: number; messages: { role: string; content: string }[] };
    expect(body.model).toBe('judge-model');
    expect(body.temperature).toBe(0);
    expect(body.messages[0]).toEqual({ role: 'system', content: NL_JUDGE_SYSTEM_PROMPT });
    expect(body.messages[1].content).toContain("assistant: refund issued\n        \n        expectedOutcomes:\n        ['refund issued']");
  });

  it('fails on an answer wrapped in a code fence, like the reference', async () => {
    answer = '```json\n{"results": []}\n```';
    await expect(new OpenAiNlJudge({ baseURL, model: 'm', apiKey: 'k' }).judge('t', ['a'])).rejects.toThrow(/not valid JSON/);
  });
});
