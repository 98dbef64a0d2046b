// AdamW with global-norm gradient clipping, in two placements with the same formulas:
//   host   — on plain Float32Arrays (adamwStep). Used on wasm, whose heap is capped at 4 GiB (a
//            135M-parameter model with two moment buffers would crowd it), and with data-parallel
//            workers, whose gradients are summed on the host anyway.
//   device — on backend tensors (adamwStepDevice): moments are tf.Variables, the weights are updated
//            in place with assign, and only the gradient norm is read back. Every other backend.
// `optimizerPlacement` is the one place that decides.
import { tf } from '../backend/backend.ts';

export interface AdamWOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Clip the global gradient L2 norm to this value (0 or Infinity = off). */
  maxGradNorm: number;
}

export const defaultAdamW: AdamWOptions = { lr: 5e-6, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.0, maxGradNorm: 1.0 };

export interface AdamWState {
  step: number;
  m: Map<string, Float32Array>;
  v: Map<string, Float32Array>;
}

export function newAdamWState(): AdamWState {
  return { step: 0, m: new Map(), v: new Map() };
}

export function globalNorm(grads: Map<string, Float32Array>): number {
  let s = 0;
  for (const g of grads.values()) for (let i = 0; i < g.length; i++) s += g[i] * g[i];
  return Math.sqrt(s);
}

/**
 * One AdamW update of `params` in place. Returns the gradient norm before clipping.
 * Decoupled weight decay: p ← p − lr·wd·p, then p ← p − lr·m̂/(√v̂ + eps).
 */
export function adamwStep(params: Map<string, Float32Array>, grads: Map<string, Float32Array>, state: AdamWState, o: AdamWOptions): number {
  const norm = globalNorm(grads);
  const clip = o.maxGradNorm > 0 && Number.isFinite(o.maxGradNorm) && norm > o.maxGradNorm ? o.maxGradNorm / (norm + 1e-12) : 1;
  state.step++;
  const bc1 = 1 - o.beta1 ** state.step;
  const bc2 = 1 - o.beta2 ** state.step;
  for (const [name, g] of grads) {
    const p = params.get(name);
    if (!p) throw new Error(`adamw: gradient for unknown parameter ${name}`);
    if (p.length !== g.length) throw new Error(`adamw: ${name} has ${p.length} values but its gradient ${g.length}`);
    let m = state.m.get(name), v = state.v.get(name);
    if (!m) state.m.set(name, (m = new Float32Array(p.length)));
    if (!v) state.v.set(name, (v = new Float32Array(p.length)));
    const decay = 1 - o.lr * o.weightDecay;
    for (let i = 0; i < p.length; i++) {
      const gi = g[i] * clip;
      m[i] = o.beta1 * m[i] + (1 - o.beta1) * gi;
      v[i] = o.beta2 * v[i] + (1 - o.beta2) * gi * gi;
      p[i] = p[i] * decay - (o.lr * (m[i] / bc1)) / (Math.sqrt(v[i] / bc2) + o.eps);
    }
  }
  return norm;
}

export type OptimizerPlacement = 'device' | 'host';

/**
 * Where the optimizer keeps its state and runs: the one decision, by TF.js backend name (as
 * `tf.getBackend()` or the learner's BackendName spell it) and whether data-parallel workers send
 * host gradients. wasm stays on the host (its 4 GiB heap); so does an unknown backend.
 */
export function optimizerPlacement(backend: string | undefined, dataParallel: boolean): { placement: OptimizerPlacement; reason: string } {
  if (dataParallel) return { placement: 'host', reason: 'data-parallel workers sum their gradients on the host' };
  if (!backend) return { placement: 'host', reason: 'no TF.js backend known' };
  if (backend === 'wasm') return { placement: 'host', reason: 'wasm: its 4 GiB heap cannot hold the moments beside the model' };
  return { placement: 'device', reason: `${backend}: weights, gradients and moments stay backend tensors` };
}

/** AdamW moments on the device, per trainable parameter (same shapes). */
export interface DeviceMoments {
  m: Map<string, tf.Variable>;
  v: Map<string, tf.Variable>;
}

/** A non-trainable variable holding `init`'s values; `init` is disposed (tf.variable keeps its own handle). */
export function deviceVariable(init: tf.Tensor): tf.Variable {
  const v = tf.variable(init, false);
  init.dispose();
  return v;
}

/**
 * adamwStep on the device: `params` updated in place (assign), `moments` likewise; the gradients
 * are only read (the caller disposes them). Returns the gradient norm before clipping, the one value
 * read back (the squared norms per tensor are summed on the host in double, as globalNorm does).
 */
export async function adamwStepDevice(params: ReadonlyMap<string, tf.Variable>, grads: ReadonlyMap<string, tf.Tensor>, moments: DeviceMoments, state: { step: number }, o: AdamWOptions): Promise<number> {
  const names = [...grads.keys()];
  for (const n of names) {
    const p = params.get(n);
    if (!p) throw new Error(`adamw: gradient for unknown parameter ${n}`);
    if (p.size !== grads.get(n)!.size) throw new Error(`adamw: ${n} has ${p.size} values but its gradient ${grads.get(n)!.size}`);
    if (!moments.m.has(n)) moments.m.set(n, deviceVariable(tf.zeros(p.shape)));
    if (!moments.v.has(n)) moments.v.set(n, deviceVariable(tf.zeros(p.shape)));
  }
  let norm = 0;
  if (names.length) {
    const sq = tf.tidy(() => tf.stack(names.map((n) => tf.sum(tf.square(grads.get(n)!)))));
    const parts = (await sq.data()) as Float32Array;
    sq.dispose();
    let s = 0;
    for (const x of parts) s += x;
    norm = Math.sqrt(s);
  }
  const clip = o.maxGradNorm > 0 && Number.isFinite(o.maxGradNorm) && norm > o.maxGradNorm ? o.maxGradNorm / (norm + 1e-12) : 1;
  state.step++;
  const bc1 = 1 - o.beta1 ** state.step;
  const bc2 = 1 - o.beta2 ** state.step;
  const decay = 1 - o.lr * o.weightDecay;
  for (const n of names) {
    const p = params.get(n)!, m = moments.m.get(n)!, v = moments.v.get(n)!;
    // The host formulas with the constants folded (clip into the moment coefficients, bias
    // corrections into scalars): 14 elementwise passes per parameter.
    tf.tidy(() => {
      const g = grads.get(n)!.reshape(p.shape);
      const m1 = tf.add(tf.mul(m, o.beta1), tf.mul(g, (1 - o.beta1) * clip));
      const v1 = tf.add(tf.mul(v, o.beta2), tf.mul(tf.square(g), (1 - o.beta2) * clip * clip));
      const upd = tf.div(tf.mul(m1, o.lr / bc1), tf.add(tf.mul(tf.sqrt(v1), 1 / Math.sqrt(bc2)), o.eps));
      m.assign(m1);
      v.assign(v1);
      p.assign(decay === 1 ? tf.sub(p, upd) : tf.sub(tf.mul(p, decay), upd));
    });
  }
  return norm;
}
