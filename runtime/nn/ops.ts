// Differentiable building blocks with hand-written gradients. On the wasm backend, tf.gather has
// no gradient kernel and matMul with transpose flags runs 10–20× slower than an explicit transpose
// followed by a plain matMul, so every matmul here (forward and backward) is a plain matMul on
// explicitly transposed operands.
import { tf } from '../tf/backend.ts';

type T = tf.Tensor;

const swapLast2 = (x: T): T => {
  const r = x.rank;
  const perm = [...Array(r).keys()];
  [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
  return tf.transpose(x, perm);
};

/** a @ b for rank-2 or equal-rank batched operands; both gradients use explicit transposes. */
export const matmul = tf.customGrad(((a: T, b: T, save: tf.GradSaveFunc) => {
  save([a, b]);
  return {
    value: tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D),
    gradFunc: (dy: T, saved: T[]) => {
      const [sa, sb] = saved;
      // tidy: the transposed copies are freed at once (the engine would otherwise keep every
      // temporary of the backward pass until it ends — gigabytes for a 135M model).
      return tf.tidy(() => [tf.matMul(dy as tf.Tensor3D, swapLast2(sb) as tf.Tensor3D), tf.matMul(swapLast2(sa) as tf.Tensor3D, dy as tf.Tensor3D)]);
    },
  };
}) as never) as unknown as (a: T, b: T) => T;

/** x @ w where w is frozen (no gradient computed for it): LoRA base weights, eval-only paths. */
export function matmulFrozenRight(x: T, w: T): T {
  // Tensors a gradient closes over must be saved, or the engine disposes them after the forward pass.
  const f = tf.customGrad(((a: T, save: tf.GradSaveFunc) => {
    save([w]);
    return {
      value: tf.matMul(a as tf.Tensor2D, w as tf.Tensor2D),
      gradFunc: (dy: T, saved: T[]) => [tf.tidy(() => tf.matMul(dy as tf.Tensor2D, tf.transpose(saved[0]) as tf.Tensor2D))],
    };
  }) as never) as unknown as (a: T) => T;
  return f(x);
}

/**
 * x [N, D] @ wᵀ for w [V, D] (the tied output head): logits without keeping a transposed copy of the
 * embedding table alive. Gradients are plain matmuls: dx = dy·w, dw = dyᵀ·x.
 */
export const matmulTransposedRight = tf.customGrad(((x: T, w: T, save: tf.GradSaveFunc) => {
  save([x, w]);
  return {
    value: tf.tidy(() => tf.matMul(x as tf.Tensor2D, tf.transpose(w) as tf.Tensor2D)),
    gradFunc: (dy: T, saved: T[]) => {
      const [sx, sw] = saved;
      return tf.tidy(() => [tf.matMul(dy as tf.Tensor2D, sw as tf.Tensor2D), tf.matMul(tf.transpose(dy) as tf.Tensor2D, sx as tf.Tensor2D)]);
    },
  };
}) as never) as unknown as (x: T, w: T) => T;

/** Same as matmulTransposedRight with w frozen (no gradient for it). */
export function matmulTransposedRightFrozen(x: T, w: T): T {
  const f = tf.customGrad(((a: T, save: tf.GradSaveFunc) => {
    save([w]);
    return {
      value: tf.tidy(() => tf.matMul(a as tf.Tensor2D, tf.transpose(w) as tf.Tensor2D)),
      gradFunc: (dy: T, saved: T[]) => [tf.matMul(dy as tf.Tensor2D, saved[0] as tf.Tensor2D)],
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
