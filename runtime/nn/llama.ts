// A decoder-only transformer of the Llama family in TensorFlow.js: RMSNorm, rotary position
// embeddings (adjacent-pair rotation, as llama.cpp's "norm" rope type expects of GGUF weights),
// grouped-query attention, SwiGLU feed-forward, optionally tied input/output embeddings.
//
// Parameters are kept by their GGUF names. Linear weights are stored as [in, out] (so the forward
// pass is x @ W with no transpose); GGUF stores them as rows of `out` vectors of length `in`, so the
// loader and the exporter transpose. The embedding table is [vocab, dim] in both.
import { tf } from '../tf/backend.ts';
import { embed, matmul, matmulFrozenRight, matmulTransposedRight, matmulTransposedRightFrozen } from './ops.ts';

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

export interface ForwardOptions {
  /** Skip the LM head and return final hidden states [B·T, dim]. */
  hiddenOnly?: boolean;
}

/**
 * Logits [B·T, vocab] for tokens [B, T] (int32). Right-padding is harmless: attention is causal,
 * so padded positions never influence real ones; callers mask their loss.
 */
export function forward(model: LlamaModel, tokens: tf.Tensor2D, opts: ForwardOptions = {}): tf.Tensor2D {
  const c = model.config;
  const P = model.params;
  const lora = model.lora;
  const frozen = !!lora;
  const [B, T] = tokens.shape;
  const H = c.nHeads, Hk = c.nKvHeads, hd = c.headDim, g = H / Hk;
  const get = (n: string) => {
    const v = P.get(n);
    if (!v) throw new Error(`model has no parameter ${n}`);
    return v;
  };
  const linear = (x: tf.Tensor, name: string): tf.Tensor => {
    const w = get(name);
    const base = frozen ? matmulFrozenRight(x, w) : matmul(x, w);
    const ad = lora?.get(name);
    if (!ad) return base;
    return tf.add(base, tf.mul(matmul(matmul(x, ad.a), ad.b), ad.scale));
  };
  const rt = ropeTables(T, hd, c.ropeBase);
  const mask = causalMask(T, g);
  const embTable = get('token_embd.weight');
  let x: tf.Tensor = frozen ? tf.gather(embTable, tokens.reshape([-1])) : embed(embTable, tokens.reshape([-1]));
  const scale = 1 / Math.sqrt(hd);
  for (let i = 0; i < c.nLayers; i++) {
    const p = `blk.${i}.`;
    const h = rmsNorm(x, get(p + 'attn_norm.weight'), c.normEps);
    const q = rope(linear(h, p + 'attn_q.weight').reshape([B, T, H, hd]), rt);
    const k = rope(linear(h, p + 'attn_k.weight').reshape([B, T, Hk, hd]), rt);
    const v = linear(h, p + 'attn_v.weight').reshape([B, T, Hk, hd]);
    const qg = q.reshape([B, T, Hk, g, hd]).transpose([0, 2, 3, 1, 4]).reshape([B * Hk, g * T, hd]);
    const kT = k.transpose([0, 2, 3, 1]).reshape([B * Hk, hd, T]);
    const vg = v.transpose([0, 2, 1, 3]).reshape([B * Hk, T, hd]);
    const scores = tf.add(tf.mul(matmul(qg, kT), scale), mask);
    const probs = tf.softmax(scores);
    const o = matmul(probs, vg).reshape([B, Hk, g, T, hd]).transpose([0, 3, 1, 2, 4]).reshape([B * T, H * hd]);
    x = tf.add(x, linear(o, p + 'attn_output.weight'));
    const h2 = rmsNorm(x, get(p + 'ffn_norm.weight'), c.normEps);
    const gate = linear(h2, p + 'ffn_gate.weight');
    const up = linear(h2, p + 'ffn_up.weight');
    x = tf.add(x, linear(tf.mul(tf.mul(gate, tf.sigmoid(gate)), up), p + 'ffn_down.weight'));
  }
  const hOut = rmsNorm(x, get('output_norm.weight'), c.normEps);
  if (opts.hiddenOnly) return hOut as tf.Tensor2D;
  if (c.tiedEmbeddings) {
    return (frozen ? matmulTransposedRightFrozen(hOut, embTable) : matmulTransposedRight(hOut, embTable)) as tf.Tensor2D;
  }
  const out = get('output.weight');
  return (frozen ? matmulFrozenRight(hOut, out) : matmul(hOut, out)) as tf.Tensor2D;
}

export function disposeModel(model: LlamaModel): void {
  for (const v of model.params.values()) v.dispose();
  if (model.lora) for (const ad of model.lora.values()) { ad.a.dispose(); ad.b.dispose(); }
}
