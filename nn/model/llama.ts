// A decoder-only transformer of the Llama family in TensorFlow.js: RMSNorm, rotary position
// embeddings (adjacent-pair rotation, as llama.cpp's "norm" rope type expects of GGUF weights),
// grouped-query attention, SwiGLU feed-forward, optionally tied input/output embeddings.
//
// Parameters are kept by their GGUF names. Linear weights are stored as [in, out] (so the forward
// pass is x @ W with no transpose); GGUF stores them as rows of `out` vectors of length `in`, so the
// loader and the exporter transpose. The embedding table is [vocab, dim] in both.
import { tf } from '../backend/backend.ts';
import { checkpoint, embed, matmul, matmulFrozenRight, matmulTransposedRight, matmulTransposedRightFrozen } from './ops.ts';

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

export function ropeTables(T: number, headDim: number, base: number): RopeTables {
  const c = new Float32Array(T * headDim);
  const s = new Float32Array(T * headDim);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < headDim / 2; i++) {
      const ang = t * Math.pow(base, (-2 * i) / headDim);
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
 * RoPE tables and causal mask for a sequence length, kept across calls (the last two lengths):
 * the recomputed blocks read them during the backward pass, after the forward's scope has ended.
 */
const tableCache = new Map<string, { rt: RopeTables; mask: tf.Tensor2D }>();
const TABLE_CACHE_SIZE = 2;
function positionTables(T: number, headDim: number, base: number, g: number): { rt: RopeTables; mask: tf.Tensor2D } {
  const key = `${T}/${headDim}/${base}/${g}`;
  let e = tableCache.get(key);
  if (!e) {
    const made = { rt: ropeTables(T, headDim, base), mask: causalMask(T, g) };
    for (const t of [made.rt.cos, made.rt.sin, made.rt.rot, made.mask]) tf.keep(t);
    e = made;
    if (tableCache.size >= TABLE_CACHE_SIZE) {
      const [oldKey, old] = tableCache.entries().next().value!;
      tf.dispose([old.rt.cos, old.rt.sin, old.rt.rot, old.mask]);
      tableCache.delete(oldKey);
    }
    tableCache.set(key, e);
  }
  return e;
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
}

/** Memory/compute trade-offs of training, set by the trainer (`[train]` config). */
export interface TrainMemoryOptions {
  recompute?: boolean | 'auto';
  /** Rows of the output head computed at once in the loss (0 = the whole [B·T, vocab] logits). */
  logitChunk?: number;
}

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

/**
 * Final hidden states [B·T, dim] for tokens [B, T] (int32), before the output head. Right-padding is
 * harmless: attention is causal, so padded positions never influence real ones; callers mask their loss.
 */
export function hiddenStates(model: LlamaModel, tokens: tf.Tensor2D, opts: ForwardOptions = {}): tf.Tensor2D {
  const c = model.config;
  const P = model.params;
  const lora = model.lora;
  const frozen = !!lora;
  const [B, T] = tokens.shape;
  const H = c.nHeads, Hk = c.nKvHeads, hd = c.headDim, g = H / Hk;
  const pickDefault: Pick = (key) => {
    const m = /^(.*)#([ab])$/.exec(key);
    if (m) {
      const ad = lora?.get(m[1]);
      if (!ad) throw new Error(`model has no LoRA adapter ${m[1]}`);
      return m[2] === 'a' ? ad.a : ad.b;
    }
    const v = P.get(key);
    if (!v) throw new Error(`model has no parameter ${key}`);
    return v;
  };
  const linear = (x: tf.Tensor, name: string, pick: Pick): tf.Tensor => {
    const w = pick(name);
    const base = frozen ? matmulFrozenRight(x, w) : matmul(x, w);
    if (!lora?.get(name)) return base;
    return tf.add(base, tf.mul(matmul(matmul(x, pick(name + '#a')), pick(name + '#b')), lora.get(name)!.scale));
  };
  const scale = 1 / Math.sqrt(hd);
  const block = (x: tf.Tensor, i: number, pick: Pick, rt: RopeTables, mask: tf.Tensor): tf.Tensor => {
    const p = `blk.${i}.`;
    const h = rmsNorm(x, pick(p + 'attn_norm.weight'), c.normEps);
    const q = rope(linear(h, p + 'attn_q.weight', pick).reshape([B, T, H, hd]), rt);
    const k = rope(linear(h, p + 'attn_k.weight', pick).reshape([B, T, Hk, hd]), rt);
    const v = linear(h, p + 'attn_v.weight', pick).reshape([B, T, Hk, hd]);
    const qg = q.reshape([B, T, Hk, g, hd]).transpose([0, 2, 3, 1, 4]).reshape([B * Hk, g * T, hd]);
    const kT = k.transpose([0, 2, 3, 1]).reshape([B * Hk, hd, T]);
    const vg = v.transpose([0, 2, 1, 3]).reshape([B * Hk, T, hd]);
    const scores = tf.add(tf.mul(matmul(qg, kT), scale), mask);
    const probs = tf.softmax(scores);
    const o = matmul(probs, vg).reshape([B, Hk, g, T, hd]).transpose([0, 3, 1, 2, 4]).reshape([B * T, H * hd]);
    const x1 = tf.add(x, linear(o, p + 'attn_output.weight', pick));
    const h2 = rmsNorm(x1, pick(p + 'ffn_norm.weight'), c.normEps);
    const gate = linear(h2, p + 'ffn_gate.weight', pick);
    const up = linear(h2, p + 'ffn_up.weight', pick);
    return tf.add(x1, linear(tf.mul(tf.mul(gate, tf.sigmoid(gate)), up), p + 'ffn_down.weight', pick));
  };
  const { rt, mask } = positionTables(T, hd, c.ropeBase, g);
  const recompute = useRecompute(model, B * T, opts.recompute);
  const embTable = pickDefault('token_embd.weight');
  // Our embed also under LoRA: tf.gather would save (and on wasm copy) the whole table for a gradient
  // nobody asks for; the tape skips embed's gradient when the table is not trained.
  let x: tf.Tensor = embed(embTable, tokens.reshape([-1]));
  for (let i = 0; i < c.nLayers; i++) {
    if (!recompute) { x = block(x, i, pickDefault, rt, mask); continue; }
    const keys = blockTrainableKeys(model, i);
    x = checkpoint(([xi, ...ws]) => {
      const mine = new Map(keys.map((k, j) => [k, ws[j]]));
      return block(xi, i, (key) => mine.get(key) ?? pickDefault(key), rt, mask);
    }, [x, ...keys.map(pickDefault)]);
  }
  return rmsNorm(x, pickDefault('output_norm.weight'), c.normEps) as tf.Tensor2D;
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
