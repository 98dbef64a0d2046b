// `troupe model serve`: an OpenAI-compatible HTTP server over node-llama-cpp.
//   GET  /v1/models              the served model
//   POST /v1/chat/completions    tools / tool_choice / response_format json_schema / streaming (SSE)
//   POST /admin/reload           {"path": FILE} | {"model": NAME} | {"artifact": "nats://host:port/bucket/name"}
//   GET  /health
// Binds 127.0.0.1 unless told otherwise: the admin route can swap the weights.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename } from 'node:path';
import type { Token } from 'node-llama-cpp';
import { z } from 'zod';
import { resolveModelPath } from '../store/catalog.ts';
import { fetchNatsArtifact, isNatsArtifactRef, redactArtifactRef } from './artifact.ts';
import { ContextFullError, ModelHost, type EngineOptions, type ModelInstance, type SampledToken } from './engine.ts';
import { TOOL_CALL_OPEN } from './prompt.ts';
import { parseChatRequest, type ChatCompletionRequest } from './request.ts';
import { parseReply, ToolCallStreamer } from './tool-grammar.ts';

export interface ModelServerOptions extends EngineOptions {
  /** GGUF path or cached model name. */
  model?: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Served model id (default: the GGUF file name without extension). */
  modelId?: string;
  /** Default max_tokens when a request gives none. */
  defaultMaxTokens?: number;
  /** Do not keep the process alive for this server alone (the embedded default). */
  unref?: boolean;
  /**
   * Largest request body in bytes (default: `TROUPE_MODEL_MAX_BODY_BYTES`, else 2 MiB). A bigger one
   * gets 413 before it is parsed or tokenized.
   */
  maxBodyBytes?: number;
  log?: (line: string) => void;
}

export interface RunningModelServer {
  baseURL: string;
  url: string;
  modelId: string;
  host: ModelHost;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type = 'invalid_request_error',
    readonly param?: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

/**
 * 2 MiB: four times the text of a 128k-token context (~4 bytes a token), room for JSON escaping and
 * τ² tool schemas; a body beyond it could not fit any context we serve and would cost a parse and a
 * tokenization to find that out.
 */
export const DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024;

/** Names a chat request may give as `model`: the served id, and "local" (Troupe's name for the embedded default). */
export const LOCAL_MODEL_ALIAS = 'local';

function maxBodyFrom(opts: ModelServerOptions): number {
  const env = process.env.TROUPE_MODEL_MAX_BODY_BYTES;
  const v = opts.maxBodyBytes ?? (env ? Number(env) : DEFAULT_MAX_BODY_BYTES);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`model server: maxBodyBytes must be a positive integer (got ${opts.maxBodyBytes ?? `TROUPE_MODEL_MAX_BODY_BYTES=${env}`})`);
  return v;
}

const ReloadBody = z.union([
  z.object({ path: z.string().min(1) }).strict(),
  z.object({ model: z.string().min(1) }).strict(),
  z.object({ artifact: z.string().refine(isNatsArtifactRef, 'must look like nats://host:port/bucket/object') }).strict(),
]);

export async function startModelServer(opts: ModelServerOptions = {}): Promise<RunningModelServer> {
  const log = opts.log ?? (() => {});
  const maxBodyBytes = maxBodyFrom(opts);
  const readJson = (req: IncomingMessage) => readJsonBody(req, maxBodyBytes);
  const path = resolveModelPath(opts.model);
  log(`loading ${path}`);
  const host = await ModelHost.start(path, opts, opts.modelId);
  const defaultMaxTokens = opts.defaultMaxTokens ?? 512;
  const inFlight = new Set<ServerResponse>();

  const server: Server = createServer((req, res) => {
    inFlight.add(res);
    res.on('close', () => inFlight.delete(res));
    handle(req, res).catch((err) => sendError(res, err));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://local');
    const route = `${req.method} ${url.pathname.replace(/\/+$/, '')}`;
    switch (route) {
      case 'GET /health':
        return sendJson(res, 200, { status: 'ok', model: host.modelId, path: host.instance.path, in_flight: host.instance.inFlight });
      case 'GET /v1/models':
        return sendJson(res, 200, { object: 'list', data: [{ id: host.modelId, object: 'model', created: 0, owned_by: 'troupe' }] });
      case 'POST /v1/chat/completions':
        return chatCompletions(req, res);
      case 'POST /admin/reload':
        return reload(req, res);
      default:
        throw new HttpError(404, `no route ${req.method} ${url.pathname}`, 'not_found_error');
    }
  }

  async function reload(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const parsed = ReloadBody.safeParse(await readJson(req));
    if (!parsed.success) {
      throw new HttpError(400, `invalid reload request: expected {"path": FILE} | {"model": NAME} | {"artifact": "nats://…"}: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
    }
    const body = parsed.data;
    let file: string;
    try {
      if ('artifact' in body) {
        log(`fetching ${redactArtifactRef(body.artifact)}`);
        file = await fetchNatsArtifact(body.artifact);
      } else {
        file = resolveModelPath('path' in body ? body.path : body.model);
      }
    } catch (err) {
      throw new HttpError(400, `cannot reload: ${(err as Error).message}`);
    }
    log(`reloading from ${file}`);
    const t0 = Date.now();
    const result = await host.reload(file);
    log(`reloaded in ${Date.now() - t0} ms (${result.retiredInFlight} request(s) finishing on the previous weights)`);
    sendJson(res, 200, { status: 'reloaded', model: host.modelId, path: result.current, previous: result.previous, in_flight_on_previous: result.retiredInFlight, load_ms: Date.now() - t0 });
  }

  async function chatCompletions(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const parsed = parseChatRequest(await readJson(req));
    if (!parsed.ok) throw new HttpError(400, parsed.message, 'invalid_request_error', parsed.param);
    const body = parsed.value;
    // Only the model we serve answers; another name is the caller's mistake, not a request for ours.
    if (body.model !== host.modelId && body.model !== LOCAL_MODEL_ALIAS) {
      throw new HttpError(404, `The model \`${body.model.length > 200 ? `${body.model.slice(0, 200)}…` : body.model}\` does not exist: this server serves "${host.modelId}" (also answers to "${LOCAL_MODEL_ALIAS}")`, 'invalid_request_error', 'model', 'model_not_found');
    }
    const instance = host.instance; // pinned for the whole request, even across a reload
    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) abort.abort();
    });

    const plan = await planGeneration(instance, body);
    const id = `chatcmpl-${randomUUID()}`;
    const created = Math.floor(Date.now() / 1000);
    const maxTokens = body.max_completion_tokens ?? body.max_tokens ?? defaultMaxTokens;
    const stop = body.stop == null ? undefined : Array.isArray(body.stop) ? body.stop : [body.stop];
    const common = {
      prompt: plan.prompt,
      maxTokens,
      temperature: body.temperature ?? 1,
      topP: body.top_p ?? undefined,
      seed: body.seed ?? undefined,
      grammar: plan.grammar,
      stop: plan.toolsActive ? undefined : stop,
      signal: abort.signal,
      logprobs: body.logprobs === true,
    };

    if (!body.stream) {
      const out = await generateOrReject(instance, common);
      const reply = finishReply(out.text, plan.toolsActive, plan.json);
      sendJson(res, 200, {
        id,
        object: 'chat.completion',
        created,
        model: host.modelId,
        choices: [{ index: 0, message: reply.message, finish_reason: finishReason(out.stopReason, reply.toolCalls.length > 0), logprobs: out.sampled ? logprobsOf(instance, out.sampled) : null }],
        usage: usageOf(out),
        // Which weights answered (the loaded file's name, e.g. agent_v3-step3.f16): the learner's behaviour policy.
        system_fingerprint: basename(instance.path),
      });
      return;
    }

    // Streaming. Headers go out only once generation has started successfully, so a request that
    // fails early (context too long) still gets a proper HTTP error.
    const chunk = (delta: Record<string, unknown>, finish: string | null = null) => ({
      id,
      object: 'chat.completion.chunk',
      created,
      model: host.modelId,
      choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
    });
    let started = false;
    const startStream = () => {
      if (started) return;
      started = true;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
      sse(res, chunk({ role: 'assistant', content: '' }));
    };
    // In auto tool mode, the first character tells text from a call ("<" can only open a call).
    let mode: 'undecided' | 'text' | 'call' = plan.toolsActive ? 'undecided' : 'text';
    const calls = new ToolCallStreamer();
    const streamedIds: string[] = [];
    const onText = (t: string) => {
      if (t === '') return;
      if (mode === 'undecided') mode = t.startsWith(TOOL_CALL_OPEN[0]) ? 'call' : 'text';
      startStream();
      if (mode === 'text') {
        sse(res, chunk({ content: t }));
        return;
      }
      for (const ev of calls.push(t)) {
        if ('name' in ev) {
          // OpenAI shape: the first delta of a call carries id, type and name; arguments follow.
          streamedIds[ev.index] = newCallId();
          sse(res, chunk({ tool_calls: [{ index: ev.index, id: streamedIds[ev.index], type: 'function', function: { name: ev.name, arguments: '' } }] }));
        } else {
          sse(res, chunk({ tool_calls: [{ index: ev.index, function: { arguments: ev.fragment } }] }));
        }
      }
    };
    let out;
    try {
      out = await generateOrReject(instance, { ...common, onText });
    } catch (err) {
      if (!started) throw err;
      sse(res, { error: { message: (err as Error).message, type: 'server_error' } });
      res.end();
      return;
    }
    startStream();
    const reply = finishReply(out.text, plan.toolsActive, plan.json);
    // Calls the streamer could not follow (cut by max_tokens before the name ended) go out whole.
    reply.toolCalls.slice(calls.started).forEach((tc, i) => {
      const index = calls.started + i;
      sse(res, chunk({ tool_calls: [{ index, id: tc.id, type: 'function', function: { name: tc.function.name, arguments: '' } }] }));
      sse(res, chunk({ tool_calls: [{ index, function: { arguments: tc.function.arguments } }] }));
    });
    sse(res, chunk({}, finishReason(out.stopReason, reply.toolCalls.length > 0)));
    if (body.stream_options?.include_usage) sse(res, { id, object: 'chat.completion.chunk', created, model: host.modelId, choices: [], usage: usageOf(out) });
    res.write('data: [DONE]\n\n');
    res.end();
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 8090, opts.host ?? '127.0.0.1', () => resolve());
  });
  if (opts.unref) {
    server.unref();
    // Idle keep-alive connections would otherwise hold a finished process open for seconds.
    server.on('connection', (socket) => socket.unref());
  }
  const addr = server.address() as AddressInfo;
  const hostPart = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `http://${hostPart}:${addr.port}`;
  log(`serving ${host.modelId} on ${url}/v1`);
  return {
    url,
    baseURL: `${url}/v1`,
    modelId: host.modelId,
    host,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        for (const r of inFlight) if (r.writableFinished) r.destroy();
      });
      await host.close();
    },
  };
}

interface Plan {
  prompt: string;
  toolsActive: boolean;
  json: boolean;
  grammar?: Awaited<ReturnType<ModelInstance['grammars']['json']>>;
}

async function planGeneration(instance: ModelInstance, body: ChatCompletionRequest): Promise<Plan> {
  const toolsActive = !!body.tools?.length && body.tool_choice !== 'none';
  const rf = body.response_format;
  const json = !toolsActive && (rf?.type === 'json_schema' || rf?.type === 'json_object');
  let prompt: string;
  try {
    prompt = instance.renderer.render(body);
  } catch (err) {
    throw new HttpError(400, `cannot render the messages with the model's chat template: ${(err as Error).message}`, 'invalid_request_error', 'messages');
  }
  let grammar: Plan['grammar'];
  try {
    if (toolsActive) {
      const choice = body.tool_choice;
      const mode = choice === 'required' ? 'required' : choice && typeof choice === 'object' ? { name: choice.function.name } : 'auto';
      grammar = await instance.grammars.tools(body.tools!, mode, body.parallel_tool_calls === true);
    } else if (rf?.type === 'json_schema') {
      grammar = await instance.grammars.json(rf.json_schema.schema);
    } else if (rf?.type === 'json_object') {
      grammar = await instance.grammars.json(undefined);
    }
  } catch (err) {
    const param = toolsActive ? 'tools' : 'response_format';
    throw new HttpError(400, `cannot build a grammar from the ${param} schema: ${(err as Error).message}`, 'invalid_request_error', param);
  }
  return { prompt, toolsActive, json, grammar };
}

async function generateOrReject(instance: ModelInstance, p: Parameters<ModelInstance['generate']>[0]) {
  try {
    return await instance.generate(p);
  } catch (err) {
    if (err instanceof ContextFullError) throw new HttpError(400, err.message, 'invalid_request_error', 'messages', 'context_length_exceeded');
    throw err;
  }
}

function finishReply(text: string, toolsActive: boolean, json: boolean) {
  const parsed = parseReply(text, toolsActive);
  const toolCalls = parsed.toolCalls.map((c) => ({
    id: newCallId(),
    type: 'function' as const,
    function: { name: c.name, arguments: c.arguments },
  }));
  const content = parsed.content == null ? null : json ? parsed.content.trim() : parsed.content;
  return {
    toolCalls,
    message: { role: 'assistant' as const, content, refusal: null, ...(toolCalls.length ? { tool_calls: toolCalls } : {}) },
  };
}

function newCallId(): string {
  return `call_${randomUUID().replace(/-/g, '').slice(0, 24)}`;
}

function finishReason(stop: string, calledTools: boolean): string {
  if (calledTools) return 'tool_calls';
  return stop === 'maxTokens' ? 'length' : 'stop';
}

/**
 * OpenAI's chat `logprobs` shape for the sampled tokens, plus the token id of each (`token_id`, our
 * extension): the learner trains exactly these ids, not a re-tokenization of the reply text. The
 * end-of-generation token is included when it was sampled (its text is the token's piece).
 */
function logprobsOf(instance: ModelInstance, sampled: readonly SampledToken[]) {
  return {
    content: sampled.map((t) => {
      const text = instance.model.detokenize([t.id as Token], true);
      return { token: text, logprob: t.logprob, bytes: [...Buffer.from(text, 'utf8')], top_logprobs: [], token_id: t.id };
    }),
    refusal: null,
  };
}

function usageOf(out: { promptTokens: number; cachedTokens: number; completionTokens: number }) {
  return {
    prompt_tokens: out.promptTokens,
    completion_tokens: out.completionTokens,
    total_tokens: out.promptTokens + out.completionTokens,
    prompt_tokens_details: { cached_tokens: out.cachedTokens },
  };
}

function tooLarge(bytes: string, max: number): HttpError {
  return new HttpError(413, `request body is ${bytes} bytes, over this server's limit of ${max} (maxBodyBytes, --max-body-bytes, TROUPE_MODEL_MAX_BODY_BYTES)`, 'invalid_request_error', undefined, 'request_too_large');
}

/** The body as bytes, refused with 413 once it passes `max`: by Content-Length before reading, else while reading. */
function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) return Promise.reject(tooLarge(String(declared), max));
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size <= max) return void chunks.push(c);
      // Keep nothing more, but let the rest drain so the client can read the 413 (the connection then closes).
      req.off('data', onData);
      chunks.length = 0;
      req.resume();
      reject(tooLarge(`more than ${max}`, max));
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

async function readJsonBody(req: IncomingMessage, max: number): Promise<unknown> {
  const text = (await readBody(req, max)).toString('utf8');
  if (text.trim() === '') throw new HttpError(400, 'request body is empty; expected a JSON object');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, `request body is not valid JSON: ${(err as Error).message}`);
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sse(res: ServerResponse, body: unknown): void {
  res.write(`data: ${JSON.stringify(body)}\n\n`);
}

function sendError(res: ServerResponse, err: unknown): void {
  const e = err instanceof HttpError ? err : new HttpError(500, `internal error: ${(err as Error)?.message ?? String(err)}`, 'server_error');
  if (res.headersSent) {
    res.end();
    return;
  }
  // After a 413 the unread rest of the body is discarded; closing the connection stops the upload.
  if (e.status === 413) res.setHeader('connection', 'close');
  sendJson(res, e.status, { error: { message: e.message, type: e.type, param: e.param ?? null, code: e.code ?? null } });
}
