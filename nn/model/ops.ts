// Differentiable building blocks with hand-written gradients. On the wasm backend, tf.gather has
// no gradient kernel and matMul with transpose flags runs 10–20× slower than an explicit transpose
// followed by a plain matMul, so every matmul here (forward and backward) is a plain matMul on
// explicitly transposed operands.
import { tf } from '../backend/backend.ts';

type T = tf.Tensor;

const swapLast2 = (x: T): T => {
  const r = x.rank;
  const perm = [...Array(r).keys()];
  [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
  return tf.transpose(x, perm);
};

/**
 * Saves `ts` for the backward pass except variables, and returns how to get all of them back. The
 * engine saves a tensor by cloning it, and the wasm backend's clone copies the data: saving the
 * weights would duplicate the whole model on every forward pass (540 MB for the 135M model).
 * Variables stay alive on their own and nothing assigns them during a gradient computation.
 */
function saveSkippingVariables(save: tf.GradSaveFunc, ts: T[]): (saved: T[]) => T[] {
  const isVar = ts.map((t) => t instanceof tf.Variable);
  save(ts.filter((_, i) => !isVar[i]));
  return (saved) => { let k = 0; return ts.map((t, i) => (isVar[i] ? t : saved[k++])); };
}

/**
 * Plain a @ b. Batched (rank-3) products run as one 2-D product per batch entry: the wasm backend's
 * batched MatMul kernel reaches 1–4 GFLOP/s where its 2-D kernel reaches 30–45 (measured on the
 * attention shapes [3, 3072, 64]·[3, 64, 1024] at 1,024 tokens), so attention dominated long sequences.
 */
function plainMatMul(a: T, b: T): T {
  if (a.rank === 2) return tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D);
  const n = a.shape[0];
  if (a.rank !== 3 || b.rank !== 3 || b.shape[0] !== n) return tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D);
  return tf.tidy(() => {
    if (n === 1) return tf.matMul(a.reshape(a.shape.slice(1)) as tf.Tensor2D, b.reshape(b.shape.slice(1)) as tf.Tensor2D).expandDims(0);
    const as = tf.unstack(a), bs = tf.unstack(b);
    return tf.stack(as.map((x, i) => tf.matMul(x as tf.Tensor2D, bs[i] as tf.Tensor2D)));
  });
}

/** a @ b for rank-2 or equal-rank batched operands; both gradients use explicit transposes. */
export const matmul = tf.customGrad(((a: T, b: T, save: tf.GradSaveFunc) => {
  const restore = saveSkippingVariables(save, [a, b]);
  return {
    value: plainMatMul(a, b),
    gradFunc: (dy: T, saved: T[]) => {
      const [sa, sb] = restore(saved);
      // tidy: the transposed copies are freed at once (the engine would otherwise keep every
      // temporary of the backward pass until it ends — gigabytes for a 135M model).
      return tf.tidy(() => [plainMatMul(dy, swapLast2(sb)), plainMatMul(swapLast2(sa), dy)]);
    },
  };
}) as never) as unknown as (a: T, b: T) => T;

/** x @ w where w is frozen (no gradient computed for it): LoRA base weights, eval-only paths. */
export function matmulFrozenRight(x: T, w: T): T {
  // Tensors a gradient closes over must be saved, or the engine disposes them after the forward pass
  // (variables excepted: see saveSkippingVariables).
  const f = tf.customGrad(((a: T, save: tf.GradSaveFunc) => {
    const restore = saveSkippingVariables(save, [w]);
    return {
      value: tf.matMul(a as tf.Tensor2D, w as tf.Tensor2D),
      gradFunc: (dy: T, saved: T[]) => [tf.tidy(() => tf.matMul(dy as tf.Tensor2D, tf.transpose(restore(saved)[0]) as tf.Tensor2D))],
    };
  }) as never) as unknown as (a: T) => T;
  return f(x);
}

/**
 * x [N, D] @ wᵀ for w [V, D] (the tied output head): logits without keeping a transposed copy of the
 * embedding table alive. Gradients are plain matmuls: dx = dy·w, dw = dyᵀ·x.
 */
export const matmulTransposedRight = tf.customGrad(((x: T, w: T, save: tf.GradSaveFunc) => {
  const restore = saveSkippingVariables(save, [x, w]);
  return {
    value: tf.tidy(() => tf.matMul(x as tf.Tensor2D, tf.transpose(w) as tf.Tensor2D)),
    gradFunc: (dy: T, saved: T[]) => {
      const [sx, sw] = restore(saved);
      return tf.tidy(() => [tf.matMul(dy as tf.Tensor2D, sw as tf.Tensor2D), tf.matMul(tf.transpose(dy) as tf.Tensor2D, sx as tf.Tensor2D)]);
    },
  };
}) as never) as unknown as (x: T, w: T) => T;

/** Same as matmulTransposedRight with w frozen (no gradient for it). */
export function matmulTransposedRightFrozen(x: T, w: T): T {
  const f = tf.customGrad(((a: T, save: tf.GradSaveFunc) => {
    const restore = saveSkippingVariables(save, [w]);
    return {
      value: tf.tidy(() => tf.matMul(a as tf.Tensor2D, tf.transpose(w) as tf.Tensor2D)),
      gradFunc: (dy: T, saved: T[]) => [tf.matMul(dy as tf.Tensor2D, restore(saved)[0] as tf.Tensor2D)],
    };
  }) as never) as unknown as (a: T) => T;
  return f(x);
}

/**
 * Rows of `table` [V, D] at `ids` (int32, any shape) → [...ids.shape, D]. Gradient: the incoming
 * rows scatter-added back into a [V, D] zero table (tf.scatterND sums duplicate indices).
 */
export function embed(table: T, ids: T): T {
  const flat = ids.reshape([-1]);
  const [V, D] = table.shape as [number, number];
  const f = tf.customGrad(((tab: T, save: tf.GradSaveFunc) => {
    save([flat]);
    return {
      value: tf.gather(tab, flat).reshape([...ids.shape, D]),
      gradFunc: (dy: T, saved: T[]) => [tf.scatterND(saved[0].reshape([-1, 1]), dy.reshape([-1, D]), [V, D])],
    };
  }) as never) as unknown as (t: T) => T;
  return f(table);
}

/**
 * Log-probability of `targets` (int32 [N]) under `logits` [N, V]: log_softmax picked at the target.
 * Computed as a masked sum with a one-hot so the gradient needs no gather kernel.
 */
export function tokenLogProbs(logits: T, targets: T): T {
  const V = logits.shape[logits.rank - 1];
  const logp = tf.logSoftmax(logits);
  // int32 one-hot then cast: the wasm OneHot kernel ignores a float32 dtype and writes int bits.
  const oh = tf.cast(tf.oneHot(targets.reshape([-1]) as tf.Tensor1D, V), 'float32');
  return tf.sum(tf.mul(logp, oh), -1);
}

/** Identity in the forward pass, zero gradient (TF.js has no stop_gradient op). */
export const stopGradient = tf.customGrad(((x: T) => ({
  value: tf.clone(x),
  gradFunc: (dy: T) => [tf.zerosLike(dy)],
})) as never) as unknown as <R extends T>(x: R) => R;

/**
 * log p(target) for rows of hidden states h [N, D] under the output head, `chunk` rows at a time, so
 * the [N, vocab] logits (and their softmax gradient) never exist whole: the forward keeps only h; the
 * backward recomputes each chunk's logits. `w` is the head weight, [V, D] (`wLayout: 'VD'`, the tied
 * embedding table) or [D, V] ('DV', a separate output.weight); with `trainW` false it gets no gradient
 * (LoRA's frozen base). Returns [N].
 */
export function chunkedTargetLogProbs(h: T, w: T, targets: ArrayLike<number>, o: { wLayout: 'VD' | 'DV'; trainW: boolean; chunk: number }): T {
  const [N, D] = h.shape as [number, number];
  const V = (o.wLayout === 'VD' ? w.shape[0] : w.shape[1]) as number;
  if (targets.length !== N) throw new Error(`chunkedTargetLogProbs: ${targets.length} targets for ${N} rows`);
  const tgt = Int32Array.from(targets);
  const C = Math.max(1, o.chunk);
  const spans: [number, number][] = [];
  for (let s = 0; s < N; s += C) spans.push([s, Math.min(N, s + C)]);
  const flatIdx = (s: number, e: number) => tf.tensor1d(Int32Array.from({ length: e - s }, (_, r) => r * V + tgt[s + r]), 'int32');
  const forwardValue = (hh: T, ww: T): T => tf.tidy(() => {
    const wDV = o.wLayout === 'VD' ? tf.transpose(ww) : ww; // one transposed copy per call, not per chunk
    const parts = spans.map(([s, e]) => tf.tidy(() => {
      const logits = tf.matMul(tf.slice(hh, [s, 0], [e - s, D]) as tf.Tensor2D, wDV as tf.Tensor2D);
      return tf.sub(tf.gather(logits.reshape([-1]), flatIdx(s, e)), tf.logSumExp(logits, 1));
    }));
    return parts.length === 1 ? parts[0] : tf.concat(parts);
  });
  // d log p(t)/d logits = onehot(t) − softmax, so dh = dy·(W[t] − softmax·W) and
  // dW = scatter(dy·h at rows t) − (dy·softmax)ᵀ·h: no [n, V] one-hot is ever built.
  const backward = (dy: T, hh: T, ww: T): T[] => tf.tidy(() => {
    const wDV = o.wLayout === 'VD' ? tf.transpose(ww) : ww;
    const wVD = o.wLayout === 'VD' ? ww : tf.transpose(ww);
    let dW: T | undefined;
    const dh = spans.map(([s, e]) => tf.tidy(() => {
      const hc = tf.slice(hh, [s, 0], [e - s, D]);
      const dyc = tf.slice(dy, [s], [e - s]).reshape([-1, 1]);
      const ids = tf.tensor1d(tgt.subarray(s, e), 'int32');
      const logits = tf.matMul(hc as tf.Tensor2D, wDV as tf.Tensor2D);
      const p = tf.softmax(logits);
      logits.dispose();
      const ps = tf.mul(p, dyc);
      p.dispose();
      const dhc = tf.sub(tf.mul(tf.gather(wVD, ids), dyc), tf.matMul(ps as tf.Tensor2D, wVD as tf.Tensor2D));
      if (o.trainW) {
        const g = tf.tidy(() => {
          const rows = tf.scatterND(ids.reshape([-1, 1]), tf.mul(hc, dyc), [V, D]);
          const dense = o.wLayout === 'VD' ? tf.matMul(tf.transpose(ps) as tf.Tensor2D, hc as tf.Tensor2D) : tf.matMul(tf.transpose(hc) as tf.Tensor2D, ps as tf.Tensor2D);
          return o.wLayout === 'VD' ? tf.sub(rows, dense) : tf.sub(tf.transpose(rows), dense);
        });
        // kept: the chunk's tidy must not free the running sum
        if (dW) { const prev = dW; dW = tf.keep(tf.add(prev, g)); prev.dispose(); g.dispose(); } else dW = tf.keep(g);
      }
      return dhc;
    }));
    const dhAll = dh.length === 1 ? dh[0] : tf.concat(dh);
    return o.trainW ? [dhAll, dW!] : [dhAll];
  });
  if (o.trainW) {
    const f = tf.customGrad(((hh: T, ww: T, save: tf.GradSaveFunc) => {
      const restore = saveSkippingVariables(save, [hh, ww]);
      return { value: forwardValue(hh, ww), gradFunc: (dy: T, saved: T[]) => { const [sh, sw] = restore(saved); return backward(dy, sh, sw); } };
    }) as never) as unknown as (a: T, b: T) => T;
    return f(h, w);
  }
  const f = tf.customGrad(((hh: T, save: tf.GradSaveFunc) => {
    const restore = saveSkippingVariables(save, [hh, w]);
    return { value: forwardValue(hh, w), gradFunc: (dy: T, saved: T[]) => { const [sh, sw] = restore(saved); return backward(dy, sh, sw); } };
  }) as never) as unknown as (a: T) => T;
  return f(h);
}

interface EngineInternals {
  state: { activeTape: unknown };
  gradients(f: () => T, xs: T[], dy?: T, allowNoGradients?: boolean): { value: T; grads: (T | null)[] };
}

/**
 * Activation recomputation (gradient checkpointing): `fn(inputs)` runs without recording its
 * intermediates; the backward pass runs it again under a fresh tape and backpropagates `dy` through
 * it. `inputs` are the tensors it is differentiated by (the block input and its trainable variables);
 * `fn` must use the tensors it is given, not outer copies (the outer ones are freed after the forward
 * pass). Anything else `fn` reads must outlive the backward pass (variables, kept tensors): it is
 * not saved, because saving copies on wasm (a causal mask saved per block was 30 copies).
 *
 * TF.js has no checkpointing of its own. A nested `gradients` call during the outer backward pass
 * replaces the engine's active tape (and clears it when done), so the outer tape is put back after
 * each recomputation; otherwise the outer pass could not free its saved tensors at the end.
 */
export function checkpoint(fn: (inputs: T[]) => T, inputs: T[]): T {
  const f = tf.customGrad(((...args: unknown[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const ins = args as T[];
    const restore = saveSkippingVariables(save, ins);
    return {
      value: fn(ins),
      gradFunc: (dy: T, saved: T[]) => {
        const sIn = restore(saved);
        const eng = tf.engine() as unknown as EngineInternals;
        const outerTape = eng.state.activeTape;
        try {
          const { value, grads } = eng.gradients(() => fn(sIn), sIn, dy, true);
          value.dispose();
          return grads.map((g, k) => g ?? tf.zerosLike(sIn[k]));
        } finally {
          eng.state.activeTape = outerTape;
        }
      },
    };
  }) as never) as unknown as (...a: T[]) => T;
  return f(...inputs);
}
