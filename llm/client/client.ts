// One client for every role: chat completions over the `openai` SDK against any OpenAI-compatible
// endpoint (hosted APIs, vLLM, SGLang, Ollama, or Troupe's own local model server).
//
// What it adds on top of the SDK: retries with backoff + jitter (the SDK's own retries are off so the
// policy is ours and observable), a per-endpoint concurrency limit, a span per call carrying token
// usage, a usage ledger, and typed errors for malformed model output.
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionCreateParamsStreaming,
  ChatCompletionMessageParam,
  ChatCompletionToolChoiceOption,
} from 'openai/resources/chat/completions';
import { SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { LOCAL_MODEL, resolveApiKey, type RoleModelConfig } from './config.ts';
import {
  LlmBadResponseError,
  LlmConnectionError,
  LlmError,
  LlmHttpError,
  LlmTimeoutError,
  MalformedOutputError,
} from './errors.ts';
import { backoffDelayMs, defaultRetryPolicy, retryAfterMs, sleep, type RetryPolicy } from './retry.ts';
import { endpointSemaphore } from './semaphore.ts';
import { runUsage, type UsageLedger } from './usage.ts';
import { assertNotEmpty, parseJsonAnswer, parseToolCall, type ParsedToolCall, type RawToolCall, type ToolSpec } from './validate.ts';

const tracer = trace.getTracer('troupe.llm');

export type ToolChoice = 'auto' | 'none' | 'required' | { name: string };

export interface ChatRequest {
  messages: ChatCompletionMessageParam[];
  tools?: ToolSpec[];
  toolChoice?: ToolChoice;
  /** Ask for a JSON answer matching this schema (response_format json_schema). */
  jsonSchema?: { name: string; schema: Record<string, unknown> };
  temperature?: number;
  seed?: number;
  maxTokens?: number;
  /** Accounting key: usage is also summed per dialogue. */
  dialogueId?: string;
  signal?: AbortSignal;
}

export interface ChatResult {
  content: string | null;
  toolCalls: ParsedToolCall[];
  /** The parsed JSON answer when `jsonSchema` was requested. */
  json?: unknown;
  finishReason: string;
  usage: { promptTokens: number; completionTokens: number };
  model: string;
  attempts: number;
  /** The assistant message in request form, ready to append to the history. */
  assistantMessage: ChatCompletionMessageParam;
  /**
   * The sampled tokens, when log-probs were asked for and the server gave token ids (our model
   * server's `token_id` extension): ids, log-probs, and which weights answered (system_fingerprint).
   */
  sampled?: SampledTokens;
}

export interface SampledTokens {
  tokenIds: number[];
  logprobs: number[];
  servedBy?: string;
}

/** choices[0].logprobs.content[] with `token_id` on every entry → the sampled tokens; else undefined. */
export function sampledTokensOf(choice: unknown, fingerprint: unknown): SampledTokens | undefined {
  const content = (choice as { logprobs?: { content?: unknown } } | undefined)?.logprobs?.content;
  if (!Array.isArray(content) || !content.length) return undefined;
  const ids: number[] = [], lps: number[] = [];
  for (const e of content as { token_id?: unknown; logprob?: unknown }[]) {
    if (!Number.isInteger(e?.token_id) || typeof e?.logprob !== 'number') return undefined; // not our server: no ids
    ids.push(e.token_id as number);
    lps.push(e.logprob);
  }
  return { tokenIds: ids, logprobs: lps, ...(typeof fingerprint === 'string' ? { servedBy: fingerprint } : {}) };
}

/** Stream callback: text as it arrives, and tool-call fragments (OpenAI delta shape). */
export interface StreamDelta {
  content?: string;
  toolCall?: { index: number; id?: string; name?: string; argumentsFragment?: string };
}

export interface LlmClientOptions {
  role: string;
  config: RoleModelConfig;
  ledger?: UsageLedger;
  retry?: Partial<RetryPolicy>;
  /** Resolves the endpoint of model "local" (defaults to the embedded model server). */
  resolveLocal?: () => Promise<{ baseURL: string; model: string }>;
}

interface Endpoint {
  baseURL: string;
  model: string;
  sdk: OpenAI;
}

export class LlmClient {
  readonly role: string;
  readonly config: RoleModelConfig;
  private readonly ledger: UsageLedger;
  private readonly retry: RetryPolicy;
  private readonly resolveLocal: () => Promise<{ baseURL: string; model: string }>;
  private endpointPromise?: Promise<Endpoint>;

  constructor(opts: LlmClientOptions) {
    this.role = opts.role;
    this.config = opts.config;
    this.ledger = opts.ledger ?? runUsage;
    this.retry = { ...defaultRetryPolicy, maxRetries: opts.config.maxRetries, ...opts.retry };
    this.resolveLocal =
      opts.resolveLocal ??
      (async () => {
        const { ensureLocalModelServer } = await import('../server/embedded.ts');
        return ensureLocalModelServer();
      });
  }

  /** One chat completion. Throws LlmError subclasses; malformed output throws MalformedOutputError. */
  async chat(req: ChatRequest): Promise<ChatResult> {
    const ep = await this.endpoint();
    const body: ChatCompletionCreateParamsNonStreaming = { ...this.buildBody(ep, req), stream: false };
    return this.traced(ep, req, async (span) => {
      const { value: completion, attempts } = await this.withRetries(ep, req.signal, span, (signal) =>
        ep.sdk.chat.completions.create(body, { signal, timeout: this.config.timeoutMs, maxRetries: 0 }),
      );
      const choice = checkCompletion(completion, attempts);
      const msg = choice.message;
      const raw: RawToolCall[] = (msg.tool_calls ?? []).flatMap((tc) =>
        tc.type === 'function' ? [{ id: tc.id, name: tc.function.name, arguments: tc.function.arguments ?? '' }] : [],
      );
      const sampled = this.config.logprobs ? sampledTokensOf(choice, (completion as { system_fingerprint?: unknown }).system_fingerprint) : undefined;
      const result = this.finish(span, ep, req, {
        content: msg.content ?? null,
        rawToolCalls: raw,
        finishReason: choice.finish_reason ?? 'stop',
        usage: completion.usage,
        model: completion.model ?? ep.model,
        attempts,
        sampled,
      });
      return sampled ? { ...result, sampled } : result;
    });
  }

  /** A streamed chat completion: `onDelta` sees text and tool-call fragments as they arrive. */
  async stream(req: ChatRequest, onDelta: (d: StreamDelta) => void): Promise<ChatResult> {
    const ep = await this.endpoint();
    const body: ChatCompletionCreateParamsStreaming = {
      ...this.buildBody(ep, req),
      stream: true,
      stream_options: { include_usage: true },
    };
    return this.traced(ep, req, async (span) => {
      // Only the opening of the stream is retried: once deltas reached the caller a retry would repeat them.
      const { value: stream, attempts } = await this.withRetries(ep, req.signal, span, (signal) =>
        ep.sdk.chat.completions.create(body, { signal, timeout: this.config.timeoutMs, maxRetries: 0 }),
      );
      let content = '';
      let sawContent = false;
      let finishReason = 'stop';
      let usage: ChatCompletion['usage'];
      let model = ep.model;
      const calls: Array<{ id: string; name: string; arguments: string }> = [];
      try {
        for await (const chunk of stream as AsyncIterable<ChatCompletionChunk>) {
          if (chunk.usage) usage = chunk.usage;
          if (chunk.model) model = chunk.model;
          const choice = chunk.choices?.[0];
          if (!choice) continue;
          if (choice.finish_reason) finishReason = choice.finish_reason;
          const d = choice.delta ?? {};
          if (typeof d.content === 'string' && d.content !== '') {
            content += d.content;
            sawContent = true;
            onDelta({ content: d.content });
          }
          for (const tc of d.tool_calls ?? []) {
            const slot = (calls[tc.index] ??= { id: '', name: '', arguments: '' });
            if (tc.id) slot.id = tc.id;
            if (tc.function?.name) slot.name += tc.function.name;
            if (tc.function?.arguments) slot.arguments += tc.function.arguments;
            onDelta({ toolCall: { index: tc.index, id: tc.id, name: tc.function?.name, argumentsFragment: tc.function?.arguments } });
          }
        }
      } catch (err) {
        throw classify(err, this.baseURLOf(ep), attempts, this.config.timeoutMs);
      }
      return this.finish(span, ep, req, {
        content: sawContent ? content : null,
        rawToolCalls: calls.filter(Boolean),
        finishReason,
        usage,
        model,
        attempts,
      });
    });
  }

  private async endpoint(): Promise<Endpoint> {
    this.endpointPromise ??= (async () => {
      const { baseURL, model } =
        this.config.model === LOCAL_MODEL
          ? await this.resolveLocal()
          : { baseURL: this.config.baseURL!, model: this.config.model };
      const sdk = new OpenAI({ baseURL, apiKey: resolveApiKey(this.role, this.config), maxRetries: 0, timeout: this.config.timeoutMs });
      return { baseURL, model, sdk };
    })();
    try {
      return await this.endpointPromise;
    } catch (err) {
      this.endpointPromise = undefined; // let a later call try again (e.g. the key was exported since)
      throw err;
    }
  }

  private baseURLOf(ep: Endpoint): string {
    return ep.baseURL;
  }

  private buildBody(ep: Endpoint, req: ChatRequest) {
    const tools = req.tools?.map((t) => ({
      type: 'function' as const,
      function: { name: t.name, description: t.description, parameters: t.parameters },
    }));
    let toolChoice: ChatCompletionToolChoiceOption | undefined;
    if (req.toolChoice !== undefined && tools?.length) {
      toolChoice = typeof req.toolChoice === 'string' ? req.toolChoice : { type: 'function', function: { name: req.toolChoice.name } };
    }
    const temperature = req.temperature ?? this.config.temperature;
    const seed = req.seed ?? this.config.seed;
    const maxTokens = req.maxTokens ?? this.config.maxTokens;
    return {
      model: ep.model,
      messages: req.messages,
      ...(tools?.length ? { tools } : {}),
      ...(toolChoice ? { tool_choice: toolChoice } : {}),
      ...(req.jsonSchema
        ? { response_format: { type: 'json_schema' as const, json_schema: { name: req.jsonSchema.name, schema: req.jsonSchema.schema, strict: true } } }
        : {}),
      ...(temperature !== undefined ? { temperature } : {}),
      ...(seed !== undefined ? { seed } : {}),
      ...(maxTokens !== undefined ? { max_tokens: maxTokens } : {}),
      ...(this.config.logprobs ? { logprobs: true } : {}),
    };
  }

  private traced(ep: Endpoint, req: ChatRequest, fn: (span: Span) => Promise<ChatResult>): Promise<ChatResult> {
    const attributes: Record<string, string | number | boolean> = {
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': ep.model,
      'server.address': safeHost(ep.baseURL),
      'troupe.role': this.role,
      'troupe.llm.tools': req.tools?.length ?? 0,
      'troupe.llm.json_schema': req.jsonSchema?.name ?? '',
    };
    if (req.dialogueId) attributes['troupe.dialogue_id'] = req.dialogueId;
    return tracer.startActiveSpan('llm.chat', { attributes }, async (span) => {
      try {
        return await fn(span);
      } catch (err) {
        span.recordException(err as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
        span.setAttribute('error.type', (err as Error).name ?? 'Error');
        throw err;
      } finally {
        span.end();
      }
    });
  }

  private finish(
    span: Span,
    ep: Endpoint,
    req: ChatRequest,
    got: {
      content: string | null;
      rawToolCalls: RawToolCall[];
      finishReason: string;
      usage: ChatCompletion['usage'] | undefined;
      model: string;
      attempts: number;
      sampled?: SampledTokens;
    },
  ): ChatResult {
    const promptTokens = got.usage?.prompt_tokens ?? 0;
    const completionTokens = got.usage?.completion_tokens ?? 0;
    // Usage is recorded before validation: a malformed answer still cost tokens.
    this.ledger.record({ role: this.role, dialogueId: req.dialogueId, model: got.model, promptTokens, completionTokens });
    span.setAttributes({
      'gen_ai.response.model': got.model,
      'gen_ai.usage.input_tokens': promptTokens,
      'gen_ai.usage.output_tokens': completionTokens,
      'gen_ai.response.finish_reasons': [got.finishReason],
      'troupe.llm.attempts': got.attempts,
      'troupe.llm.tool_calls': got.rawToolCalls.length,
    });
    const assistantMessage: ChatCompletionMessageParam = {
      role: 'assistant',
      content: got.content,
      ...(got.rawToolCalls.length
        ? {
            tool_calls: got.rawToolCalls.map((c) => ({
              id: c.id,
              type: 'function' as const,
              function: { name: c.name, arguments: c.arguments },
            })),
          }
        : {}),
    };
    try {
      assertNotEmpty(got.content, got.rawToolCalls);
      const toolCalls = got.rawToolCalls.map((c) => parseToolCall(c, req.tools ?? []));
      const json = req.jsonSchema && toolCalls.length === 0 ? parseJsonAnswer(got.content, req.jsonSchema.name, req.jsonSchema.schema) : undefined;
      return {
        content: got.content,
        toolCalls,
        ...(req.jsonSchema && toolCalls.length === 0 ? { json } : {}),
        finishReason: got.finishReason,
        usage: { promptTokens, completionTokens },
        model: got.model,
        attempts: got.attempts,
        assistantMessage,
      };
    } catch (err) {
      if (err instanceof MalformedOutputError) {
        err.assistantMessage = assistantMessage;
        if (got.sampled) (err as MalformedOutputError & { sampled?: SampledTokens }).sampled = got.sampled;
        err.usage = { promptTokens, completionTokens };
      }
      throw err;
    }
  }

  private async withRetries<T>(ep: Endpoint, callerSignal: AbortSignal | undefined, span: Span, call: (signal?: AbortSignal) => Promise<T>): Promise<{ value: T; attempts: number }> {
    const limiter = endpointSemaphore(ep.baseURL, this.config.concurrency);
    for (let attempt = 1; ; attempt++) {
      let failure: LlmError;
      let waitHint: number | undefined;
      try {
        const value = await limiter.run(() => call(callerSignal));
        return { value, attempts: attempt };
      } catch (err) {
        if (err instanceof APIUserAbortError || callerSignal?.aborted) throw callerSignal?.reason ?? err;
        failure = classify(err, ep.baseURL, attempt, this.config.timeoutMs);
        waitHint = err instanceof APIError ? retryAfterMs(err.headers) : undefined;
      }
      if (!isRetryable(failure) || attempt > this.retry.maxRetries) throw failure;
      const delay = waitHint ?? backoffDelayMs(this.retry, attempt - 1);
      span.addEvent('llm.retry', { attempt, 'error.type': failure.name, delay_ms: delay });
      await sleep(delay, callerSignal);
    }
  }
}

function checkCompletion(completion: unknown, attempts: number): ChatCompletion['choices'][number] {
  const c = completion as Partial<ChatCompletion> | null;
  if (!c || typeof c !== 'object') throw new LlmBadResponseError('body is not a JSON object', attempts);
  const choice = c.choices?.[0];
  if (!choice || typeof choice !== 'object' || !choice.message) throw new LlmBadResponseError('no choices[0].message in the body', attempts);
  return choice;
}

/** Map anything the SDK throws to our typed errors. */
export function classify(err: unknown, baseURL: string, attempts: number, timeoutMs: number): LlmError {
  if (err instanceof LlmError) return err;
  if (err instanceof APIConnectionTimeoutError) return new LlmTimeoutError(timeoutMs, attempts, { cause: err });
  if (err instanceof APIConnectionError) return new LlmConnectionError(baseURL, attempts, { cause: err });
  if (err instanceof APIError && typeof err.status === 'number') {
    return new LlmHttpError(err.status, err.error ? JSON.stringify(err.error) : err.message, attempts);
  }
  if (err instanceof SyntaxError) return new LlmBadResponseError(`body is not JSON (${err.message})`, attempts, { cause: err });
  if ((err as Error)?.name === 'TimeoutError') return new LlmTimeoutError(timeoutMs, attempts, { cause: err });
  return new LlmBadResponseError(err instanceof Error ? err.message : String(err), attempts, { cause: err });
}

function isRetryable(err: LlmError): boolean {
  if (err instanceof LlmHttpError) return err.status === 408 || err.status === 409 || err.status === 429 || err.status >= 500;
  return err instanceof LlmTimeoutError || err instanceof LlmConnectionError || err instanceof LlmBadResponseError;
}

function safeHost(baseURL: string): string {
  try {
    return new URL(baseURL).host;
  } catch {
    return 'invalid-url';
  }
}
