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

/** Additive causal mask of one chunk's diagonal block: rows (head-in-group, t < n), cols u < n; −1e9 where u > t. Cached per (n, g). */
const triCache = new Map<string, T>();
function triMask(n: number, g: number): T {
  const key = `${n}/${g}`;
  let m = triCache.get(key);
  if (!m) {
    if (triCache.size >= 8) { const [k0, t0] = triCache.entries().next().value!; t0.dispose(); triCache.delete(k0); }
    const a = new Float32Array(g * n * n);
    for (let gi = 0; gi < g; gi++) for (let t = 0; t < n; t++) for (let u = t + 1; u < n; u++) a[(gi * n + t) * n + u] = -1e9;
    m = tf.keep(tf.tensor2d(a, [g * n, n]));
    triCache.set(key, m);
  }
  return m;
}

export interface AttentionOptions {
  /** Query rows per chunk: no more than `g·chunk × (P+T)` scores exist at once, forward or backward. */
  chunk: number;
  scale: number;
  /** Keys and values of a shared prefix [P, Hk, hd] (RoPE applied) that every sequence attends to first. */
  prefixK?: T;
  prefixV?: T;
}

/**
 * Causal grouped-query attention, chunked by query rows, with an optional shared prefix.
 * q [B, T, H, hd], k and v [B, T, Hk, hd] (RoPE applied; query t sits at absolute position P + t and
 * sees the whole prefix and suffix keys 0..t) → [B·T, H·hd].
 *
 * The backward pass keeps only q, k, v (and the prefix) and recomputes each chunk's scores, as flash
 * attention does: with P = softmax(S), O = P·V and D = rowsum(dO ⊙ O),
 * dS = P ⊙ (dO·Vᵀ − D), dQ = dS·K·scale, dK = dSᵀ·Q·scale, dV = Pᵀ·dO.
 * So no T×T score matrix is kept for the backward pass, and with per-block recomputation a block's
 * backward holds one chunk's scores at a time. The prefix's key/value gradients are summed over the
 * batch (every row shares it).
 */
export function causalAttention(q: T, k: T, v: T, o: AttentionOptions): T {
  const [B, Tn, H, hd] = q.shape as [number, number, number, number];
  const Hk = k.shape[2] as number;
  const g = H / Hk;
  const P = o.prefixK ? (o.prefixK.shape[0] as number) : 0;
  const C = Math.max(1, o.chunk);
  const spans: [number, number][] = [];
  for (let s = 0; s < Tn; s += C) spans.push([s, Math.min(Tn, s + C)]);
  const hasPrefix = !!o.prefixK;
  if (hasPrefix !== !!o.prefixV) throw new Error('causalAttention: prefixK and prefixV go together');

  // Per (row b, kv head h): queries [g, T, hd], full keys [P+T, hd] and their transposes.
  const layout = (qq: T, kk: T, vv: T, pk?: T, pv?: T) => {
    const qg = qq.reshape([B, Tn, Hk, g, hd]).transpose([0, 2, 3, 1, 4]); // [B, Hk, g, T, hd]
    const kh = kk.transpose([0, 2, 1, 3]); // [B, Hk, T, hd]
    const vh = vv.transpose([0, 2, 1, 3]);
    const pkh = pk ? pk.transpose([1, 0, 2]) : undefined; // [Hk, P, hd]
    const pvh = pv ? pv.transpose([1, 0, 2]) : undefined;
    const full = (x: T, px: T | undefined, b: number, h: number) => {
      const own = tf.slice(x, [b, h, 0, 0], [1, 1, Tn, hd]).reshape([Tn, hd]);
      return px ? tf.concat([tf.slice(px, [h, 0, 0], [1, P, hd]).reshape([P, hd]), own], 0) : own;
    };
    return { qg, kh, vh, pkh, pvh, full };
  };
  const chunkScores = (Qc: T, Kfull: T, s: number, e: number): T => {
    // Keys up to P + e only: the rest are masked for every row of the chunk.
    const Kc = tf.slice(Kfull, [0, 0], [P + e, hd]);
    const S = tf.mul(tf.matMul(Qc as tf.Tensor2D, tf.transpose(Kc) as tf.Tensor2D), o.scale);
    const mask = P + s > 0 ? tf.pad(triMask(e - s, g), [[0, 0], [P + s, 0]]) : triMask(e - s, g);
    return tf.softmax(tf.add(S, mask));
  };
  const qRows = (qg: T, b: number, h: number, s: number, e: number) => tf.slice(qg, [b, h, 0, s, 0], [1, 1, g, e - s, hd]).reshape([g * (e - s), hd]);

  const forwardValue = (qq: T, kk: T, vv: T, pk?: T, pv?: T): T => tf.tidy(() => {
    const L = layout(qq, kk, vv, pk, pv);
    const rows: T[] = [];
    for (let b = 0; b < B; b++) {
      const heads: T[] = [];
      for (let h = 0; h < Hk; h++) {
        heads.push(tf.tidy(() => {
          const Kf = L.full(L.kh, L.pkh, b, h), Vf = L.full(L.vh, L.pvh, b, h);
          const parts = spans.map(([s, e]) => tf.tidy(() => {
            const Pm = chunkScores(qRows(L.qg, b, h, s, e), Kf, s, e);
            return tf.matMul(Pm as tf.Tensor2D, tf.slice(Vf, [0, 0], [P + e, hd]) as tf.Tensor2D).reshape([g, e - s, hd]);
          }));
          return parts.length === 1 ? parts[0] : tf.concat(parts, 1); // [g, T, hd]
        }));
      }
      rows.push(tf.stack(heads)); // [Hk, g, T, hd]
    }
    return tf.stack(rows).transpose([0, 3, 1, 2, 4]).reshape([B * Tn, H * hd]);
  });

  const backward = (dy: T, qq: T, kk: T, vv: T, pk?: T, pv?: T): T[] => tf.tidy(() => {
    const L = layout(qq, kk, vv, pk, pv);
    const dOg = dy.reshape([B, Tn, Hk, g, hd]).transpose([0, 2, 3, 1, 4]); // [B, Hk, g, T, hd]
    const dqRows: T[] = [], dkRows: T[] = [], dvRows: T[] = [];
    const dpk: (T | undefined)[] = new Array(Hk), dpv: (T | undefined)[] = new Array(Hk);
    for (let b = 0; b < B; b++) {
      const dqH: T[] = [], dkH: T[] = [], dvH: T[] = [];
      for (let h = 0; h < Hk; h++) {
        const [dQ, dK, dV] = tf.tidy(() => {
          const Kf = L.full(L.kh, L.pkh, b, h), Vf = L.full(L.vh, L.pvh, b, h);
          let dK = tf.zeros([P + Tn, hd]), dV = tf.zeros([P + Tn, hd]);
          const dQs: T[] = [];
          for (const [s, e] of spans) {
            const [dQc, dKc, dVc] = tf.tidy(() => {
              const Qc = qRows(L.qg, b, h, s, e);
              const dOc = tf.slice(dOg, [b, h, 0, s, 0], [1, 1, g, e - s, hd]).reshape([g * (e - s), hd]);
              const Pm = chunkScores(Qc, Kf, s, e);
              const Kc = tf.slice(Kf, [0, 0], [P + e, hd]), Vc = tf.slice(Vf, [0, 0], [P + e, hd]);
              const Oc = tf.matMul(Pm as tf.Tensor2D, Vc as tf.Tensor2D);
              const D = tf.sum(tf.mul(dOc, Oc), 1, true);
              const dP = tf.matMul(dOc as tf.Tensor2D, tf.transpose(Vc) as tf.Tensor2D);
              const dS = tf.mul(tf.mul(Pm, tf.sub(dP, D)), o.scale);
              const dSt = tf.transpose(dS);
              return [
                tf.matMul(dS as tf.Tensor2D, Kc as tf.Tensor2D).reshape([g, e - s, hd]),
                tf.pad(tf.matMul(dSt as tf.Tensor2D, Qc as tf.Tensor2D), [[0, Tn - e], [0, 0]]),
                tf.pad(tf.matMul(tf.transpose(Pm) as tf.Tensor2D, dOc as tf.Tensor2D), [[0, Tn - e], [0, 0]]),
              ];
            });
            dQs.push(dQc);
            const k2 = tf.add(dK, dKc), v2 = tf.add(dV, dVc);
            tf.dispose([dK, dV, dKc, dVc]);
            dK = k2; dV = v2;
          }
          return [dQs.length === 1 ? dQs[0] : tf.concat(dQs, 1), dK, dV];
        });
        dqH.push(dQ);
        dkH.push(tf.slice(dK, [P, 0], [Tn, hd]));
        dvH.push(tf.slice(dV, [P, 0], [Tn, hd]));
        if (P) {
          const pkPart = tf.slice(dK, [0, 0], [P, hd]), pvPart = tf.slice(dV, [0, 0], [P, hd]);
          dpk[h] = dpk[h] ? tf.add(dpk[h]!, pkPart) : pkPart;
          dpv[h] = dpv[h] ? tf.add(dpv[h]!, pvPart) : pvPart;
        }
      }
      dqRows.push(tf.stack(dqH)); dkRows.push(tf.stack(dkH)); dvRows.push(tf.stack(dvH));
    }
    const dq = tf.stack(dqRows).transpose([0, 3, 1, 2, 4]).reshape([B, Tn, H, hd]); // [B, Hk, g, T, hd] → [B, T, H, hd]
    const dk = tf.stack(dkRows).transpose([0, 2, 1, 3]); // [B, Hk, T, hd] → [B, T, Hk, hd]
    const dv = tf.stack(dvRows).transpose([0, 2, 1, 3]);
    if (!P) return [dq, dk, dv];
    return [dq, dk, dv, tf.stack(dpk as T[]).transpose([1, 0, 2]), tf.stack(dpv as T[]).transpose([1, 0, 2])];
  });

  if (hasPrefix) {
    const f = tf.customGrad(((qq: T, kk: T, vv: T, pk: T, pv: T, save: tf.GradSaveFunc) => {
      const restore = saveSkippingVariables(save, [qq, kk, vv, pk, pv]);
      return { value: forwardValue(qq, kk, vv, pk, pv), gradFunc: (dy: T, saved: T[]) => { const s = restore(saved); return backward(dy, s[0], s[1], s[2], s[3], s[4]); } };
    }) as never) as unknown as (...a: T[]) => T;
    return f(q, k, v, o.prefixK!, o.prefixV!);
  }
  const f = tf.customGrad(((qq: T, kk: T, vv: T, save: tf.GradSaveFunc) => {
    const restore = saveSkippingVariables(save, [qq, kk, vv]);
    return { value: forwardValue(qq, kk, vv), gradFunc: (dy: T, saved: T[]) => { const s = restore(saved); return backward(dy, s[0], s[1], s[2]); } };
  }) as never) as unknown as (...a: T[]) => T;
  return f(q, k, v);
}
