// Finite-difference check of the model's gradients (hand-written gradients for the embedding
// gather and every matmul included) on a tiny float32 configuration, full and LoRA.
import { it, expect } from 'vitest';
import { tf } from '../../nn/backend/backend.ts';
import { describeOnBackends } from './backends.ts';
import { initParams, addLora, trainableVariables, forward, type LlamaConfig, type LlamaModel } from '../../nn/model/llama.ts';
import { embed, matmul } from '../../nn/model/ops.ts';
import { computeGradients, sftLoss, type SftBatch } from '../../nn/train/step.ts';
import { makeRng } from '../../nn/model/sample.ts';

const cfg: LlamaConfig = { vocabSize: 11, dim: 8, nLayers: 2, nHeads: 4, nKvHeads: 2, headDim: 2, ffnDim: 12, ropeBase: 10000, normEps: 1e-5, tiedEmbeddings: true, contextLength: 16 };

function randomBatch(seed: number, B: number, T: number): SftBatch {
  const r = makeRng(seed);
  const ri = () => Math.floor(r() * cfg.vocabSize);
  const rows = (f: () => number) => Array.from({ length: B }, () => Array.from({ length: T }, f));
  return { inputs: rows(ri), targets: rows(ri), mask: rows(() => (r() < 0.7 ? 1 : 0)) };
}

/** Compares analytic and central-difference derivatives at a few coordinates of every variable. */
async function check(model: LlamaModel, batch: SftBatch, perVar = 3) {
  const { grads, loss } = await computeGradients(model, () => ({ loss: sftLoss(model, batch) }));
  // Guard against a vacuous check (a loss stuck at 0 has zero gradients everywhere).
  expect(loss).toBeGreaterThan(0.5);
  const lossAt = () => tf.tidy(() => sftLoss(model, batch).dataSync()[0]);
  const eps = 1e-2;
  const rng = makeRng(3);
  let worst = 0;
  let compared = 0;
  for (const [name, v] of trainableVariables(model)) {
    const base = (v.dataSync() as Float32Array).slice();
    const g = grads.get(name)!;
    for (let k = 0; k < perVar; k++) {
      const i = Math.floor(rng() * base.length);
      const probe = (delta: number) => {
        const p = base.slice();
        p[i] += delta;
        v.assign(tf.tensor(p, v.shape));
        return lossAt();
      };
      const num = (probe(eps) - probe(-eps)) / (2 * eps);
      v.assign(tf.tensor(base, v.shape));
      const err = Math.abs(num - g[i]) / (1e-3 + Math.abs(num) + Math.abs(g[i]));
      worst = Math.max(worst, err);
      compared++;
      expect(Math.abs(num - g[i]), `${name}[${i}] analytic ${g[i]} numeric ${num}`).toBeLessThan(2e-3 + 3e-2 * Math.abs(num));
    }
  }
  const maxAbs = Math.max(...[...grads.values()].map((g) => Math.max(...g.map(Math.abs))));
  expect(maxAbs).toBeGreaterThan(1e-2);
  return { worst, compared };
}

describeOnBackends('gradients', () => {
  it('custom embedding and matmul gradients equal the dense reference', async () => {
    const table = tf.randomNormal([6, 3], 0, 1, 'float32', 1);
    const ids = tf.tensor1d([1, 4, 1, 0], 'int32');
    const w = tf.randomNormal([4, 3], 0, 1, 'float32', 2);
    const gEmb = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(embed(t, ids), w)))(table).arraySync();
    // Expected: row v of the gradient is the sum of w's rows at the positions where ids == v.
    const wr = w.arraySync() as number[][];
    const idv = [1, 4, 1, 0];
    const expected = Array.from({ length: 6 }, (_, v) => [0, 1, 2].map((d) => idv.reduce((s, id, i) => s + (id === v ? wr[i][d] : 0), 0)));
    (gEmb as number[][]).forEach((row, v) => row.forEach((x, d) => expect(x).toBeCloseTo(expected[v][d], 5)));
    const a = tf.randomNormal([2, 3, 4], 0, 1, 'float32', 3), b = tf.randomNormal([2, 4, 5], 0, 1, 'float32', 4);
    const [ga, gb] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(matmul(x, y))))([a, b]);
    const [ra, rb] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(tf.matMul(x as tf.Tensor3D, y as tf.Tensor3D))))([a, b]);
    expect(tf.max(tf.abs(tf.sub(ga, ra))).dataSync()[0]).toBeLessThan(1e-4);
    expect(tf.max(tf.abs(tf.sub(gb, rb))).dataSync()[0]).toBeLessThan(1e-4);
  });

  it('full-model gradients match finite differences (GQA, RoPE, tied head)', async () => {
    const model: LlamaModel = { config: cfg, params: initParams(cfg, 11) };
    // Larger weights than the 0.02 init so every path contributes measurably.
    for (const [n, v] of model.params) if (!n.endsWith('norm.weight')) v.assign(tf.mul(v, 15));
    const { compared } = await check(model, randomBatch(1, 2, 5));
    expect(compared).toBeGreaterThan(50);
    // Causality: changing a later token never changes earlier logits.
    const a = forward(model, tf.tensor2d([[1, 2, 3, 4]], [1, 4], 'int32')).arraySync();
    const b = forward(model, tf.tensor2d([[1, 2, 3, 9]], [1, 4], 'int32')).arraySync();
    for (let t = 0; t < 3; t++) a[t].forEach((x, j) => expect(b[t][j]).toBeCloseTo(x, 5));
  });

  it('LoRA adapter gradients match finite differences', async () => {
    const model: LlamaModel = { config: cfg, params: initParams(cfg, 12) };
    for (const [n, v] of model.params) if (!n.endsWith('norm.weight')) v.assign(tf.mul(v, 15));
    addLora(model, 2, 4);
    for (const ad of model.lora!.values()) ad.b.assign(tf.randomNormal(ad.b.shape, 0, 0.3, 'float32', 5));
    const { compared } = await check(model, randomBatch(2, 2, 4), 2);
    expect(compared).toBe(2 * 2 * 7 * 2);
  });
});
