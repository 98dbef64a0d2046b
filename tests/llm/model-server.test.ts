// `troupe model serve` with the real default model, driven through the real openai SDK.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LlmClient, parseRoleModelConfig, UsageLedger } from '../../llm/client/index.ts';
import { defaultModelFile } from '../helpers/model.ts';
import { startServeCli, type ServeProcess } from './serve-cli.ts';

const weatherTool = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Current weather for a city',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string', maxLength: 24 }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
      required: ['city', 'unit'],
      additionalProperties: false,
    },
  },
};
const bookingTool = {
  type: 'function' as const,
  function: {
    name: 'book_table',
    description: 'Book a restaurant table',
    parameters: {
      type: 'object',
      properties: {
        restaurant: { type: 'string', maxLength: 24 },
        guests: { type: 'integer' },
        options: { type: 'array', items: { type: 'string', enum: ['window', 'quiet', 'outdoor'] }, maxItems: 2 },
      },
      required: ['restaurant', 'guests'],
      additionalProperties: false,
    },
  },
};
const tools = [weatherTool, bookingTool];

function argsValid(name: string, args: string): void {
  const tool = tools.find((t) => t.function.name === name);
  expect(tool, `unknown tool ${name}`).toBeDefined();
  const parsed = JSON.parse(args);
  const res = z.fromJSONSchema(tool!.function.parameters as never).safeParse(parsed);
  expect(res.success, `arguments ${args} do not match ${name}'s schema: ${res.error?.message}`).toBe(true);
}

let server: ServeProcess;
let client: OpenAI;
let workDir: string;

beforeAll(async () => {
  defaultModelFile();
  workDir = mkdtempSync(join(tmpdir(), 'troupe-serve-test-'));
  server = await startServeCli(['--parallel', '4', '--ctx-size', '2048']);
  client = new OpenAI({ baseURL: server.baseURL, apiKey: 'unused', maxRetries: 0, timeout: 120_000 });
});

afterAll(async () => {
  await server?.stop();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

describe('troupe model serve (OpenAI-compatible)', () => {
  it('lists the served model', async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toContain(server.modelId);
  });

  it('answers a plain chat with text and usage', async () => {
    const r = await client.chat.completions.create({
      model: server.modelId,
      messages: [{ role: 'user', content: 'What is the capital of France?' }],
      max_tokens: 12,
      temperature: 0,
    });
    const choice = r.choices[0];
    expect(choice.message.role).toBe('assistant');
    expect(choice.message.content?.trim().length).toBeGreaterThan(0);
    expect(['stop', 'length']).toContain(choice.finish_reason);
    expect(r.usage!.prompt_tokens).toBeGreaterThan(10);
    expect(r.usage!.completion_tokens).toBeGreaterThan(0);
    expect(r.usage!.completion_tokens).toBeLessThanOrEqual(12);
  });

  it('makes tool calls whose arguments validate against the tool schema (required and named)', async () => {
    const required = await client.chat.completions.create({
      model: server.modelId,
      messages: [{ role: 'user', content: 'Book a table for 4 people at Chez Marie, by the window.' }],
      tools,
      tool_choice: 'required',
      max_tokens: 120,
      temperature: 0.7,
      seed: 7,
    });
    const calls = required.choices[0].message.tool_calls ?? [];
    expect(required.choices[0].finish_reason).toBe('tool_calls');
    expect(calls).toHaveLength(1);
    const call = calls[0];
    expect(call.type).toBe('function');
    if (call.type !== 'function') return;
    expect(call.id).toMatch(/^call_/);
    argsValid(call.function.name, call.function.arguments);

    const named = await client.chat.completions.create({
      model: server.modelId,
      messages: [{ role: 'user', content: 'Is it raining in Oslo?' }],
      tools,
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      max_tokens: 80,
      temperature: 0,
    });
    const namedCall = named.choices[0].message.tool_calls?.[0];
    expect(namedCall?.type === 'function' && namedCall.function.name).toBe('get_weather');
    if (namedCall?.type === 'function') argsValid('get_weather', namedCall.function.arguments);
  });

  it('answers with JSON matching a response_format json_schema', async () => {
    const schema = {
      type: 'object',
      properties: { name: { type: 'string', maxLength: 20 }, age: { type: 'integer' }, tags: { type: 'array', items: { type: 'string', maxLength: 10 }, maxItems: 2 } },
      required: ['name', 'age', 'tags'],
      additionalProperties: false,
    };
    const r = await client.chat.completions.create({
      model: server.modelId,
      messages: [{ role: 'user', content: 'Describe a fictional person.' }],
      response_format: { type: 'json_schema', json_schema: { name: 'person', schema, strict: true } },
      max_tokens: 80,
      temperature: 0.5,
      seed: 3,
    });
    const value = JSON.parse(r.choices[0].message.content ?? '');
    expect(z.fromJSONSchema(schema as never).safeParse(value).success).toBe(true);

    const stream = await client.chat.completions.create({
      model: server.modelId,
      messages: [{ role: 'user', content: 'Describe another person.' }],
      response_format: { type: 'json_schema', json_schema: { name: 'person', schema, strict: true } },
      max_tokens: 80,
      temperature: 0,
      stream: true,
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(z.fromJSONSchema(schema as never).safeParse(JSON.parse(text)).success).toBe(true);
  });

  it('streams text deltas and a usage chunk, and streams tool calls in delta form', async () => {
    const stream = await client.chat.completions.create({
      model: server.modelId,
      messages: [{ role: 'user', content: 'Name three colours.' }],
      max_tokens: 10,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let deltas = 0;
    let usage: OpenAI.CompletionUsage | undefined;
    let finish: string | null = null;
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      const c = chunk.choices[0];
      if (c?.delta.content) {
        text += c.delta.content;
        deltas++;
      }
      if (c?.finish_reason) finish = c.finish_reason;
    }
    expect(deltas).toBeGreaterThan(1);
    expect(text.trim().length).toBeGreaterThan(0);
    expect(finish).not.toBeNull();
    expect(usage?.completion_tokens).toBeGreaterThan(0);

    const toolStream = await client.chat.completions.create({
      model: server.modelId,
      messages: [{ role: 'user', content: 'Weather in Rome, in celsius?' }],
      tools: [weatherTool],
      tool_choice: 'required',
      max_tokens: 80,
      temperature: 0,
      stream: true,
    });
    const acc: { id?: string; name: string; args: string; fragments: number } = { name: '', args: '', fragments: 0 };
    for await (const chunk of toolStream) {
      for (const tc of chunk.choices[0]?.delta.tool_calls ?? []) {
        expect(tc.index).toBe(0);
        if (tc.id) acc.id = tc.id;
        acc.name += tc.function?.name ?? '';
        acc.args += tc.function?.arguments ?? '';
        if (tc.function?.arguments) acc.fragments++;
      }
    }
    expect(acc.id).toMatch(/^call_/);
    expect(acc.fragments).toBeGreaterThan(1); // arguments arrive as they are generated
    expect(acc.name).toBe('get_weather');
    argsValid('get_weather', acc.args);
  });

  it('serves eight concurrent requests (more than its four sequences)', async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        client.chat.completions.create({
          model: server.modelId,
          messages: [{ role: 'user', content: `Write one word about the number ${i + 1}.` }],
          max_tokens: 8,
          temperature: 0.8,
          seed: i,
        }),
      ),
    );
    expect(results).toHaveLength(8);
    for (const r of results) {
      expect(r.choices[0].message.content?.length).toBeGreaterThan(0);
      expect(r.usage!.completion_tokens).toBeGreaterThan(0);
    }
    expect(new Set(results.map((r) => r.id)).size).toBe(8);
  });

  it('answers malformed requests with 400 and a message naming the problem', async () => {
    const bad = async (body: unknown) => {
      try {
        await client.chat.completions.create(body as never);
      } catch (err) {
        expect(err).toBeInstanceOf(OpenAI.BadRequestError);
        return (err as InstanceType<typeof OpenAI.BadRequestError>).message;
      }
      throw new Error('expected a 400');
    };
    expect(await bad({ model: 'x', messages: [{ role: 'robot', content: 'hi' }] })).toMatch(/messages\.0\.role/);
    expect(await bad({ model: 'x', messages: [] })).toMatch(/messages.*at least one/);
    expect(await bad({ model: 'x', messages: [{ role: 'user', content: 'hi' }], tools, tool_choice: { type: 'function', function: { name: 'fly' } } })).toMatch(
      /tool_choice.*"fly".*not in "tools"/,
    );
    expect(await bad({ model: 'x', messages: [{ role: 'user', content: 'hi' }], temperature: 7 })).toMatch(/temperature/);
    const raw = await fetch(`${server.baseURL}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model": "x", ' });
    expect(raw.status).toBe(400);
    expect(((await raw.json()) as { error: { message: string } }).error.message).toMatch(/not valid JSON/);
  });

  it('the LlmClient gets validated tool calls and records usage per role and dialogue', async () => {
    const ledger = new UsageLedger();
    const llm = new LlmClient({ role: 'actor', config: parseRoleModelConfig('actor', { model: server.modelId, baseURL: server.baseURL }), ledger });
    const res = await llm.chat({
      messages: [{ role: 'user', content: 'Weather in Lima?' }],
      tools: [{ name: weatherTool.function.name, description: weatherTool.function.description, parameters: weatherTool.function.parameters }],
      toolChoice: 'required',
      maxTokens: 80,
      temperature: 0,
      dialogueId: 'd-1',
    });
    expect(res.toolCalls).toHaveLength(1);
    expect(res.toolCalls[0].name).toBe('get_weather');
    expect(typeof res.toolCalls[0].arguments.city).toBe('string');
    expect(ledger.byRole('actor').calls).toBe(1);
    expect(ledger.byDialogue('d-1').completionTokens).toBe(res.usage.completionTokens);
    expect(ledger.total().promptTokens).toBeGreaterThan(0);
  });

  it('reloads weights while requests are in flight without dropping any', async () => {
    const copy = join(workDir, 'policy-v2.gguf');
    copyFileSync(defaultModelFile(), copy);
    const inFlight = Array.from({ length: 6 }, (_, i) =>
      client.chat.completions.create({
        model: server.modelId,
        messages: [{ role: 'user', content: `Tell me a fact about the number ${i}.` }],
        max_tokens: 24,
        temperature: 0,
      }),
    );
    await new Promise((r) => setTimeout(r, 300)); // let generation start on the old weights
    const reload = await fetch(`${server.url}/admin/reload`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ path: copy }) });
    expect(reload.status).toBe(200);
    const info = (await reload.json()) as { path: string; in_flight_on_previous: number };
    expect(info.path).toBe(copy);
    expect(info.in_flight_on_previous).toBeGreaterThan(0); // the swap really happened under load
    const results = await Promise.allSettled(inFlight);
    expect(results.map((r) => r.status)).toEqual(Array(6).fill('fulfilled'));
    for (const r of results) if (r.status === 'fulfilled') expect(r.value.choices[0].message.content?.length).toBeGreaterThan(0);

    const health = (await (await fetch(`${server.url}/health`)).json()) as { path: string; model: string };
    expect(health.path).toBe(copy);
    expect(health.model).toBe(server.modelId); // the served id survives the reload
    const after = await client.chat.completions.create({ model: server.modelId, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4 });
    expect(after.choices[0].message.content?.length).toBeGreaterThan(0);

    const badReload = await fetch(`${server.url}/admin/reload`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ path: join(workDir, 'missing.gguf') }) });
    expect(badReload.status).toBe(400);
    expect(((await badReload.json()) as { error: { message: string } }).error.message).toMatch(/missing\.gguf/);
  });
});
