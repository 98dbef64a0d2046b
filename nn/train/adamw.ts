// AdamW with global-norm gradient clipping, on plain Float32Arrays. The optimizer state lives
// outside the TF backend on purpose: the wasm heap is capped at 4 GiB and a 135M-parameter model
// with two moment buffers would crowd it; gradients from several workers are summed here too.
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
