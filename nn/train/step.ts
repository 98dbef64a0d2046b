// One optimisation step of the learner, shared by every trainer: losses over token batches,
// gradients of the trainable variables, and the AdamW update — on the device (weights, gradients and
// moments stay backend tensors) or through a float32 master copy on the host (wasm, data parallelism):
// `optimizerPlacement` decides.
import { tf } from '../backend/backend.ts';
import { disposePrefix, forward, headWeight, hiddenStates, prefixBackward, prefixForward, trainableVariables, type LlamaModel, type PrefixKV } from '../model/llama.ts';
import { chunkedTargetLogProbs, embed, stopGradient, tokenLogProbs } from '../model/ops.ts';
import { adamwStep, adamwStepDevice, deviceVariable, newAdamWState, optimizerPlacement, type AdamWOptions, type AdamWState, type DeviceMoments, type OptimizerPlacement } from './adamw.ts';
import { behaviourWeights, clippedSurrogateLoss, DEFAULT_BEHAVIOUR_CAP, type SurrogateOptions, type TokenBatch } from './grpo.ts';

export interface SftBatch {
  inputs: number[][];
  targets: number[][];
  mask: number[][];
}

const flat = (rows: number[][]) => rows.flat();

/** Rows of the loss head computed at once unless `model.train.logitChunk` says otherwise. */
export const DEFAULT_LOGIT_CHUNK = 256;

/** Per-position log-probs of the targets under the model, [B·T] (the whole logits at once). */
export function targetLogProbs(model: LlamaModel, inputs: number[][], targets: number[][], prefix?: PrefixKV): tf.Tensor1D {
  const B = inputs.length, T = inputs[0].length;
  const logits = forward(model, tf.tensor2d(flat(inputs), [B, T], 'int32'), { prefix });
  return tokenLogProbs(logits, tf.tensor1d(flat(targets), 'int32')) as tf.Tensor1D;
}

/**
 * Log-probs of the targets at the flat positions `positions` only, [positions.length]: the output
 * head runs on those rows alone, in chunks of `model.train.logitChunk` rows (0: the whole logits
 * of every position, then picked — the old, memory-hungry path kept for comparison). With `prefix`
 * the rows continue that shared prefix (its K/V cache).
 */
export function selectedTargetLogProbs(model: LlamaModel, inputs: number[][], targets: number[][], positions: number[], prefix?: PrefixKV): tf.Tensor1D {
  const B = inputs.length, T = inputs[0].length;
  const chunk = model.train?.logitChunk ?? DEFAULT_LOGIT_CHUNK;
  const tokens = tf.tensor2d(flat(inputs), [B, T], 'int32');
  const tFlat = flat(targets);
  const idx = tf.tensor1d(positions, 'int32');
  if (chunk <= 0) return embed(targetLogProbs(model, inputs, targets, prefix).reshape([-1, 1]), idx).reshape([-1]) as tf.Tensor1D;
  const h = hiddenStates(model, tokens, { prefix });
  // Only the selected rows reach the head; `embed` is a row gather whose gradient scatters back.
  const hSel = positions.length === B * T ? h : embed(h, idx);
  const { w, layout } = headWeight(model);
  return chunkedTargetLogProbs(hSel, w, positions.map((i) => tFlat[i]), { wLayout: layout, trainW: !model.lora, chunk }) as tf.Tensor1D;
}

/** Flat positions where the mask is set; a batch without any is the caller's error. */
function maskedPositions(mask: number[][]): number[] {
  const pos: number[] = [];
  flat(mask).forEach((m, i) => { if (m) pos.push(i); });
  if (!pos.length) throw new Error('loss over a micro-batch with no trained token');
  return pos;
}

const pickAt = (rows: number[][], pos: number[]) => { const f = flat(rows); return pos.map((i) => f[i]); };

/** Cross-entropy on masked positions, token-mean. */
export function sftLoss(model: LlamaModel, b: SftBatch, prefix?: PrefixKV): tf.Scalar {
  const pos = maskedPositions(b.mask);
  const lp = selectedTargetLogProbs(model, b.inputs, b.targets, pos, prefix);
  const m = tf.tensor1d(pickAt(b.mask, pos));
  return tf.neg(tf.div(tf.sum(tf.mul(lp, m)), tf.maximum(tf.sum(m), 1))) as tf.Scalar;
}

/**
 * GRPO loss, the decoupled clipped objective (AReaL): the proximal policy is the weights before this
 * update (the current log-probs, detached), so ρ = π_θ/π_prox; each token is weighted by the truncated
 * behaviour importance weight min(π_prox/π_behav, cap) where the sampler's log-prob is known (1 where it
 * is not: on-policy). Computed on the masked positions only. Extras: clip fraction and the token-mean
 * behaviour weight (1 on-policy).
 */
export function grpoLoss(model: LlamaModel, b: TokenBatch, opts: SurrogateOptions, refModel?: LlamaModel, prefix?: PrefixKV): { loss: tf.Scalar; clipFrac: tf.Scalar; behaviourWeight: tf.Scalar } {
  if (refModel && prefix) throw new Error('grpoLoss: a reference model cannot use a shared-prefix cache');
  const pos = maskedPositions(b.mask);
  const lp = selectedTargetLogProbs(model, b.inputs, b.targets, pos, prefix);
  const prox = stopGradient(lp);
  const w = behaviourWeights(prox, pickAt(b.oldLogProbs, pos), opts.behaviourCap ?? DEFAULT_BEHAVIOUR_CAP);
  const ref = refModel ? stopGradient(selectedTargetLogProbs(refModel, b.inputs, b.targets, pos)) as tf.Tensor1D : undefined;
  const mask = tf.tensor1d(pickAt(b.mask, pos));
  const r = clippedSurrogateLoss(lp, prox, tf.tensor1d(pickAt(b.advantages, pos)), mask, opts, ref, w);
  return { ...r, behaviourWeight: tf.div(tf.sum(tf.mul(w, mask)), tf.maximum(tf.sum(mask), 1)) as tf.Scalar };
}

export interface GradResult {
  loss: number;
  grads: Map<string, Float32Array>;
  /** Extra scalars the loss function reported (e.g. clip fraction). */
  extras: Record<string, number>;
}

interface EngineGradients {
  gradients(f: () => tf.Tensor, xs: tf.Tensor[], dy?: tf.Tensor, allowNoGradients?: boolean): { value: tf.Tensor; grads: (tf.Tensor | null)[] };
}

/**
 * Gradients of `lossFn` w.r.t. the model's trainable variables, left on the device (a variable with
 * no gradient gets zeros); the caller owns and disposes them. `extraXs` are more tensors to
 * differentiate by (a shared prefix's K/V cache); their gradients stay tensors too.
 */
export async function computeGradientTensors(
  model: LlamaModel,
  lossFn: () => { loss: tf.Scalar; extras?: Record<string, tf.Scalar> },
  extraXs: tf.Tensor[] = [],
): Promise<{ loss: number; grads: Map<string, tf.Tensor>; extras: Record<string, number>; extraGrads: tf.Tensor[] }> {
  const vars = trainableVariables(model);
  const names = [...vars.keys()];
  const varList = names.map((n) => vars.get(n)!);
  let extrasT: Record<string, tf.Scalar> = {};
  const { value, grads } = (tf.engine() as unknown as EngineGradients).gradients(() => {
    const r = lossFn();
    extrasT = {};
    for (const [k, v] of Object.entries(r.extras ?? {})) extrasT[k] = tf.keep(v);
    return r.loss;
  }, [...varList, ...extraXs], undefined, true);
  const out = new Map<string, tf.Tensor>();
  names.forEach((n, i) => out.set(n, grads[i] ?? tf.zerosLike(varList[i])));
  const extraGrads = extraXs.map((x, i) => grads[names.length + i] ?? tf.zerosLike(x));
  const loss = (await value.data())[0];
  value.dispose();
  const extras: Record<string, number> = {};
  for (const [k, v] of Object.entries(extrasT)) { extras[k] = (await v.data())[0]; v.dispose(); }
  return { loss, grads: out, extras, extraGrads };
}

/** Reads gradient tensors back to the host (with `await data()`, which every backend supports, WebGPU included) and disposes them. */
export async function readGradients(grads: Map<string, tf.Tensor>): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  try {
    for (const [n, g] of grads) out.set(n, ((await g.data()) as Float32Array).slice());
  } finally {
    tf.dispose([...grads.values()]);
  }
  return out;
}

/**
 * Gradients of `lossFn` w.r.t. the model's trainable variables, copied out of the backend (the
 * host path: wasm, data-parallel workers). `extraXs` as in computeGradientTensors.
 */
export async function computeGradients(
  model: LlamaModel,
  lossFn: () => { loss: tf.Scalar; extras?: Record<string, tf.Scalar> },
  extraXs: tf.Tensor[] = [],
): Promise<GradResult & { extraGrads: tf.Tensor[] }> {
  const r = await computeGradientTensors(model, lossFn, extraXs);
  return { ...r, grads: await readGradients(r.grads) };
}

/** Sums gradients of several micro-batches / workers, each weighted. */
export function accumulate(into: Map<string, Float32Array> | undefined, g: Map<string, Float32Array>, weight: number): Map<string, Float32Array> {
  const acc = into ?? new Map<string, Float32Array>();
  for (const [n, v] of g) {
    let a = acc.get(n);
    if (!a) acc.set(n, (a = new Float32Array(v.length)));
    for (let i = 0; i < v.length; i++) a[i] += weight * v[i];
  }
  return acc;
}

/** The device twin of `accumulate`: into += weight·g, on the backend; consumes (disposes) `g` and the old sums. */
export function accumulateTensors(into: Map<string, tf.Tensor> | undefined, g: Map<string, tf.Tensor>, weight: number): Map<string, tf.Tensor> {
  const acc = into ?? new Map<string, tf.Tensor>();
  for (const [n, t] of g) {
    const a = acc.get(n);
    const x = tf.tidy(() => (a ? tf.add(a, tf.mul(t, weight)) : tf.mul(t, weight)));
    a?.dispose();
    t.dispose();
    acc.set(n, x);
  }
  return acc;
}

/** Gradients as trainers hand them to Optimizer.step: host arrays or device tensors. */
export type GradMap = ReadonlyMap<string, Float32Array | tf.Tensor>;

// ---------------------------------------------------------------------------------------------
// A whole batch: shared-prefix groups, micro-batches padded to their own longest row
// ---------------------------------------------------------------------------------------------

/** One training sequence; mask[i] = 1 when token i is a trained target (predicted from position i − 1). */
export interface SeqRow {
  tokens: number[];
  mask: number[];
  /** GRPO: the trajectory's advantage. */
  advantage?: number;
  /** GRPO: the sampler's log-prob of token i (NaN or absent where unknown). */
  behaviourLogProbs?: number[];
}

export type BatchLoss = { kind: 'sft' } | { kind: 'grpo'; surrogate: SurrogateOptions; refModel?: LlamaModel };

export interface BatchPlan {
  microBatch: number;
  padId: number;
  /** Rows sharing at least this many leading untrained tokens share one prefix pass (0 = never). */
  sharePrefix: number;
  /** Keep the gradients on the device (tensors, summed with tf ops) instead of reading them back. */
  onDevice?: boolean;
}

export interface BatchGradients<G = Float32Array> extends Omit<GradResult, 'grads'> {
  /** Host arrays, or with `plan.onDevice` tensors the caller owns (Optimizer.step disposes them). */
  grads: Map<string, G>;
  /** Tokens run through the model (prefixes once, micro-batches with their padding). */
  trainTokens: number;
  lossTokens: number;
  /** Shared prefixes used: their length and how many rows shared each. */
  prefixes: { length: number; rows: number }[];
}

/** Tokens before the first trained target that a prefix may cover (positions 0..P−1 predict nothing trained). */
function prefixCap(r: SeqRow): number {
  const first = r.mask.findIndex((m, i) => i > 0 && m);
  return first < 0 ? 0 : first - 1;
}

/** Rows grouped by a shared untrained prefix (greedy, in order); P = 0 for rows trained alone. */
export function prefixGroups(rows: readonly SeqRow[], minPrefix: number): { P: number; rows: number[] }[] {
  const groups: { P: number; rows: number[]; anchor: number[] }[] = [];
  const alone: number[] = [];
  rows.forEach((r, i) => {
    const cap = prefixCap(r);
    if (minPrefix > 0 && cap >= minPrefix) {
      for (const g of groups) {
        let l = 0;
        const n = Math.min(g.P, cap);
        while (l < n && g.anchor[l] === r.tokens[l]) l++;
        if (l >= minPrefix) { g.P = l; g.rows.push(i); return; }
      }
      groups.push({ P: cap, rows: [i], anchor: r.tokens });
      return;
    }
    alone.push(i);
  });
  const out: { P: number; rows: number[] }[] = [];
  for (const g of groups) {
    if (g.rows.length > 1) out.push({ P: g.P, rows: g.rows });
    else alone.push(...g.rows); // one row gains nothing from a separate prefix pass
  }
  if (alone.length) out.push({ P: 0, rows: alone.sort((a, b) => a - b) });
  return out;
}

/** Positions from..len−2 of the rows as a next-token batch padded to its own longest row. */
export function toTokenBatch(rows: readonly SeqRow[], from: number, padId: number): TokenBatch {
  const T = Math.max(1, ...rows.map((r) => r.tokens.length - 1 - from));
  const b: TokenBatch = { inputs: [], targets: [], mask: [], advantages: [], oldLogProbs: [] };
  for (const r of rows) {
    const inp = new Array(T).fill(padId), tgt = new Array(T).fill(padId), m = new Array(T).fill(0), a = new Array(T).fill(0), o = new Array(T).fill(NaN);
    for (let t = from; t + 1 < r.tokens.length; t++) {
      const j = t - from;
      inp[j] = r.tokens[t];
      tgt[j] = r.tokens[t + 1];
      if (r.mask[t + 1]) { m[j] = 1; a[j] = r.advantage ?? 0; o[j] = r.behaviourLogProbs?.[t + 1] ?? NaN; }
    }
    b.inputs.push(inp); b.targets.push(tgt); b.mask.push(m); b.advantages.push(a); b.oldLogProbs.push(o);
  }
  return b;
}

const countMask = (b: TokenBatch) => b.mask.reduce((s, row) => s + row.reduce((a, c) => a + c, 0), 0);

/**
 * Token-mean loss and gradients of a whole batch, equal to training each sequence alone (within
 * float error): rows sharing a long untrained prefix (the system prompt and tools) run it once — its
 * K/V cache is computed without a tape, every micro-batch of the group attends to it and returns the
 * cache's gradients, which are summed and backpropagated through the prefix once (prefixBackward).
 * Micro-batches are padded to their own longest row. A batch with no trained token is an error.
 */
export async function batchGradients(model: LlamaModel, rows: readonly SeqRow[], loss: BatchLoss, plan: BatchPlan & { onDevice: true }): Promise<BatchGradients<tf.Tensor>>;
export async function batchGradients(model: LlamaModel, rows: readonly SeqRow[], loss: BatchLoss, plan: BatchPlan & { onDevice?: false }): Promise<BatchGradients<Float32Array>>;
export async function batchGradients(model: LlamaModel, rows: readonly SeqRow[], loss: BatchLoss, plan: BatchPlan): Promise<BatchGradients<Float32Array | tf.Tensor>>;
export async function batchGradients(model: LlamaModel, rows: readonly SeqRow[], loss: BatchLoss, plan: BatchPlan): Promise<BatchGradients<Float32Array | tf.Tensor>> {
  for (const r of rows) if (r.mask.length !== r.tokens.length) throw new Error(`a row has ${r.mask.length} mask entries for ${r.tokens.length} tokens`);
  const lossTokens = rows.reduce((s, r) => s + r.mask.reduce((a, m, i) => a + (i > 0 && m ? 1 : 0), 0), 0);
  if (!lossTokens) throw new Error(`the batch of ${rows.length} sequence(s) has no trained token: nothing to learn from`);
  const share = loss.kind === 'grpo' && loss.refModel ? 0 : plan.sharePrefix;
  let grads: Map<string, Float32Array> | undefined;
  let devGrads: Map<string, tf.Tensor> | undefined; // plan.onDevice: the running weighted sum, on the backend
  const add = async (g: Map<string, tf.Tensor>, w: number) => {
    if (plan.onDevice) devGrads = accumulateTensors(devGrads, g, w);
    else grads = accumulate(grads, await readGradients(g), w);
  };
  let lossSum = 0, trainTokens = 0;
  const extras: Record<string, number> = {};
  const prefixes: { length: number; rows: number }[] = [];
  const lossOf = (b: TokenBatch, prefix?: PrefixKV) => () => {
    if (loss.kind === 'sft') return { loss: sftLoss(model, b, prefix) };
    const r = grpoLoss(model, b, loss.surrogate, loss.refModel, prefix);
    return { loss: r.loss, extras: { clipFrac: r.clipFrac, behaviourWeight: r.behaviourWeight } };
  };
  try {
  for (const grp of prefixGroups(rows, share)) {
    const members = grp.rows.map((i) => rows[i]);
    const st = grp.P > 0 ? prefixForward(model, members[0].tokens.slice(0, grp.P)) : undefined;
    if (st) { prefixes.push({ length: grp.P, rows: members.length }); trainTokens += grp.P; }
    let dK: tf.Tensor[] | undefined, dV: tf.Tensor[] | undefined;
    try {
      for (let s = 0; s < members.length; s += plan.microBatch) {
        const b = toTokenBatch(members.slice(s, s + plan.microBatch), grp.P, plan.padId);
        trainTokens += b.inputs.length * b.inputs[0].length;
        const n = countMask(b);
        if (!n) continue;
        // Let the event loop breathe between long synchronous micro-batches (heartbeats, RPC replies).
        await new Promise((resolve) => setImmediate(resolve));
        const w = n / lossTokens; // token-mean over the whole batch
        const r = await computeGradientTensors(model, lossOf(b, st?.kv), st ? [...st.kv.k, ...st.kv.v] : []);
        await add(r.grads, w);
        lossSum += w * r.loss;
        for (const [k, v] of Object.entries(r.extras)) extras[k] = (extras[k] ?? 0) + w * v;
        if (st) {
          const L = st.kv.k.length;
          const scaled = r.extraGrads.map((g) => { const x = tf.mul(g, w); g.dispose(); return x; });
          const add = (acc: tf.Tensor[] | undefined, part: tf.Tensor[]) => acc ? acc.map((a, i) => { const x = tf.add(a, part[i]); a.dispose(); part[i].dispose(); return x; }) : part;
          dK = add(dK, scaled.slice(0, L));
          dV = add(dV, scaled.slice(L));
        } else tf.dispose(r.extraGrads);
      }
      if (st && dK && dV) {
        const pg = prefixBackward(model, st, dK, dV);
        await add(pg, 1); // already weighted through dK, dV
      }
    } finally {
      if (dK) tf.dispose(dK);
      if (dV) tf.dispose(dV);
      if (st) disposePrefix(st);
    }
  }
  } catch (e) {
    if (devGrads) tf.dispose([...devGrads.values()]);
    throw e;
  }
  return { loss: lossSum, grads: (plan.onDevice ? devGrads : grads)!, extras, trainTokens, lossTokens, prefixes };
}

/**
 * AdamW over the trainable variables, placed on the device (moments as tf.Variables, weights updated
 * in place) or on the host (a float32 master copy outside the backend, re-uploaded each step); see
 * optimizerPlacement. Both read and write the same AdamWState for checkpoints (`checkpointState`).
 */
export class Optimizer {
  /** The step count; on the host also the moments (on the device they live in `moments` once used). */
  readonly state: AdamWState;
  readonly placement: OptimizerPlacement;
  private master = new Map<string, Float32Array>();
  private moments: DeviceMoments = { m: new Map(), v: new Map() };
  /** `placement` defaults to optimizerPlacement(the active backend, no data parallelism). */
  constructor(private model: LlamaModel, public opts: AdamWOptions, state?: AdamWState, placement?: OptimizerPlacement) {
    this.state = state ?? newAdamWState();
    this.placement = placement ?? optimizerPlacement(tf.getBackend(), false).placement;
  }
  get onDevice(): boolean {
    return this.placement === 'device';
  }
  /** Re-reads the variables (after loading weights or adding LoRA) before the next step. */
  refresh(): void {
    this.master.clear();
  }
  /** Applies one update; returns the pre-clip gradient norm. Gradient tensors passed in are disposed. */
  async step(grads: GradMap): Promise<number> {
    const owned = [...grads.values()].filter((g): g is tf.Tensor => !(g instanceof Float32Array));
    try {
      return this.onDevice ? await this.deviceStep(grads, owned) : await this.hostStep(grads);
    } finally {
      tf.dispose(owned);
    }
  }
  private async hostStep(grads: GradMap): Promise<number> {
    const vars = trainableVariables(this.model);
    const host = new Map<string, Float32Array>();
    for (const [n, g] of grads) host.set(n, g instanceof Float32Array ? g : ((await g.data()) as Float32Array));
    // The master copy is read lazily, with `await data()` (no dataSync: WebGPU cannot).
    if (!this.master.size) for (const [n, v] of vars) this.master.set(n, ((await v.data()) as Float32Array).slice());
    const norm = adamwStep(this.master, host, this.state, this.opts);
    for (const [n, p] of this.master) {
      const v = vars.get(n)!;
      tf.tidy(() => v.assign(tf.tensor(p, v.shape, 'float32')));
    }
    return norm;
  }
  private async deviceStep(grads: GradMap, owned: tf.Tensor[]): Promise<number> {
    const vars = trainableVariables(this.model);
    const dev = new Map<string, tf.Tensor>();
    for (const [n, g] of grads) {
      const v = vars.get(n);
      if (!v) throw new Error(`adamw: gradient for unknown parameter ${n}`);
      if (g instanceof Float32Array) { const t = tf.tensor(g, v.shape, 'float32'); owned.push(t); dev.set(n, t); } else dev.set(n, g);
      this.upload(n, v.shape);
    }
    return adamwStepDevice(vars, dev, this.moments, this.state, this.opts);
  }
  /** Moments restored from a checkpoint (host arrays in `state`) go to the device on first use. */
  private upload(n: string, shape: number[]): void {
    for (const k of ['m', 'v'] as const) {
      const h = this.state[k].get(n);
      if (!h || this.moments[k].has(n)) continue;
      this.moments[k].set(n, deviceVariable(tf.tensor(h, shape, 'float32')));
      this.state[k].delete(n);
    }
  }
  /** The optimizer state as host arrays, for a checkpoint (device moments read with `await data()`). */
  async checkpointState(): Promise<AdamWState> {
    if (!this.onDevice) return this.state;
    const out: AdamWState = { step: this.state.step, m: new Map(this.state.m), v: new Map(this.state.v) };
    for (const k of ['m', 'v'] as const) for (const [n, t] of this.moments[k]) out[k].set(n, ((await t.data()) as Float32Array).slice());
    return out;
  }
  /** Frees the device moments. */
  dispose(): void {
    tf.dispose([...this.moments.m.values(), ...this.moments.v.values()]);
    this.moments = { m: new Map(), v: new Map() };
  }
}
