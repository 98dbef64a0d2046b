// The learner's backends: the native CPU backend (tfjs-node, the default) and wasm give the same
// loss and gradients on a tiny random Llama; a forced backend that cannot start is an error; the
// run report names the backend and how it was chosen.
import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { activeBackend, initBackend, parseBackendName, tf, useBackend } from '../../nn/backend/backend.ts';
import type { LlamaConfig, LlamaModel } from '../../nn/model/llama.ts';
import { computeGradients, grpoLoss, sftLoss, type SftBatch } from '../../nn/train/step.ts';
import type { TokenBatch } from '../../nn/train/grpo.ts';
import { makeRng } from '../../nn/model/sample.ts';
import { parseTrainConfig } from '../../actors/learner/config.ts';
import { runTraining } from '../../cli/drivers/train/train-run.ts';
import { tinyLlama } from '../fixtures/tiny-llama.ts';
import { main as trainMain } from '../../cli/commands/train.ts';

const cfg: LlamaConfig = { vocabSize: 29, dim: 16, nLayers: 2, nHeads: 4, nKvHeads: 2, headDim: 4, ffnDim: 24, ropeBase: 10000, normEps: 1e-5, tiedEmbeddings: true, contextLength: 32 };
const dir = mkdtempSync(join(tmpdir(), 'troupe-backends-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const makeModel = (lora: boolean): LlamaModel => tinyLlama(cfg, lora);

function batch(seed: number, B: number, T: number): TokenBatch {
  const r = makeRng(seed);
  const rows = (f: () => number) => Array.from({ length: B }, () => Array.from({ length: T }, f));
  const mask = rows(() => (r() < 0.7 ? 1 : 0));
  return {
    inputs: rows(() => Math.floor(r() * cfg.vocabSize)), targets: rows(() => Math.floor(r() * cfg.vocabSize)), mask,
    advantages: mask.map((row) => row.map((m) => (m ? r() * 2 - 1 : 0))),
    oldLogProbs: mask.map((row) => row.map(() => (r() < 0.5 ? -2 - 2 * r() : NaN))),
  };
}

describe('native and wasm backends', () => {
  for (const lora of [false, true]) {
    it(`give the same loss and gradients (SFT and GRPO losses, recomputation and chunked head, ${lora ? 'LoRA' : 'full'})`, async () => {
      await useBackend('tensorflow');
      const model = makeModel(lora);
      model.train = { recompute: true, logitChunk: 8 };
      const b = batch(lora ? 2 : 1, 2, 12);
      const losses = [(m: LlamaModel) => sftLoss(m, b as SftBatch), (m: LlamaModel) => grpoLoss(m, b, { clipEps: 0.2 }).loss];
      const run = async () => { const out = []; for (const loss of losses) out.push(await computeGradients(model, () => ({ loss: loss(model) }))); return out; };
      const native = await run();
      await useBackend('wasm');
      expect(activeBackend()).toBe('wasm');
      const wasm = await run();
      for (let k = 0; k < losses.length; k++) {
        const a = native[k], w = wasm[k];
        expect(Number.isFinite(a.loss)).toBe(true);
        expect(Math.abs(a.loss - w.loss)).toBeLessThan(1e-5 * (1 + Math.abs(a.loss)));
        let maxAbs = 0, maxDiff = 0;
        for (const [n, ga] of a.grads) {
          const gw = w.grads.get(n)!;
          expect(gw.length, n).toBe(ga.length);
          for (let i = 0; i < ga.length; i++) {
            maxAbs = Math.max(maxAbs, Math.abs(ga[i]));
            maxDiff = Math.max(maxDiff, Math.abs(ga[i] - gw[i]));
            expect(Math.abs(ga[i] - gw[i]), `${n}[${i}]`).toBeLessThan(2e-5 + 1e-3 * Math.abs(ga[i]));
          }
        }
        expect(maxAbs).toBeGreaterThan(1e-2); // not vacuous
        expect(maxDiff / maxAbs).toBeLessThan(2e-5); // measured ~1e-6
      }
      for (const v of [...model.params.values()]) v.dispose();
    });
  }
});

describe('backend choice', () => {
  it('a forced backend that cannot start is an error with the reason, not a fallback', async () => {
    await useBackend('tensorflow');
    // Both native packages register "tensorflow": once the CPU one is loaded the GPU one cannot be.
    await expect(initBackend('tensorflow-gpu')).rejects.toThrow(/backend "tensorflow-gpu" was asked for .* cannot start: @tensorflow\/tfjs-node is already loaded/);
    expect(() => parseBackendName('webgl', 'TROUPE_TF_BACKEND')).toThrow(/TROUPE_TF_BACKEND: unknown TensorFlow.js backend "webgl"/);
    expect(await trainMain(['grpo', '--backend', 'gpu'])).toBe(2);
  });

  it('train.backend forces the backend of a run, and the report says so (and where AdamW ran)', async () => {
    const out = join(dir, 'run');
    for (const backend of ['wasm', 'tensorflow'] as const) {
      const r = await runTraining('grpo', parseTrainConfig(`[train]\nsteps = 1\nbackend = "${backend}"\n[grpo]\ngroupsPerStep = 1\nmaxAttempts = 2\n[output]\ndir = "${out}-${backend}"\nexport = []\n`, 'b.toml'), { quiet: true });
      expect(r.summary).toMatchObject({ backend, backendForced: true, optimizer: backend === 'wasm' ? 'host' : 'device' });
      expect(activeBackend()).toBe(backend);
      expect(readFileSync(r.report, 'utf8')).toContain(`| backend | ${backend} |`);
    }
  });
});
