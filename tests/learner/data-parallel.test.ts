// Data-parallel gradients over two worker threads equal the single-process token-mean gradient.
import { it, expect } from 'vitest';
import { describeOnBackends } from './backends.ts';
import { initParams, type LlamaConfig, type LlamaModel } from '../../nn/model/llama.ts';
import { makeRng } from '../../nn/model/sample.ts';
import { DataParallel } from '../../nn/train/data-parallel.ts';
import { computeGradients, sftLoss, type SftBatch } from '../../nn/train/step.ts';

const cfg: LlamaConfig = { vocabSize: 17, dim: 8, nLayers: 1, nHeads: 2, nKvHeads: 1, headDim: 4, ffnDim: 12, ropeBase: 10000, normEps: 1e-5, tiedEmbeddings: true, contextLength: 16 };

function batch(seed: number, B: number, T: number): SftBatch {
  const r = makeRng(seed);
  const rows = (f: () => number) => Array.from({ length: B }, () => Array.from({ length: T }, f));
  return { inputs: rows(() => Math.floor(r() * 17)), targets: rows(() => Math.floor(r() * 17)), mask: rows(() => (r() < 0.6 ? 1 : 0)) };
}

describeOnBackends('data parallel', (backend) => {
  it('two workers, on the main thread\'s backend, give the whole-batch token-mean gradient', async () => {
    const model: LlamaModel = { config: cfg, params: initParams(cfg, 9) };
    const dp = new DataParallel(model, { kind: 'random', config: cfg, seed: 9 }, 2);
    try {
      expect(await dp.workerBackends()).toEqual([backend, backend]);
      const parts = [batch(1, 2, 6), batch(2, 3, 6), batch(3, 1, 6)];
      const whole: SftBatch = { inputs: parts.flatMap((p) => p.inputs), targets: parts.flatMap((p) => p.targets), mask: parts.flatMap((p) => p.mask) };
      const ref = await computeGradients(model, () => ({ loss: sftLoss(model, whole) }));
      const got = await dp.gradients(parts.map((b) => ({ kind: 'sft' as const, batch: b })));
      expect(got.loss).toBeCloseTo(ref.loss, 5);
      let maxDiff = 0;
      for (const [n, g] of ref.grads) {
        const h = got.grads.get(n)!;
        for (let i = 0; i < g.length; i++) maxDiff = Math.max(maxDiff, Math.abs(g[i] - h[i]));
      }
      expect(maxDiff).toBeLessThan(1e-5);
    } finally {
      await dp.close();
    }
  }, 60_000);
});
