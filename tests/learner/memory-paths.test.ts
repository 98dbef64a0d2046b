// The memory-saving paths of the learner (per-block activation recomputation, a loss head over the
// masked positions only, in chunks) must give the same loss and gradients as the plain path.
import { it, expect } from 'vitest';
import { tf } from '../../nn/backend/backend.ts';
import { describeOnBackends } from './backends.ts';
import { initParams, addLora, type LlamaConfig, type LlamaModel, type TrainMemoryOptions } from '../../nn/model/llama.ts';
import { computeGradients, grpoLoss, sftLoss, type SftBatch } from '../../nn/train/step.ts';
import type { TokenBatch } from '../../nn/train/grpo.ts';
import { makeRng } from '../../nn/model/sample.ts';

const base: LlamaConfig = { vocabSize: 13, dim: 8, nLayers: 3, nHeads: 4, nKvHeads: 2, headDim: 2, ffnDim: 12, ropeBase: 10000, normEps: 1e-5, tiedEmbeddings: true, contextLength: 16 };

function makeModel(cfg: LlamaConfig, lora: boolean): LlamaModel {
  const model: LlamaModel = { config: cfg, params: initParams(cfg, 21) };
  for (const [n, v] of model.params) if (!n.endsWith('norm.weight')) v.assign(tf.mul(v, 15));
  if (lora) {
    addLora(model, 2, 4);
    for (const ad of model.lora!.values()) ad.b.assign(tf.randomNormal(ad.b.shape, 0, 0.3, 'float32', 5));
  }
  return model;
}

function batch(seed: number, B: number, T: number, V: number): TokenBatch {
  const r = makeRng(seed);
  const rows = (f: () => number) => Array.from({ length: B }, () => Array.from({ length: T }, f));
  const mask = rows(() => (r() < 0.6 ? 1 : 0));
  return {
    inputs: rows(() => Math.floor(r() * V)), targets: rows(() => Math.floor(r() * V)), mask,
    advantages: mask.map((row) => row.map((m) => (m ? r() * 2 - 1 : 0))),
    // Some behaviour log-probs known (ratio ≠ 1, so clipping is exercised), others NaN (on-policy).
    oldLogProbs: mask.map((row) => row.map(() => (r() < 0.5 ? -1 - 2 * r() : NaN))),
  };
}

function grads(model: LlamaModel, opts: TrainMemoryOptions, loss: (m: LlamaModel) => tf.Scalar) {
  model.train = opts;
  return computeGradients(model, () => ({ loss: loss(model) }));
}

type G = Awaited<ReturnType<typeof grads>>;
function expectSame(a: G, b: G) {
  expect(Math.abs(a.loss - b.loss)).toBeLessThan(1e-5 * (1 + Math.abs(a.loss)));
  let maxAbs = 0;
  for (const [n, ga] of a.grads) {
    const gb = b.grads.get(n)!;
    for (let i = 0; i < ga.length; i++) {
      maxAbs = Math.max(maxAbs, Math.abs(ga[i]));
      expect(Math.abs(ga[i] - gb[i]), `${n}[${i}]`).toBeLessThan(1e-5 + 1e-4 * Math.abs(ga[i]));
    }
  }
  expect(maxAbs).toBeGreaterThan(1e-2); // not vacuous
}

describeOnBackends('memory-saving training paths', () => {
  const plain: TrainMemoryOptions = { recompute: false, logitChunk: 0, attnChunk: 0 };
  for (const tied of [true, false]) for (const lora of [false, true]) {
    it(`recomputation and the chunked masked head give the plain gradients (${tied ? 'tied' : 'separate'} head, ${lora ? 'LoRA' : 'full'})`, async () => {
      const cfg = { ...base, tiedEmbeddings: tied };
      const model = makeModel(cfg, lora);
      const b = batch(tied ? 1 : 2, 2, 6, cfg.vocabSize);
      const sft = (m: LlamaModel) => sftLoss(m, b as SftBatch);
      const grpo = (m: LlamaModel) => grpoLoss(m, b, { clipEps: 0.2 }).loss;
      for (const loss of [sft, grpo]) {
        const ref = await grads(model, plain, loss);
        expectSame(ref, await grads(model, { recompute: true, logitChunk: 0, attnChunk: 0 }, loss));
        expectSame(ref, await grads(model, { recompute: false, logitChunk: 4, attnChunk: 0 }, loss));
        expectSame(ref, await grads(model, { recompute: true, logitChunk: 3, attnChunk: 0 }, loss));
        // Attention chunked by query rows (2 chunks of a 6-token row; 1-row chunks), with and without recomputation.
        expectSame(ref, await grads(model, { recompute: false, logitChunk: 0, attnChunk: 4 }, loss));
        expectSame(ref, await grads(model, { recompute: true, logitChunk: 3, attnChunk: 1 }, loss));
      }
      // Every tensor made during the step is freed (recomputation restores the outer tape).
      await grads(model, { recompute: true, logitChunk: 3, attnChunk: 4 }, grpo); // warm the RoPE/mask caches
      const before = tf.memory().numTensors;
      await grads(model, { recompute: true, logitChunk: 3, attnChunk: 4 }, grpo);
      expect(tf.memory().numTensors).toBe(before);
    });
  }
});
