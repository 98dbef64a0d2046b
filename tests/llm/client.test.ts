// LlmClient against a scripted local HTTP server: retries/backoff on 429/5xx/timeouts/garbage,
// typed errors, malformed-output errors, per-endpoint concurrency and usage accounting on spans.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  EmptyMessageError,
  feedbackMessages,
  LlmBadResponseError,
  LlmClient,
  LlmConfigError,
  LlmConnectionError,
  LlmHttpError,
  LlmTimeoutError,
  MalformedToolCallError,
  parseRoleModelConfig,
  SchemaViolationError,
  UsageLedger,
  backoffDelayMs,
  retryAfterMs,
  roleModelConfigFromEnv,
  type RoleModelConfigInput,
} from '../../llm/client/index.ts';

type Handler = (req: IncomingMessage, body: any, res: ServerResponse) => void;

let server: Server;
let baseURL: string;
let script: Handler[] = [];
let fallback: Handler;
let requests: Array<{ body: any; auth?: string }> = [];
let inFlight = 0;
let maxInFlight = 0;

const exporter = new InMemorySpanExporter();

function completion(message: Record<string, unknown>, usage = { prompt_tokens: 11, completion_tokens: 5, total_tokens: 16 }) {
  return { id: 'c1', object: 'chat.completion', created: 0, model: 'fake-model', choices: [{ index: 0, message: { role: 'assistant', ...message }, finish_reason: 'stop' }], usage };
}

const ok = (message: Record<string, unknown> = { content: 'hello' }): Handler => (_req, _body, res) => json(res, 200, completion(message));
const status = (code: number, headers: Record<string, string> = {}): Handler => (_req, _body, res) => json(res, code, { error: { message: `status ${code}` } }, headers);

function json(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(code, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

beforeAll(async () => {
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  trace.setGlobalTracerProvider(provider);
  server = createServer(async (req, res) => {
    let raw = '';
    for await (const c of req) raw += c;
    const body = raw ? JSON.parse(raw) : undefined;
    requests.push({ body, auth: req.headers.authorization });
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    res.on('close', () => inFlight--);
    (script.shift() ?? fallback)(req, body, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

beforeEach(() => {
  script = [];
  fallback = ok();
  requests = [];
  maxInFlight = 0;
  exporter.reset();
});

let endpointCounter = 0;
/** Each client gets its own endpoint key (a distinct path) so concurrency limits do not leak between tests. */
function client(config: Partial<RoleModelConfigInput> = {}, ledger = new UsageLedger()) {
  const url = `${baseURL.replace(/\/v1$/, '')}/e${++endpointCounter}/v1`;
  return new LlmClient({
    role: 'critic',
    config: parseRoleModelConfig('critic', { model: 'fake-model', baseURL: url, timeoutMs: 2_000, maxRetries: 3, ...config }),
    ledger,
    retry: { baseDelayMs: 5, maxDelayMs: 20 },
  });
}

const hi = { messages: [{ role: 'user' as const, content: 'hi' }] };
const weather = { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false } };

describe('retries', () => {
  it('retries 429 and 5xx, then succeeds', async () => {
    script = [status(429), status(500), status(503)];
    const res = await client().chat(hi);
    expect(res.content).toBe('hello');
    expect(res.attempts).toBe(4);
    expect(requests).toHaveLength(4);
  });

  it('honours Retry-After', async () => {
    script = [status(429, { 'retry-after': '1' })];
    const t0 = Date.now();
    const res = await client().chat(hi);
    expect(res.attempts).toBe(2);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
  });

  it('gives up after maxRetries with a typed HTTP error', async () => {
    fallback = status(502);
    const err = await client({ maxRetries: 2 }).chat(hi).catch((e) => e);
    expect(err).toBeInstanceOf(LlmHttpError);
    expect(err.status).toBe(502);
    expect(err.attempts).toBe(3);
    expect(requests).toHaveLength(3);
  });

  it('does not retry a 400', async () => {
    fallback = status(400);
    const err = await client().chat(hi).catch((e) => e);
    expect(err).toBeInstanceOf(LlmHttpError);
    expect(err.status).toBe(400);
    expect(requests).toHaveLength(1);
  });

  it('times out a hanging request, retries, and reports LlmTimeoutError', async () => {
    fallback = () => {}; // never answers
    const err = await client({ timeoutMs: 150, maxRetries: 1 }).chat(hi).catch((e) => e);
    expect(err).toBeInstanceOf(LlmTimeoutError);
    expect(err.attempts).toBe(2);
    expect(requests).toHaveLength(2);
  });

  it('types garbage bodies and retries them', async () => {
    const garbage: Handler = (_r, _b, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('<html>bad gateway</html>');
    };
    script = [garbage];
    expect((await client().chat(hi)).attempts).toBe(2);
    fallback = garbage;
    const err = await client({ maxRetries: 1 }).chat(hi).catch((e) => e);
    expect(err).toBeInstanceOf(LlmBadResponseError);
    fallback = (_r, _b, res) => json(res, 200, { id: 'x', choices: [] });
    expect(await client({ maxRetries: 0 }).chat(hi).catch((e) => e)).toBeInstanceOf(LlmBadResponseError);
  });

  it('reports an unreachable endpoint as LlmConnectionError', async () => {
    const c = new LlmClient({
      role: 'critic',
      config: parseRoleModelConfig('critic', { model: 'm', baseURL: 'http://127.0.0.1:9/v1', maxRetries: 1, timeoutMs: 2000 }),
      retry: { baseDelayMs: 1, maxDelayMs: 2 },
    });
    const err = await c.chat(hi).catch((e) => e);
    expect(err).toBeInstanceOf(LlmConnectionError);
    expect(err.attempts).toBe(2);
  });

  it('backoff grows exponentially with jitter and is capped; Retry-After parses seconds and dates', () => {
    const p = { maxRetries: 5, baseDelayMs: 100, maxDelayMs: 1000 };
    expect(backoffDelayMs(p, 0, () => 0)).toBe(50);
    expect(backoffDelayMs(p, 0, () => 1)).toBe(100);
    expect(backoffDelayMs(p, 3, () => 1)).toBe(800);
    expect(backoffDelayMs(p, 10, () => 1)).toBe(1000);
    const h = (v: Record<string, string>) => new Headers(v);
    expect(retryAfterMs(h({ 'retry-after': '2' }))).toBe(2000);
    expect(retryAfterMs(h({ 'retry-after-ms': '250' }))).toBe(250);
    expect(retryAfterMs(h({ 'retry-after': new Date(10_000).toUTCString() }), 5_000)).toBe(5000);
    expect(retryAfterMs(h({ 'retry-after': 'soon' }))).toBeUndefined();
  });
});

describe('malformed output', () => {
  const call = (name: string, args: string) => ({ content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name, arguments: args } }] });

  it('tool-call arguments that are not JSON', async () => {
    fallback = ok(call('get_weather', '{"city": Par'));
    const err = await client().chat({ ...hi, tools: [weather] }).catch((e) => e);
    expect(err).toBeInstanceOf(MalformedToolCallError);
    expect(err.problem).toBe('invalid_json');
    expect(err.toModelMessage()).toMatch(/get_weather.*not valid JSON/);
    expect(err.assistantMessage).toMatchObject({ role: 'assistant', tool_calls: [{ id: 'call_1' }] });
    expect(err.usage).toEqual({ promptTokens: 11, completionTokens: 5 });
  });

  it('unknown tool names', async () => {
    fallback = ok(call('launch_rocket', '{}'));
    const err = await client().chat({ ...hi, tools: [weather] }).catch((e) => e);
    expect(err).toBeInstanceOf(MalformedToolCallError);
    expect(err.problem).toBe('unknown_tool');
    expect(err.toModelMessage()).toMatch(/no tool named "launch_rocket".*get_weather/);
  });

  it('arguments that do not fit the tool schema', async () => {
    fallback = ok(call('get_weather', '{"town": "Paris"}'));
    const err = await client().chat({ ...hi, tools: [weather] }).catch((e) => e);
    expect(err).toBeInstanceOf(MalformedToolCallError);
    expect(err.problem).toBe('schema_mismatch');
    expect(err.toModelMessage()).toMatch(/city/);
  });

  it('feedback messages answer every tool call of a rejected reply', async () => {
    fallback = ok({
      content: null,
      tool_calls: [
        { id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
        { id: 'call_b', type: 'function', function: { name: 'get_weather', arguments: '{"city": 3}' } },
      ],
    });
    const err = await client().chat({ ...hi, tools: [weather] }).catch((e) => e);
    expect(err).toBeInstanceOf(MalformedToolCallError);
    const msgs = feedbackMessages(err);
    expect(msgs.map((m) => m.role)).toEqual(['assistant', 'tool', 'tool']);
    expect(msgs[1]).toMatchObject({ tool_call_id: 'call_a', content: expect.stringMatching(/Not run/) });
    expect(msgs[2]).toMatchObject({ tool_call_id: 'call_b', content: err.toModelMessage() });
    fallback = ok({ content: '' });
    const empty = await client().chat(hi).catch((e) => e);
    expect(feedbackMessages(empty)).toEqual([{ role: 'user', content: empty.toModelMessage() }]);
  });

  it('empty messages', async () => {
    fallback = ok({ content: '  ' });
    const err = await client().chat(hi).catch((e) => e);
    expect(err).toBeInstanceOf(EmptyMessageError);
    expect(err.toModelMessage()).toMatch(/empty/);
  });

  it('JSON answers that are not JSON or break the schema', async () => {
    const jsonSchema = { name: 'verdict', schema: { type: 'object', properties: { pass: { type: 'boolean' } }, required: ['pass'] } };
    fallback = ok({ content: 'yes it passes' });
    expect(await client().chat({ ...hi, jsonSchema }).catch((e) => e)).toBeInstanceOf(SchemaViolationError);
    fallback = ok({ content: '{"pass": "yes"}' });
    const err = await client().chat({ ...hi, jsonSchema }).catch((e) => e);
    expect(err).toBeInstanceOf(SchemaViolationError);
    expect(err.toModelMessage()).toMatch(/verdict.*pass/);
    fallback = ok({ content: '{"pass": true}' });
    expect((await client().chat({ ...hi, jsonSchema })).json).toEqual({ pass: true });
  });

  it('a valid tool call is parsed', async () => {
    fallback = ok(call('get_weather', '{"city":"Paris"}'));
    const res = await client().chat({ ...hi, tools: [weather], toolChoice: 'required' });
    expect(res.toolCalls).toEqual([{ id: 'call_1', name: 'get_weather', arguments: { city: 'Paris' }, rawArguments: '{"city":"Paris"}' }]);
    expect(requests[0].body.tool_choice).toBe('required');
    expect(requests[0].body.tools[0].function.name).toBe('get_weather');
  });
});

describe('concurrency, usage, config', () => {
  it('limits in-flight requests per endpoint across clients', async () => {
    fallback = (_r, _b, res) => setTimeout(() => json(res, 200, completion({ content: 'x' })), 60);
    const a = client({ concurrency: 2 });
    // A second client on the same endpoint shares the limiter.
    const b = new LlmClient({ role: 'actor', config: a.config, retry: { baseDelayMs: 1, maxDelayMs: 2 } });
    await Promise.all([...Array.from({ length: 4 }, () => a.chat(hi)), ...Array.from({ length: 4 }, () => b.chat(hi))]);
    expect(requests).toHaveLength(8);
    expect(maxInFlight).toBe(2);
  });

  it('sums usage per role, dialogue and run, and puts it on the span without the API key', async () => {
    process.env.TEST_LLM_KEY = 'sk-secret-123';
    const ledger = new UsageLedger();
    const c = client({ apiKeyEnv: 'TEST_LLM_KEY', temperature: 0.3, seed: 5, maxTokens: 64 }, ledger);
    await c.chat({ ...hi, dialogueId: 'd1' });
    await c.chat({ ...hi, dialogueId: 'd1' });
    await c.chat({ ...hi, dialogueId: 'd2' });
    expect(requests[0].auth).toBe('Bearer sk-secret-123');
    expect(requests[0].body).toMatchObject({ model: 'fake-model', temperature: 0.3, seed: 5, max_tokens: 64 });
    expect(ledger.byRole('critic')).toEqual({ promptTokens: 33, completionTokens: 15, totalTokens: 48, calls: 3 });
    expect(ledger.byDialogue('d1').calls).toBe(2);
    expect(ledger.byDialogue('d2').totalTokens).toBe(16);
    expect(ledger.total().calls).toBe(3);
    const spans = exporter.getFinishedSpans().filter((s) => s.name === 'llm.chat');
    expect(spans).toHaveLength(3);
    expect(spans[0].attributes).toMatchObject({ 'gen_ai.usage.input_tokens': 11, 'gen_ai.usage.output_tokens': 5, 'troupe.role': 'critic', 'troupe.dialogue_id': 'd1' });
    expect(JSON.stringify(spans.map((s) => [s.attributes, s.events]))).not.toContain('sk-secret-123');
  });

  it('marks failed calls on their span and records retries as events', async () => {
    script = [status(500)];
    await client().chat(hi);
    const span = exporter.getFinishedSpans().find((s) => s.name === 'llm.chat')!;
    expect(span.events.map((e) => e.name)).toContain('llm.retry');
    fallback = status(401);
    await client().chat(hi).catch(() => undefined);
    const failed = exporter.getFinishedSpans().filter((s) => s.name === 'llm.chat')[1];
    expect(failed.status.code).toBe(2); // ERROR
    expect(failed.attributes['error.type']).toBe('LlmHttpError');
  });

  it('streams deltas and assembles tool calls', async () => {
    fallback = (_r, _b, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const send = (o: unknown) => res.write(`data: ${JSON.stringify(o)}\n\n`);
      const base = { id: 's', object: 'chat.completion.chunk', created: 0, model: 'fake-model' };
      send({ ...base, choices: [{ index: 0, delta: { role: 'assistant', tool_calls: [{ index: 0, id: 'call_9', type: 'function', function: { name: 'get_weather', arguments: '' } }] }, finish_reason: null }] });
      send({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }, finish_reason: null }] });
      send({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '"Rome"}' } }] }, finish_reason: 'tool_calls' }] });
      send({ ...base, choices: [], usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 } });
      res.end('data: [DONE]\n\n');
    };
    const fragments: string[] = [];
    const res = await client().stream({ ...hi, tools: [weather] }, (d) => d.toolCall?.argumentsFragment && fragments.push(d.toolCall.argumentsFragment));
    expect(fragments).toEqual(['{"city":', '"Rome"}']);
    expect(res.toolCalls[0]).toMatchObject({ id: 'call_9', name: 'get_weather', arguments: { city: 'Rome' } });
    expect(res.usage).toEqual({ promptTokens: 3, completionTokens: 4 });
    expect(res.finishReason).toBe('tool_calls');
  });

  it('validates config and names a missing key variable without its value', async () => {
    expect(() => parseRoleModelConfig('critic', { model: 'gpt-x' })).toThrow(/role "critic".*no baseURL/);
    expect(() => parseRoleModelConfig('critic', { model: 'm', baseURL: 'not a url' })).toThrow(LlmConfigError);
    expect(() => parseRoleModelConfig('critic', { temperature: 5 })).toThrow(/temperature/);
    delete process.env.TEST_MISSING_KEY;
    const err = await client({ apiKeyEnv: 'TEST_MISSING_KEY' }).chat(hi).catch((e) => e);
    expect(err).toBeInstanceOf(LlmConfigError);
    expect(err.message).toMatch(/TEST_MISSING_KEY/);
    const env = { TROUPE_MODEL: 'gpt-4o-mini', TROUPE_BASE_URL: 'https://api.example.com/v1', TROUPE_ACTOR_MODEL: 'qwen', TROUPE_ACTOR_BASE_URL: 'http://gpu:8000/v1' };
    expect(roleModelConfigFromEnv('actor', {}, env)).toMatchObject({ model: 'qwen', baseURL: 'http://gpu:8000/v1' });
    expect(roleModelConfigFromEnv('critic', {}, env)).toMatchObject({ model: 'gpt-4o-mini' });
    expect(roleModelConfigFromEnv('critic', {}, {}).model).toBe('local');
  });
});
