// A decoder-only transformer of the Llama family in TensorFlow.js: RMSNorm, rotary position
// embeddings (adjacent-pair rotation, as llama.cpp's "norm" rope type expects of GGUF weights),
// grouped-query attention, SwiGLU feed-forward, optionally tied input/output embeddings.
//
// Parameters are kept by their GGUF names. Linear weights are stored as [in, out] (so the forward
// pass is x @ W with no transpose); GGUF stores them as rows of `out` vectors of length `in`, so the
// loader and the exporter transpose. The embedding table is [vocab, dim] in both.
import { tf } from '../backend/backend.ts';
import { causalAttention, checkpoint, embed, matmul, matmulFrozenRight, matmulTransposedRight, matmulTransposedRightFrozen } from './ops.ts';

export interface LlamaConfig {
  vocabSize: number;
  dim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  ffnDim: number;
  ropeBase: number;
  normEps: number;
  tiedEmbeddings: boolean;
  contextLength: number;
}

export type Params = Map<string, tf.Variable>;

/** LoRA adapter of one linear weight: W + (alpha/rank)·A·B with A [in, r], B [r, out]. */
export interface LoraAdapter {
  a: tf.Variable;
  b: tf.Variable;
  scale: number;
}
export type LoraSet = Map<string, LoraAdapter>;

export interface LlamaModel {
  config: LlamaConfig;
  params: Params;
  /** When set, base params are frozen and only the adapters train. */
  lora?: LoraSet;
  /** Memory options of training (recomputation, chunked loss); defaults when absent. */
  train?: TrainMemoryOptions;
}

export const LINEAR_SUFFIXES = ['attn_q', 'attn_k', 'attn_v', 'attn_output', 'ffn_gate', 'ffn_up', 'ffn_down'] as const;

/** Shape of every parameter, in our [in, out] convention. */
export function paramShapes(c: LlamaConfig): Map<string, number[]> {
  const s = new Map<string, number[]>();
  s.set('token_embd.weight', [c.vocabSize, c.dim]);
  for (let i = 0; i < c.nLayers; i++) {
    const p = `blk.${i}.`;
    s.set(p + 'attn_norm.weight', [c.dim]);
    s.set(p + 'attn_q.weight', [c.dim, c.nHeads * c.headDim]);
    s.set(p + 'attn_k.weight', [c.dim, c.nKvHeads * c.headDim]);
    s.set(p + 'attn_v.weight', [c.dim, c.nKvHeads * c.headDim]);
    s.set(p + 'attn_output.weight', [c.nHeads * c.headDim, c.dim]);
    s.set(p + 'ffn_norm.weight', [c.dim]);
    s.set(p + 'ffn_gate.weight', [c.dim, c.ffnDim]);
    s.set(p + 'ffn_up.weight', [c.dim, c.ffnDim]);
    s.set(p + 'ffn_down.weight', [c.ffnDim, c.dim]);
  }
  s.set('output_norm.weight', [c.dim]);
  if (!c.tiedEmbeddings) s.set('output.weight', [c.dim, c.vocabSize]);
  return s;
}

export function paramCount(c: LlamaConfig): number {
  let n = 0;
  for (const shape of paramShapes(c).values()) n += shape.reduce((a, b) => a * b, 1);
  return n;
}

/** Deterministic small-normal init (std 0.02; norms at 1) for models trained from scratch. */
export function initParams(c: LlamaConfig, seed = 1): Params {
  const params: Params = new Map();
  let k = seed;
  for (const [name, shape] of paramShapes(c)) {
    const t = name.endsWith('norm.weight') ? tf.ones(shape) : tf.randomNormal(shape, 0, 0.02, 'float32', k++);
    params.set(name, tf.variable(t, true));
    t.dispose();
  }
  return params;
}

/** Adds LoRA adapters (A random, B zero, so training starts from the base model) to `targets`. */
export function addLora(model: LlamaModel, rank: number, alpha: number, targets: readonly string[] = ['attn_q', 'attn_k', 'attn_v', 'attn_output', 'ffn_gate', 'ffn_up', 'ffn_down'], seed = 7): LoraSet {
  const lora: LoraSet = new Map();
  let k = seed;
  for (const [name, w] of model.params) {
    const m = /^blk\.\d+\.([a-z_]+)\.weight$/.exec(name);
    if (!m || !targets.includes(m[1])) continue;
    const [din, dout] = w.shape;
    const a = tf.variable(tf.randomNormal([din, rank], 0, 1 / Math.sqrt(din), 'float32', k++), true);
    const b = tf.variable(tf.zeros([rank, dout]), true);
    lora.set(name, { a, b, scale: alpha / rank });
  }
  for (const v of model.params.values()) v.trainable = false;
  model.lora = lora;
  return lora;
}

/** Folds LoRA adapters into the base weights (for export) and drops them. */
export function mergeLora(model: LlamaModel): void {
  if (!model.lora) return;
  for (const [name, ad] of model.lora) {
    const w = model.params.get(name)!;
    tf.tidy(() => w.assign(tf.add(w, tf.mul(tf.matMul(ad.a, ad.b), ad.scale))));
    ad.a.dispose();
    ad.b.dispose();
  }
  model.lora = undefined;
  for (const v of model.params.values()) v.trainable = true;
}

/** Variables that receive gradients: the adapters under LoRA, else every parameter. */
export function trainableVariables(model: LlamaModel): Map<string, tf.Variable> {
  if (!model.lora) return model.params;
  const out = new Map<string, tf.Variable>();
  for (const [name, ad] of model.lora) {
    out.set(name + '.lora_a', ad.a);
    out.set(name + '.lora_b', ad.b);
  }
  return out;
}

function rmsNorm(x: tf.Tensor, w: tf.Tensor, eps: number): tf.Tensor {
  const ms = tf.mean(tf.square(x), -1, true);
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, eps))), w);
}

/**
 * RoPE as two elementwise products and one small matmul: rope(x) = x·C + (x·R)·S, where C and S
 * hold cos/sin of each pair's angle repeated for both members, and R maps each adjacent pair
 * (x0, x1) to (−x1, x0). (Slicing pairs out of a 5-D tensor is very slow on the wasm backend.)
 */
export interface RopeTables { cos: tf.Tensor; sin: tf.Tensor; rot: tf.Tensor2D }

export function ropeTables(T: number, headDim: number, base: number, offset = 0): RopeTables {
  const c = new Float32Array(T * headDim);
  const s = new Float32Array(T * headDim);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < headDim / 2; i++) {
      const ang = (offset + t) * Math.pow(base, (-2 * i) / headDim);
      c[t * headDim + 2 * i] = c[t * headDim + 2 * i + 1] = Math.cos(ang);
      s[t * headDim + 2 * i] = s[t * headDim + 2 * i + 1] = Math.sin(ang);
    }
  }
  const r = new Float32Array(headDim * headDim);
  for (let i = 0; i < headDim / 2; i++) {
    r[(2 * i + 1) * headDim + 2 * i] = -1; // out[2i]   = −x[2i+1]
    r[(2 * i) * headDim + 2 * i + 1] = 1; //  out[2i+1] =  x[2i]
  }
  return { cos: tf.tensor4d(c, [1, T, 1, headDim]), sin: tf.tensor4d(s, [1, T, 1, headDim]), rot: tf.tensor2d(r, [headDim, headDim]) };
}

function rope(x: tf.Tensor, r: RopeTables): tf.Tensor {
  const [B, T, H, hd] = x.shape;
  const rotated = matmul(x.reshape([B * T * H, hd]), r.rot).reshape([B, T, H, hd]);
  return tf.add(tf.mul(x, r.cos), tf.mul(rotated, r.sin));
}

/** Additive causal mask for `g` query heads sharing one kv head: rows are (head-in-group, t). */
function causalMask(T: number, g: number): tf.Tensor2D {
  const m = new Float32Array(g * T * T);
  for (let gi = 0; gi < g; gi++) for (let t = 0; t < T; t++) for (let u = t + 1; u < T; u++) m[(gi * T + t) * T + u] = -1e9;
  return tf.tensor2d(m, [g * T, T]);
}

/**
 * RoPE tables (per length and position offset) and the whole causal mask (plain attention only), kept
 * across calls: the recomputed blocks read them during the backward pass, after the forward's scope
 * has ended. A shared-prefix step uses the prefix's length and the suffix's (length, offset).
 */
const ropeCache = new Map<string, RopeTables>();
const maskCache = new Map<string, tf.Tensor2D>();
const ROPE_CACHE_SIZE = 6, MASK_CACHE_SIZE = 2;
function cached<V>(cache: Map<string, V>, key: string, size: number, make: () => V, free: (v: V) => void): V {
  let e = cache.get(key);
  if (!e) {
    e = make();
    if (cache.size >= size) {
      const [oldKey, old] = cache.entries().next().value!;
      free(old);
      cache.delete(oldKey);
    }
    cache.set(key, e);
  }
  return e;
}
function ropeFor(T: number, headDim: number, base: number, offset: number): RopeTables {
  return cached(ropeCache, `${T}/${headDim}/${base}/${offset}`, ROPE_CACHE_SIZE, () => {
    const rt = ropeTables(T, headDim, base, offset);
    for (const t of [rt.cos, rt.sin, rt.rot]) tf.keep(t);
    return rt;
  }, (rt) => tf.dispose([rt.cos, rt.sin, rt.rot]));
}
function maskFor(T: number, g: number): tf.Tensor2D {
  return cached(maskCache, `${T}/${g}`, MASK_CACHE_SIZE, () => tf.keep(causalMask(T, g)), (m) => m.dispose());
}

/** Keys and values of a shared prefix, per layer [P, Hk, hd] (RoPE applied), that a batch attends to first. */
export interface PrefixKV {
  length: number;
  k: tf.Tensor[];
  v: tf.Tensor[];
}

export interface ForwardOptions {
  /** Skip the LM head and return final hidden states [B·T, dim]. */
  hiddenOnly?: boolean;
  /**
   * Recompute each transformer block's activations in the backward pass instead of keeping them
   * (gradient checkpointing: ~1/3 more compute, activation memory of one block instead of all).
   * Default: `model.train?.recompute`, else 'auto' = on when B·T ≥ RECOMPUTE_AUTO_TOKENS.
   */
  recompute?: boolean | 'auto';
  /** A shared prefix (its K/V cache): the tokens continue it, at positions P, P+1, … */
  prefix?: PrefixKV;
}

/** Memory/compute trade-offs of training, set by the trainer (`[train]` config). */
export interface TrainMemoryOptions {
  recompute?: boolean | 'auto';
  /** Rows of the output head computed at once in the loss (0 = the whole [B·T, vocab] logits). */
  logitChunk?: number;
  /** Query rows of attention computed at once (0 = the whole T×T scores, the old path; no prefix then). */
  attnChunk?: number;
}

/** Query rows per attention chunk unless `model.train.attnChunk` says otherwise. */
export const DEFAULT_ATTN_CHUNK = 256;

/** Tokens per micro-batch from which 'auto' recomputation turns on (see docs/learner.md, memory). */
export const RECOMPUTE_AUTO_TOKENS = 512;

export function useRecompute(model: LlamaModel, tokens: number, opt?: boolean | 'auto'): boolean {
  const r = opt ?? model.train?.recompute ?? 'auto';
  return r === 'auto' ? tokens >= RECOMPUTE_AUTO_TOKENS : r;
}

/** Tensor resolver for a block: parameter names, or `<name>#a` / `<name>#b` for LoRA adapters. */
type Pick = (key: string) => tf.Tensor;

/** The tensors of block i that receive gradients (keys as for Pick). */
function blockTrainableKeys(model: LlamaModel, i: number): string[] {
  const p = `blk.${i}.`;
  if (model.lora) {
    const keys: string[] = [];
    for (const name of model.lora.keys()) if (name.startsWith(p)) keys.push(name + '#a', name + '#b');
    return keys;
  }
  return [...paramShapes(model.config).keys()].filter((n) => n.startsWith(p));
}

/** Resolves parameter names (and `<name>#a` / `<name>#b` LoRA adapters) to the model's tensors. */
function pickFrom(model: LlamaModel): Pick {
  return (key) => {
    const m = /^(.*)#([ab])$/.exec(key);
    if (m) {
      const ad = model.lora?.get(m[1]);
      if (!ad) throw new Error(`model has no LoRA adapter ${m[1]}`);
      return m[2] === 'a' ? ad.a : ad.b;
    }
    const v = model.params.get(key);
    if (!v) throw new Error(`model has no parameter ${key}`);
    return v;
  };
}

/** Trainable-variable name (as trainableVariables names it) of a block key. */
const varNameOfKey = (key: string) => key.replace(/#a$/, '.lora_a').replace(/#b$/, '.lora_b');

interface BlockOut { x: tf.Tensor; k: tf.Tensor; v: tf.Tensor }

/**
 * Transformer block i on x [B·T, dim] for B rows of T tokens at positions offset.. (rt); with a prefix
 * (pk, pv: [P, Hk, hd]) every row attends to it first. Returns the output and the block's own keys and
 * values [B, T, Hk, hd] (RoPE applied), which a prefix pass keeps as its cache.
 */
function runBlock(model: LlamaModel, x: tf.Tensor, i: number, B: number, T: number, pick: Pick, rt: RopeTables, pk?: tf.Tensor, pv?: tf.Tensor): BlockOut {
  const c = model.config;
  const lora = model.lora;
  const frozen = !!lora;
  const H = c.nHeads, Hk = c.nKvHeads, hd = c.headDim, g = H / Hk;
  const linear = (xx: tf.Tensor, name: string): tf.Tensor => {
    const w = pick(name);
    const base = frozen ? matmulFrozenRight(xx, w) : matmul(xx, w);
    if (!lora?.get(name)) return base;
    return tf.add(base, tf.mul(matmul(matmul(xx, pick(name + '#a')), pick(name + '#b')), lora.get(name)!.scale));
  };
  const scale = 1 / Math.sqrt(hd);
  const p = `blk.${i}.`;
  const h = rmsNorm(x, pick(p + 'attn_norm.weight'), c.normEps);
  const q = rope(linear(h, p + 'attn_q.weight').reshape([B, T, H, hd]), rt);
  const k = rope(linear(h, p + 'attn_k.weight').reshape([B, T, Hk, hd]), rt);
  const v = linear(h, p + 'attn_v.weight').reshape([B, T, Hk, hd]);
  const chunk = model.train?.attnChunk ?? DEFAULT_ATTN_CHUNK;
  let o: tf.Tensor;
  if (chunk > 0 || pk) {
    o = causalAttention(q, k, v, { chunk: chunk > 0 ? chunk : T, scale, prefixK: pk, prefixV: pv });
  } else {
    // The old path (kept for comparison): the whole T×T scores per head.
    const qg = q.reshape([B, T, Hk, g, hd]).transpose([0, 2, 3, 1, 4]).reshape([B * Hk, g * T, hd]);
    const kT = k.transpose([0, 2, 3, 1]).reshape([B * Hk, hd, T]);
    const vg = v.transpose([0, 2, 1, 3]).reshape([B * Hk, T, hd]);
    const scores = tf.add(tf.mul(matmul(qg, kT), scale), maskFor(T, g));
    const probs = tf.softmax(scores);
    o = matmul(probs, vg).reshape([B, Hk, g, T, hd]).transpose([0, 3, 1, 2, 4]).reshape([B * T, H * hd]);
  }
  const x1 = tf.add(x, linear(o, p + 'attn_output.weight'));
  const h2 = rmsNorm(x1, pick(p + 'ffn_norm.weight'), c.normEps);
  const gate = linear(h2, p + 'ffn_gate.weight');
  const up = linear(h2, p + 'ffn_up.weight');
  return { x: tf.add(x1, linear(tf.mul(tf.mul(gate, tf.sigmoid(gate)), up), p + 'ffn_down.weight')), k, v };
}

/**
 * Final hidden states [B·T, dim] for tokens [B, T] (int32), before the output head. Right-padding is
 * harmless: attention is causal, so padded positions never influence real ones; callers mask their loss.
 * With `opts.prefix`, the tokens continue a shared prefix (positions P..): every block attends to the
 * prefix's cached keys/values, and gradients flow into them (the caller backpropagates them through
 * the prefix once, prefixBackward).
 */
export function hiddenStates(model: LlamaModel, tokens: tf.Tensor2D, opts: ForwardOptions = {}): tf.Tensor2D {
  const c = model.config;
  const [B, T] = tokens.shape;
  const pre = opts.prefix;
  if (pre && (pre.k.length !== c.nLayers || pre.v.length !== c.nLayers)) throw new Error(`prefix cache has ${pre.k.length} layers, the model ${c.nLayers}`);
  const pickDefault = pickFrom(model);
  const rt = ropeFor(T, c.headDim, c.ropeBase, pre?.length ?? 0);
  const recompute = useRecompute(model, B * T, opts.recompute);
  const embTable = pickDefault('token_embd.weight');
  // Our embed also under LoRA: tf.gather would save (and on wasm copy) the whole table for a gradient
  // nobody asks for; the tape skips embed's gradient when the table is not trained.
  let x: tf.Tensor = embed(embTable, tokens.reshape([-1]));
  for (let i = 0; i < c.nLayers; i++) {
    const pk = pre?.k[i], pv = pre?.v[i];
    if (!recompute) { x = runBlock(model, x, i, B, T, pickDefault, rt, pk, pv).x; continue; }
    const keys = blockTrainableKeys(model, i);
    const extra = pk && pv ? [pk, pv] : [];
    x = checkpoint((ins) => {
      const [xi, ...rest] = ins;
      const ws = rest.slice(0, keys.length), pkv = rest.slice(keys.length);
      const mine = new Map(keys.map((k, j) => [k, ws[j]]));
      return runBlock(model, xi, i, B, T, (key) => mine.get(key) ?? pickDefault(key), rt, pkv[0], pkv[1]).x;
    }, [x, ...keys.map(pickDefault), ...extra]);
  }
  return rmsNorm(x, pickDefault('output_norm.weight'), c.normEps) as tf.Tensor2D;
}

interface EngineGradients {
  gradients(f: () => tf.Tensor, xs: tf.Tensor[], dy?: tf.Tensor, allowNoGradients?: boolean): { value: tf.Tensor; grads: (tf.Tensor | null)[] };
}

/** A shared prefix run once: its tokens, each block's input [P, dim] and its K/V cache (all kept). */
export interface PrefixState {
  tokens: number[];
  inputs: tf.Tensor[];
  kv: PrefixKV;
}

/** Runs the prefix through the model without recording a gradient tape; keeps what prefixBackward needs. */
export function prefixForward(model: LlamaModel, tokens: readonly number[]): PrefixState {
  const c = model.config;
  const P = tokens.length;
  if (!P) throw new Error('prefixForward: empty prefix');
  const pick = pickFrom(model);
  const rt = ropeFor(P, c.headDim, c.ropeBase, 0);
  const inputs: tf.Tensor[] = [], ks: tf.Tensor[] = [], vs: tf.Tensor[] = [];
  let x = tf.keep(tf.tidy(() => embed(pick('token_embd.weight'), tf.tensor1d(tokens as number[], 'int32'))));
  for (let i = 0; i < c.nLayers; i++) {
    inputs.push(x);
    const out = tf.tidy(() => {
      const r = runBlock(model, x, i, 1, P, pick, rt);
      return [r.x, r.k.reshape([P, c.nKvHeads, c.headDim]), r.v.reshape([P, c.nKvHeads, c.headDim])];
    });
    x = tf.keep(out[0]);
    ks.push(tf.keep(out[1]));
    vs.push(tf.keep(out[2]));
  }
  x.dispose(); // the prefix's final hidden states feed no loss (no prefix position is trained)
  return { tokens: [...tokens], inputs, kv: { length: P, k: ks, v: vs } };
}

export function disposePrefix(st: PrefixState): void {
  tf.dispose([...st.inputs, ...st.kv.k, ...st.kv.v]);
}

/**
 * Gradients of the trainable variables through the prefix, given the gradients of the loss w.r.t. its
 * K/V cache (summed over every sequence that attended to it): block by block from the last, each block
 * recomputed under a tape with the cotangents of its outputs (the next block's input gradient and its
 * K/V gradients). Keys as trainableVariables names them; the caller disposes the tensors.
 */
export function prefixBackward(model: LlamaModel, st: PrefixState, dK: readonly tf.Tensor[], dV: readonly tf.Tensor[]): Map<string, tf.Tensor> {
  const c = model.config;
  const P = st.kv.length;
  const pick = pickFrom(model);
  const rt = ropeFor(P, c.headDim, c.ropeBase, 0);
  const out = new Map<string, tf.Tensor>();
  let dx: tf.Tensor | undefined;
  for (let i = c.nLayers - 1; i >= 0; i--) {
    const keys = blockTrainableKeys(model, i);
    const ws = keys.map(pick);
    const cot = dx;
    const xs = [st.inputs[i], ...ws];
    // allowNoGradients: the last block's output feeds nothing, so its FFN weights get none (zeros).
    const grads = tf.tidy(() => {
      const { value, grads: gs } = (tf.engine() as unknown as EngineGradients).gradients(() => {
        const mine = new Map(keys.map((k, j) => [k, xs[j + 1]]));
        const r = runBlock(model, xs[0], i, 1, P, (key) => mine.get(key) ?? pick(key), rt);
        let s = tf.add(tf.sum(tf.mul(r.k.reshape([P, c.nKvHeads, c.headDim]), dK[i])), tf.sum(tf.mul(r.v.reshape([P, c.nKvHeads, c.headDim]), dV[i])));
        if (cot) s = tf.add(s, tf.sum(tf.mul(r.x, cot)));
        return s;
      }, xs, undefined, true);
      value.dispose();
      return gs.map((g, j) => g ?? tf.zerosLike(xs[j]));
    });
    cot?.dispose();
    dx = grads[0];
    keys.forEach((k, j) => out.set(varNameOfKey(k), grads[j + 1]));
  }
  if (!model.lora) {
    const [V, D] = [c.vocabSize, c.dim];
    out.set('token_embd.weight', tf.tidy(() => tf.scatterND(tf.tensor2d(st.tokens, [P, 1], 'int32'), dx!, [V, D])));
  }
  dx?.dispose();
  return out;
}

/** The output head's weight and its layout: the embedding table [V, D] when tied, else [D, V]. */
export function headWeight(model: LlamaModel): { w: tf.Variable; layout: 'VD' | 'DV' } {
  const name = model.config.tiedEmbeddings ? 'token_embd.weight' : 'output.weight';
  const w = model.params.get(name);
  if (!w) throw new Error(`model has no parameter ${name}`);
  return { w, layout: model.config.tiedEmbeddings ? 'VD' : 'DV' };
}

/** Logits [B·T, vocab] for tokens [B, T] (int32). */
export function forward(model: LlamaModel, tokens: tf.Tensor2D, opts: ForwardOptions = {}): tf.Tensor2D {
  const hOut = hiddenStates(model, tokens, opts);
  if (opts.hiddenOnly) return hOut;
  const frozen = !!model.lora;
  const { w, layout } = headWeight(model);
  if (layout === 'VD') return (frozen ? matmulTransposedRightFrozen(hOut, w) : matmulTransposedRight(hOut, w)) as tf.Tensor2D;
  return (frozen ? matmulFrozenRight(hOut, w) : matmul(hOut, w)) as tf.Tensor2D;
}

export function disposeModel(model: LlamaModel): void {
  for (const v of model.params.values()) v.dispose();
  if (model.lora) for (const ad of model.lora.values()) { ad.a.dispose(); ad.b.dispose(); }
}
