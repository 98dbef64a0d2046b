// The TF.js Llama forward pass on the default GGUF model agrees with node-llama-cpp (the model
// server's runtime) on the same tokens. llama.cpp multiplies with the quantized weights (Q4_1 / Q8_0
// against Q8 activations) while we dequantize to float32, so logits differ slightly; we report
// top-1 agreement and differences and bound them. The same model, exported by us as an F16 GGUF,
// must load in node-llama-cpp and produce our greedy tokens (done here to load the model once).
import { defaultModelFile } from '../helpers/model.ts';
import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getLlama, type Llama, type LlamaModel as NlcModel, type ControlledEvaluateInputItem, type Token } from 'node-llama-cpp';
import { initBackend, tf } from '../../nn/backend/backend.ts';
import { loadGgufModel } from '../../nn/model/load-gguf.ts';
import { readGguf } from '../../nn/model/gguf-read.ts';
import { exportGguf } from '../../nn/model/export.ts';
import { forward, disposeModel } from '../../nn/model/llama.ts';

const modelPath = defaultModelFile();

describe('default model logits vs node-llama-cpp', () => {
  let llama: Llama | undefined;
  let nlc: NlcModel | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'troupe-logits-'));
  afterAll(async () => {
    await nlc?.dispose();
    await llama?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('agrees on the next-token distribution for a short chat prompt', async () => {
    await initBackend();
    llama = await getLlama({ gpu: false, build: 'never' });
    nlc = await llama.loadModel({ modelPath });
    const tokens = [...nlc.tokenize('<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n', true)];
    const ctx = await nlc.createContext({ contextSize: 128 });
    const seq = ctx.getSequence();
    const ref = await seq.controlledEvaluate(tokens.map((t): ControlledEvaluateInputItem => [t, { generateNext: { probabilities: true } }]));
    await ctx.dispose();

    const model = loadGgufModel(modelPath);
    const lp = tf.tidy(() => tf.logSoftmax(forward(model, tf.tensor2d([tokens], [1, tokens.length], 'int32'))));
    const rows = (await lp.array()) as number[][];
    lp.dispose();
    const out16 = join(dir, 'smol-f16.gguf');
    exportGguf(model, out16, { dtype: 'F16', source: readGguf(modelPath) });
    disposeModel(model);

    let agree = 0;
    let maxTopDiff = 0; // |log p| difference at llama.cpp's top-1 token
    let sumTopDiff = 0;
    let maxTop5Diff = 0;
    for (let i = 0; i < tokens.length; i++) {
      const probs = ref[i]!.next.probabilities!;
      const entries = [...probs.entries()].slice(0, 5);
      const top = entries[0][0];
      const row = rows[i];
      let am = 0;
      for (let j = 1; j < row.length; j++) if (row[j] > row[am]) am = j;
      if (am === top) agree++;
      const d = Math.abs(Math.log(entries[0][1]) - row[top]);
      maxTopDiff = Math.max(maxTopDiff, d);
      sumTopDiff += d;
      for (const [tok, p] of entries) maxTop5Diff = Math.max(maxTop5Diff, Math.abs(Math.log(p) - row[tok]));
    }
    const report = { tokens: tokens.length, top1Agreement: agree / tokens.length, maxTop1LogProbDiff: maxTopDiff, meanTop1LogProbDiff: sumTopDiff / tokens.length, maxTop5LogProbDiff: maxTop5Diff };
    console.log('[logits agreement]', JSON.stringify(report));
    expect(report.top1Agreement).toBeGreaterThanOrEqual(0.75);
    expect(report.meanTop1LogProbDiff).toBeLessThan(0.1);
    expect(report.maxTop1LogProbDiff).toBeLessThan(0.5);
    expect(report.maxTop5LogProbDiff).toBeLessThan(1.0);

    // Our F16 export, run by node-llama-cpp, picks the same greedy tokens as our float32 model.
    const ours = rows.map((row) => row.indexOf(Math.max(...row)));
    const exported = await llama.loadModel({ modelPath: out16 });
    const ctx16 = await exported.createContext({ contextSize: 64 });
    const res = await ctx16.getSequence().controlledEvaluate(tokens.map((t): ControlledEvaluateInputItem => [t as Token, { generateNext: { token: true, options: { temperature: 0 } } }]));
    const theirs = res.map((r) => r?.next.token);
    await ctx16.dispose();
    await exported.dispose();
    const exportAgree = theirs.filter((t, i) => t === ours[i]).length / tokens.length;
    console.log(`[gguf export] node-llama-cpp greedy next tokens on our F16 export agree with our float32 model on ${(exportAgree * 100).toFixed(0)}% of ${tokens.length} positions`);
    expect(exportAgree).toBeGreaterThanOrEqual(0.85);
  }, 420_000);
});
