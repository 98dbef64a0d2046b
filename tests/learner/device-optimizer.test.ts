// AdamW on the device (moments as tf.Variables, gradients summed with tf ops) against the host path
// (Float32Array master copy, adamwStep): same weights after 3 steps with clipping and weight decay,
// full and LoRA, on the plain cpu backend and on native TensorFlow; no tensor leaks per step;
// a checkpoint saved on one path resumes on the other with the same continuation.
import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf, useBackend } from '../../nn/backend/backend.ts';
import { trainableVariables, type LlamaConfig, type LlamaModel } from '../../nn/model/llama.ts';
import { tinyLlama } from '../fixtures/tiny-llama.ts';
import { makeRng } from '../../nn/model/sample.ts';
import { optimizerPlacement, type AdamWOptions, type OptimizerPlacement } from '../../nn/train/adamw.ts';
import { loadCheckpoint, saveCheckpoint } from '../../nn/train/checkpoint.ts';
import { batchGradients, Optimizer, type BatchLoss, type SeqRow } from '../../nn/train/step.ts';

const cfg: LlamaConfig = { vocabSize: 29, dim: 16, nLayers: 2, nHeads: 4, nKvHeads: 2, headDim: 4, ffnDim: 24, ropeBase: 10000, normEps: 1e-5, tiedEmbeddings: true, contextLength: 64 };
// Clipping active (the gradient norm is well above 0.05) and decoupled weight decay on.
const adam: AdamWOptions = { lr: 3e-3, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.1, maxGradNorm: 0.05 };
const dir = mkdtempSync(join(tmpdir(), 'troupe-devopt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const makeModel = (lora: boolean): LlamaModel => tinyLlama(cfg, lora);

/** Four rows sharing 6 untrained tokens (one shared-prefix pass), varied suffixes; a step's batch per seed. */
function rowsFor(seed: number): SeqRow[] {
  const r = makeRng(seed);
  const shared = Array.from({ length: 6 }, () => Math.floor(r() * cfg.vocabSize));
  return [5, 9, 7, 4].map((n, k) => {
    const tokens = [...shared, ...Array.from({ length: n }, () => Math.floor(r() * cfg.vocabSize))];
    return { tokens, mask: tokens.map((_, i) => (i > 6 && r() < 0.8 ? 1 : 0)), advantage: k - 1.5 };
  });
}

const losses: BatchLoss[] = [{ kind: 'sft' }, { kind: 'grpo', surrogate: { clipEps: 0.2 } }];

async function trainSteps(model: LlamaModel, opt: Optimizer, from: number, to: number): Promise<number[]> {
  const norms: number[] = [];
  for (let s = from; s < to; s++) {
    const r = await batchGradients(model, rowsFor(s), losses[s % 2], { microBatch: 2, padId: 0, sharePrefix: 4, onDevice: opt.onDevice });
    norms.push(await opt.step(r.grads));
  }
  return norms;
}

async function weights(model: LlamaModel): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const [n, v] of trainableVariables(model)) out.set(n, (await v.data()) as Float32Array);
  return out;
}

/** Max |a − b| over all entries, relative to the largest |a|. */
function relDiff(a: Map<string, Float32Array>, b: Map<string, Float32Array>): number {
  let maxAbs = 0, maxDiff = 0;
  for (const [n, x] of a) {
    const y = b.get(n)!;
    for (let i = 0; i < x.length; i++) { maxAbs = Math.max(maxAbs, Math.abs(x[i])); maxDiff = Math.max(maxDiff, Math.abs(x[i] - y[i])); }
  }
  return maxDiff / maxAbs;
}

async function run(lora: boolean, placement: OptimizerPlacement, steps = 3) {
  const model = makeModel(lora);
  const start = await weights(model);
  const opt = new Optimizer(model, adam, undefined, placement);
  const norms = await trainSteps(model, opt, 0, steps);
  return { model, opt, start, norms, end: await weights(model) };
}

describe('optimizerPlacement', () => {
  it('keeps wasm and data parallelism on the host, everything else on the device', () => {
    expect(optimizerPlacement('wasm', false).placement).toBe('host');
    expect(optimizerPlacement('tensorflow', true).placement).toBe('host');
    for (const b of ['tensorflow', 'tensorflow-gpu', 'webgpu', 'cpu']) expect(optimizerPlacement(b, false).placement).toBe('device');
  });
});

for (const backend of ['cpu', 'tensorflow'] as const) {
  describe(`AdamW on the device vs the host (${backend} backend)`, () => {
    for (const lora of [false, true]) {
      it(`gives the same weights after 3 steps, clipping and weight decay on (${lora ? 'LoRA' : 'full'})`, async () => {
        await useBackend(backend);
        const host = await run(lora, 'host');
        const dev = await run(lora, 'device');
        for (const n of host.norms) expect(n).toBeGreaterThan(adam.maxGradNorm); // clipping acted
        for (let i = 0; i < 3; i++) expect(Math.abs(dev.norms[i] - host.norms[i])).toBeLessThan(1e-5 * host.norms[i]);
        expect(relDiff(host.end, dev.end)).toBeLessThan(1e-5);
        // The updates themselves (not just the weights) agree.
        const delta = (a: Map<string, Float32Array>, b: Map<string, Float32Array>) => new Map([...a].map(([n, x]) => [n, x.map((v, i) => v - b.get(n)![i])]));
        expect(relDiff(delta(host.end, host.start), delta(dev.end, dev.start))).toBeLessThan(1e-3);
        expect(relDiff(host.end, host.start)).toBeGreaterThan(1e-4); // the steps moved the weights
        dev.opt.dispose();
      });
    }

    it('leaks no tensor per step (gradients accumulated and applied on the device)', async () => {
      await useBackend(backend);
      const model = makeModel(true);
      const opt = new Optimizer(model, adam, undefined, 'device');
      const nVars = trainableVariables(model).size;
      let before = tf.memory().numTensors;
      await trainSteps(model, opt, 0, 1);
      expect(tf.memory().numTensors - before).toBe(2 * nVars); // the moments, created on the first step
      before = tf.memory().numTensors;
      await trainSteps(model, opt, 1, 4);
      expect(tf.memory().numTensors).toBe(before);
      opt.dispose();
      expect(tf.memory().numTensors).toBe(before - 2 * nVars);
    });

    for (const [save, load] of [['host', 'device'], ['device', 'host']] as const) {
      it(`resumes a ${save} checkpoint on the ${load} path with the same continuation`, async () => {
        await useBackend(backend);
        const straight = await run(false, save, 4);
        const first = await run(false, save, 2);
        const ck = join(dir, `${backend}-${save}`);
        saveCheckpoint(ck, first.model, await first.opt.checkpointState(), { mode: 'sft', step: 2, policyVersion: 0 });
        const resumed = makeModel(false);
        const { state, adam: st } = loadCheckpoint(ck, resumed, 'sft');
        expect(state.adamStep).toBe(2);
        const opt = new Optimizer(resumed, adam, st, load);
        await trainSteps(resumed, opt, 2, 4);
        expect(relDiff(straight.end, await weights(resumed))).toBeLessThan(1e-5);
        for (const o of [straight.opt, first.opt, opt]) o.dispose();
      });
    }
  });
}
