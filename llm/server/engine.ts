// The loaded model: one llama.cpp context with N sequences, handed out to requests from a pool.
// Sequences of one context are evaluated together in one batch by node-llama-cpp, so concurrent
// requests share both the weights and each decode step.
//
// ModelHost owns "the current model" and swaps it on reload: a request pins the instance it started
// on; a reload loads the new instance fully, makes it current for new requests, then disposes the
// old one once its last request has finished. No request is dropped or answered by a half-loaded model.
import { availableParallelism } from 'node:os';
import { basename } from 'node:path';
import { getLlama, LlamaCompletion, type Llama, type LlamaContext, type LlamaContextSequence, type LlamaGrammar, type LlamaModel, type Token } from 'node-llama-cpp';
import { GrammarCache } from './tool-grammar.ts';
import { PromptRenderer } from './prompt.ts';

export interface EngineOptions {
  /** Parallel sequences (requests decoded together). */
  parallel?: number;
  /** Context size of each sequence, in tokens. */
  contextSize?: number;
  /** CPU threads for llama.cpp. */
  threads?: number;
}

export interface ResolvedEngineOptions {
  parallel: number;
  contextSize: number;
  threads: number;
}

export function resolveEngineOptions(opts: EngineOptions = {}): ResolvedEngineOptions {
  const env = (name: string) => {
    const n = Number(process.env[name]);
    return Number.isInteger(n) && n > 0 ? n : undefined;
  };
  return {
    // Four sequences of 8k tokens: τ² prompts (policy + tools + history) need several thousand
    // tokens, and on a few CPU cores decoding is compute-bound, so more parallel sequences add
    // memory, not throughput. Requests beyond `parallel` wait for a free sequence.
    parallel: opts.parallel ?? env('TROUPE_LLAMA_PARALLEL') ?? 4,
    contextSize: opts.contextSize ?? env('TROUPE_LLAMA_CTX') ?? 8192,
    // Leave a core to the rest of the society (NATS, roles, training); spinning threads on an
    // oversubscribed CPU make llama.cpp many times slower than one thread.
    threads: opts.threads ?? env('TROUPE_LLAMA_THREADS') ?? Math.max(1, Math.min(8, availableParallelism() - 1)),
  };
}

let llamaPromise: Promise<Llama> | undefined;
let llamaThreads = 0;

/** The process-wide llama.cpp binding (CPU build; never compiles or downloads anything). */
export function sharedLlama(threads: number): Promise<Llama> {
  if (!llamaPromise) {
    llamaThreads = threads;
    llamaPromise = getLlama({ gpu: false, build: 'never', maxThreads: threads, logLevel: 'error' as never });
  }
  return llamaPromise;
}

export class ContextFullError extends Error {
  constructor(readonly promptTokens: number, readonly maxTokens: number, readonly contextSize: number) {
    super(`the prompt is ${promptTokens} tokens and max_tokens is ${maxTokens}, but the context holds ${contextSize} tokens per request`);
    this.name = 'ContextFullError';
  }
}

export interface GenerateParams {
  prompt: string;
  maxTokens: number;
  temperature: number;
  topP?: number;
  seed?: number;
  grammar?: LlamaGrammar;
  stop?: string[];
  signal?: AbortSignal;
  onText?: (text: string) => void;
  /** Record every sampled token id and its log-probability (OpenAI `logprobs`). */
  logprobs?: boolean;
}

/** One sampled token: its id and log-probability under the distribution it was drawn from. */
export interface SampledToken {
  id: number;
  logprob: number;
}

export interface GenerateResult {
  text: string;
  promptTokens: number;
  /** Prompt tokens whose KV state was reused from the sequence's previous request. */
  cachedTokens: number;
  completionTokens: number;
  /** Every token the sampler drew, in order, the end-of-generation token included (when `logprobs`). */
  sampled?: SampledToken[];
  stopReason: 'eogToken' | 'stopGenerationTrigger' | 'maxTokens' | 'abort' | 'customStopTrigger';
}

/**
 * Makes `seq.evaluate` (what LlamaCompletion drives) record each sampled token with its probability:
 * it is node-llama-cpp's own `evaluate`, but over `evaluateWithMetadata(…, {confidence: true})`.
 * The confidence is the probability of the drawn token in the distribution the sampler drew it from
 * (after temperature, top-p and the grammar: the behaviour policy itself). Undone after the request.
 */
function recordSampling(seq: LlamaContextSequence, into: SampledToken[]): void {
  type Gen = AsyncGenerator<Token, void, void | Token | Token[]>;
  (seq as unknown as { evaluate: (tokens: Token[], options?: object) => Gen }).evaluate = async function* (tokens: Token[], options: object = {}) {
    const it = seq.evaluateWithMetadata(tokens, { confidence: true }, options);
    let input: void | Token | Token[] = undefined;
    try {
      while (true) {
        const { value, done } = await it.next(input);
        if (done) return;
        if (value.confidence == null || !(value.confidence > 0)) throw new Error(`llama.cpp gave no probability for sampled token ${value.token}`);
        into.push({ id: value.token, logprob: Math.log(value.confidence) });
        input = yield value.token;
      }
    } finally {
      await it.return();
    }
  };
}

export class ModelInstance {
  readonly renderer: PromptRenderer;
  readonly grammars: GrammarCache;
  private readonly free: LlamaContextSequence[];
  private readonly waiters: Array<(s: LlamaContextSequence) => void> = [];
  private active = 0;
  private disposed = false;
  private idleResolvers: Array<() => void> = [];

  private constructor(
    readonly id: string,
    readonly path: string,
    readonly llama: Llama,
    readonly model: LlamaModel,
    readonly context: LlamaContext,
    readonly options: ResolvedEngineOptions,
  ) {
    this.free = Array.from({ length: context.totalSequences }, () => context.getSequence());
    const md = model.fileInfo.metadata as { tokenizer?: { chat_template?: string } };
    this.renderer = new PromptRenderer(md.tokenizer?.chat_template, { bos: model.tokens.bosString ?? '', eos: model.tokens.eosString ?? '' });
    this.grammars = new GrammarCache(llama);
  }

  static async load(path: string, opts: EngineOptions = {}, id = basename(path).replace(/\.gguf$/i, '')): Promise<ModelInstance> {
    const options = resolveEngineOptions(opts);
    const llama = await sharedLlama(options.threads);
    const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
    try {
      const context = await model.createContext({
        sequences: options.parallel,
        contextSize: Math.min(options.contextSize, model.trainContextSize),
        threads: Math.min(options.threads, llamaThreads || options.threads),
      });
      return new ModelInstance(id, path, llama, model, context, options);
    } catch (err) {
      await model.dispose();
      throw err;
    }
  }

  get contextSize(): number {
    return this.context.contextSize;
  }

  get inFlight(): number {
    return this.active;
  }

  /** Tokens of a rendered prompt, as the completion will evaluate them (one BOS at most). */
  tokenize(prompt: string): Token[] {
    const tokens = this.model.tokenize(prompt, true);
    // LlamaCompletion prepends BOS itself when the model wants one; a template that also writes it
    // would double it.
    if (this.model.tokens.shouldPrependBosToken && tokens.length && tokens[0] === this.model.tokens.bos) tokens.shift();
    return tokens;
  }

  async generate(p: GenerateParams): Promise<GenerateResult> {
    const tokens = this.tokenize(p.prompt);
    // What the sequence will hold: the completion prepends BOS itself when the model wants one.
    const evaluated = this.model.tokens.shouldPrependBosToken && this.model.tokens.bos != null ? [this.model.tokens.bos, ...tokens] : tokens;
    const promptTokens = evaluated.length;
    if (promptTokens + p.maxTokens > this.contextSize) throw new ContextFullError(promptTokens, p.maxTokens, this.contextSize);
    const seq = await this.acquire(evaluated);
    let completionTokens = 0;
    try {
      // No clearHistory: LlamaCompletion keeps the longest common prefix of what the sequence holds
      // and evaluates only the rest. Roles resend the same system prompt + tools every turn, so this
      // skips most of the prompt evaluation.
      const cachedTokens = Math.max(0, Math.min(seq.compareContextTokens(evaluated).firstDifferentIndex, promptTokens - 1));
      const sampled: SampledToken[] | undefined = p.logprobs ? [] : undefined;
      if (sampled) recordSampling(seq, sampled);
      const completion = new LlamaCompletion({ contextSequence: seq, autoDisposeSequence: false });
      try {
        const res = await completion.generateCompletionWithMeta(tokens, {
          maxTokens: p.maxTokens,
          temperature: p.temperature,
          topP: p.topP,
          seed: p.seed,
          grammar: p.grammar,
          customStopTriggers: p.stop?.length ? p.stop : undefined,
          signal: p.signal,
          stopOnAbortSignal: true,
          disableContextShift: true,
          onToken: (t) => {
            completionTokens += t.length;
          },
          onTextChunk: p.onText,
        });
        return { text: res.response, promptTokens, cachedTokens, completionTokens, stopReason: res.metadata.stopReason, ...(sampled ? { sampled } : {}) };
      } finally {
        if (sampled) delete (seq as unknown as { evaluate?: unknown }).evaluate; // back to the prototype's
        completion.dispose({ disposeSequence: false });
      }
    } finally {
      this.release(seq);
    }
  }

  /** A free sequence, preferring the one already holding the longest prefix of `tokens`. */
  private acquire(tokens: Token[]): Promise<LlamaContextSequence> {
    if (this.disposed) return Promise.reject(new Error(`model ${this.id} was unloaded`));
    this.active++;
    if (this.free.length) {
      let best = 0;
      let bestLen = -1;
      this.free.forEach((s, i) => {
        const len = s.compareContextTokens(tokens).firstDifferentIndex;
        if (len > bestLen) [best, bestLen] = [i, len];
      });
      return Promise.resolve(this.free.splice(best, 1)[0]);
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private release(seq: LlamaContextSequence): void {
    const next = this.waiters.shift();
    if (next) {
      this.active--; // the waiter was counted on acquire
      next(seq);
      return;
    }
    this.active--;
    this.free.push(seq);
    if (this.active === 0) {
      for (const r of this.idleResolvers.splice(0)) r();
    }
  }

  /** Resolves when no request is running or waiting on this instance. */
  whenIdle(): Promise<void> {
    if (this.active === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleResolvers.push(resolve));
  }

  /** Stop taking new work, wait for the work in flight, then free the model. */
  async retire(): Promise<void> {
    await this.whenIdle();
    await this.dispose();
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.context.dispose();
    await this.model.dispose();
  }
}

export class ModelHost {
  private current: ModelInstance;
  private reloading: Promise<unknown> = Promise.resolve();
  private readonly retiring = new Set<Promise<void>>();

  constructor(
    first: ModelInstance,
    private readonly opts: EngineOptions,
    /** Served model id; stays the same across reloads so clients need not change their config. */
    readonly modelId: string,
  ) {
    this.current = first;
  }

  static async start(path: string, opts: EngineOptions = {}, modelId?: string): Promise<ModelHost> {
    const inst = await ModelInstance.load(path, opts);
    return new ModelHost(inst, opts, modelId ?? inst.id);
  }

  get instance(): ModelInstance {
    return this.current;
  }

  /**
   * Load weights from `path` and switch new requests to them. Requests already running finish on
   * the old weights, which are freed afterwards. Reloads are serialized.
   */
  reload(path: string): Promise<{ previous: string; current: string; retiredInFlight: number }> {
    const job = this.reloading.then(async () => {
      const next = await ModelInstance.load(path, this.opts);
      const old = this.current;
      this.current = next;
      const inFlight = old.inFlight;
      const done = old.retire();
      this.retiring.add(done);
      void done.finally(() => this.retiring.delete(done));
      return { previous: old.path, current: next.path, retiredInFlight: inFlight };
    });
    this.reloading = job.catch(() => undefined);
    return job;
  }

  async close(): Promise<void> {
    await this.reloading;
    await Promise.allSettled([...this.retiring]);
    await this.current.retire();
  }
}
