// One optimisation step of the learner, shared by every trainer: losses over token batches,
// gradients of the trainable variables, and the AdamW update applied through a float32 master copy.
import { tf } from '../backend/backend.ts';
import { forward, headWeight, hiddenStates, trainableVariables, type LlamaModel } from '../model/llama.ts';
import { chunkedTargetLogProbs, embed, stopGradient, tokenLogProbs } from '../model/ops.ts';
import { adamwStep, newAdamWState, type AdamWOptions, type AdamWState } from './adamw.ts';
import { clippedSurrogateLoss, type SurrogateOptions, type TokenBatch } from './grpo.ts';

export interface SftBatch {
  inputs: number[][];
  targets: number[][];
  mask: number[][];
}

const flat = (rows: number[][]) => rows.flat();

/** Rows of the loss head computed at once unless `model.train.logitChunk` says otherwise. */
export const DEFAULT_LOGIT_CHUNK = 256;

/** Per-position log-probs of the targets under the model, [B·T] (the whole logits at once). */
export function targetLogProbs(model: LlamaModel, inputs: number[][], targets: number[][]): tf.Tensor1D {
  const B = inputs.length, T = inputs[0].length;
  const logits = forward(model, tf.tensor2d(flat(inputs), [B, T], 'int32'));
  return tokenLogProbs(logits, tf.tensor1d(flat(targets), 'int32')) as tf.Tensor1D;
}

/**
 * Log-probs of the targets at the flat positions `positions` only, [positions.length]: the output
 * head runs on those rows alone, in chunks of `model.train.logitChunk` rows (0: the whole logits
 * of every position, then picked — the old, memory-hungry path kept for comparison).
 */
export function selectedTargetLogProbs(model: LlamaModel, inputs: number[][], targets: number[][], positions: number[]): tf.Tensor1D {
  const B = inputs.length, T = inputs[0].length;
  const chunk = model.train?.logitChunk ?? DEFAULT_LOGIT_CHUNK;
  const tokens = tf.tensor2d(flat(inputs), [B, T], 'int32');
  const tFlat = flat(targets);
  const idx = tf.tensor1d(positions, 'int32');
  if (chunk <= 0) return embed(targetLogProbs(model, inputs, targets).reshape([-1, 1]), idx).reshape([-1]) as tf.Tensor1D;
  const h = hiddenStates(model, tokens);
  // Only the selected rows reach the head; `embed` is a row gather whose gradient scatters back.
  const hSel = positions.length === B * T ? h : embed(h, idx);
  const { w, layout } = headWeight(model);
  return chunkedTargetLogProbs(hSel, w, positions.map((i) => tFlat[i]), { wLayout: layout, trainW: !model.lora, chunk }) as tf.Tensor1D;
}

/** Flat positions where the mask is set (at least one, so a loss always has a graph). */
function maskedPositions(mask: number[][]): number[] {
  const pos: number[] = [];
  flat(mask).forEach((m, i) => { if (m) pos.push(i); });
  return pos.length ? pos : [0];
}

const pickAt = (rows: number[][], pos: number[]) => { const f = flat(rows); return pos.map((i) => f[i]); };

/** Cross-entropy on masked positions, token-mean. */
export function sftLoss(model: LlamaModel, b: SftBatch): tf.Scalar {
  const pos = maskedPositions(b.mask);
  const lp = selectedTargetLogProbs(model, b.inputs, b.targets, pos);
  const m = tf.tensor1d(pickAt(b.mask, pos));
  return tf.neg(tf.div(tf.sum(tf.mul(lp, m)), tf.maximum(tf.sum(m), 1))) as tf.Scalar;
}

/**
 * GRPO clipped-surrogate loss; unknown behaviour log-probs fall back to the current ones, detached.
 * Computed on the masked positions only (the others contribute nothing to either sum of the token mean).
 */
export function grpoLoss(model: LlamaModel, b: TokenBatch, opts: SurrogateOptions, refModel?: LlamaModel): { loss: tf.Scalar; clipFrac: tf.Scalar } {
  const pos = maskedPositions(b.mask);
  const lp = selectedTargetLogProbs(model, b.inputs, b.targets, pos);
  const oldFlat = pickAt(b.oldLogProbs, pos);
  const known = tf.tensor1d(oldFlat.map((x) => (Number.isNaN(x) ? 0 : 1)));
  const oldGiven = tf.tensor1d(oldFlat.map((x) => (Number.isNaN(x) ? 0 : x)));
  const old = tf.add(tf.mul(known, oldGiven), tf.mul(tf.sub(1, known), stopGradient(lp))) as tf.Tensor1D;
  const ref = refModel ? stopGradient(selectedTargetLogProbs(refModel, b.inputs, b.targets, pos)) as tf.Tensor1D : undefined;
  return clippedSurrogateLoss(lp, old, tf.tensor1d(pickAt(b.advantages, pos)), tf.tensor1d(pickAt(b.mask, pos)), opts, ref);
}

export interface GradResult {
  loss: number;
  grads: Map<string, Float32Array>;
  /** Extra scalars the loss function reported (e.g. clip fraction). */
  extras: Record<string, number>;
}

/** Gradients of `lossFn` w.r.t. the model's trainable variables, copied out of the backend. */
export function computeGradients(model: LlamaModel, lossFn: () => { loss: tf.Scalar; extras?: Record<string, tf.Scalar> }): GradResult {
  const vars = trainableVariables(model);
  const names = [...vars.keys()];
  const varList = names.map((n) => vars.get(n)!);
  let extrasT: Record<string, tf.Scalar> = {};
  const { value, grads } = tf.variableGrads(() => {
    const r = lossFn();
    extrasT = {};
    for (const [k, v] of Object.entries(r.extras ?? {})) extrasT[k] = tf.keep(v);
    return r.loss;
  }, varList);
  const out = new Map<string, Float32Array>();
  for (const n of names) {
    const g = grads[vars.get(n)!.name];
    out.set(n, g ? (g.dataSync() as Float32Array).slice() : new Float32Array(vars.get(n)!.size));
  }
  const loss = value.dataSync()[0];
  value.dispose();
  tf.dispose(Object.values(grads));
  const extras: Record<string, number> = {};
  for (const [k, v] of Object.entries(extrasT)) { extras[k] = v.dataSync()[0]; v.dispose(); }
  return { loss, grads: out, extras };
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

/** AdamW over the trainable variables with a float32 master copy kept outside the backend. */
export class Optimizer {
  readonly state: AdamWState;
  private master = new Map<string, Float32Array>();
  constructor(private model: LlamaModel, public opts: AdamWOptions, state?: AdamWState) {
    this.state = state ?? newAdamWState();
    this.refresh();
  }
  /** Re-reads the variables (after loading weights or adding LoRA). */
  refresh(): void {
    this.master.clear();
    for (const [n, v] of trainableVariables(this.model)) this.master.set(n, (v.dataSync() as Float32Array).slice());
  }
  /** Applies one update; returns the pre-clip gradient norm. */
  step(grads: Map<string, Float32Array>): number {
    const norm = adamwStep(this.master, grads, this.state, this.opts);
    const vars = trainableVariables(this.model);
    for (const [n, p] of this.master) {
      const v = vars.get(n)!;
      tf.tidy(() => v.assign(tf.tensor(p, v.shape, 'float32')));
    }
    return norm;
  }
}
