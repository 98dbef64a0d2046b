// Re-quantized exports: Q8_0 blocks as ggml's reference quantizer writes them, and a Q8_0 GGUF of a
// model with the default tokenizer that our reader and llama.cpp (the model server's engine) both load.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dequantize, f16ToF32, GGML_TYPE, quantizeQ8_0 } from '../../nn/model/ggml-quants.ts';
import { readGguf } from '../../nn/model/gguf-read.ts';
import { configFromGguf, loadGgufModel } from '../../nn/model/load-gguf.ts';
import { disposeModel, forward, initParams, type LlamaModel } from '../../nn/model/llama.ts';
import { exportGguf } from '../../nn/model/export.ts';
import { initBackend, tf } from '../../nn/backend/backend.ts';
import { ModelInstance } from '../../llm/server/engine.ts';
import { defaultModelFile } from '../helpers/model.ts';

const dir = mkdtempSync(join(tmpdir(), 'troupe-q8-'));
beforeAll(async () => { await initBackend(); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('Q8_0 quantizer', () => {
  it('d = max|x|/127 as f16, q = round(x/d); dequantized values are within d/2', () => {
    const x = new Float32Array(64);
    for (let i = 0; i < 32; i++) x[i] = (i - 16) * 0.37;
    // second block all zeros: d = 0, q = 0
    const q = quantizeQ8_0(x);
    expect(q.length).toBe(2 * 34);
    const dv = new DataView(q.buffer);
    const d = f16ToF32(dv.getUint16(0, true));
    expect(d).toBeCloseTo((16 * 0.37) / 127, 4);
    expect(dv.getInt8(2)).toBe(-127); // the largest magnitude maps to ±127
    expect(dv.getUint16(34, true)).toBe(0);
    const back = dequantize(GGML_TYPE.Q8_0, q, 64);
    for (let i = 0; i < 64; i++) expect(Math.abs(back[i] - x[i])).toBeLessThanOrEqual(d / 2 + 1e-3);
    expect(() => quantizeQ8_0(new Float32Array(31))).toThrow(/multiple of 32/);
  });
});

describe('Q8_0 GGUF export', () => {
  it('quantizes the 2-D weights, reads back close to float32, and llama.cpp serves it', async () => {
    const source = readGguf(defaultModelFile());
    const cfg = { ...configFromGguf(source), dim: 32, nLayers: 1, nHeads: 2, nKvHeads: 1, headDim: 16, ffnDim: 64, contextLength: 256, tiedEmbeddings: true };
    const model: LlamaModel = { config: cfg, params: initParams(cfg, 3) };
    const q8 = join(dir, 'tiny.q8_0.gguf');
    const f16 = join(dir, 'tiny.f16.gguf');
    exportGguf(model, q8, { dtype: 'Q8_0', source });
    exportGguf(model, f16, { dtype: 'F16', source });
    const file = readGguf(q8);
    const types = new Map([...file.tensors.values()].map((t) => [t.name, t.type]));
    expect(types.get('token_embd.weight')).toBe(GGML_TYPE.Q8_0);
    expect(types.get('blk.0.attn_q.weight')).toBe(GGML_TYPE.Q8_0);
    expect(types.get('blk.0.attn_norm.weight')).toBe(GGML_TYPE.F32);
    expect(file.metadata.get('general.file_type')).toBe(7);
    const weightBytes = (p: string) => [...readGguf(p).tensors.values()].reduce((n, t) => n + t.nbytes, 0);
    expect(weightBytes(q8)).toBeLessThan(weightBytes(f16) * 0.6); // 34 bytes per 32 values vs 64
    expect(statSync(q8).size).toBeLessThan(statSync(f16).size);

    const back = loadGgufModel(q8);
    const ids = tf.tensor2d([[1, 9690, 198, 504, 2, 198]], [1, 6], 'int32');
    const ref = forward(model, ids).arraySync() as number[][];
    const got = forward(back, ids).arraySync() as number[][];
    let maxRef = 0, maxDiff = 0;
    ref.forEach((r, i) => r.forEach((v, j) => { maxRef = Math.max(maxRef, Math.abs(v)); maxDiff = Math.max(maxDiff, Math.abs(got[i][j] - v)); }));
    console.log(`[q8_0 export] max |Δ logit| ${maxDiff.toExponential(2)} of max |logit| ${maxRef.toExponential(2)}`);
    expect(maxDiff).toBeLessThan(0.02 * maxRef);
    disposeModel(back);

    const inst = await ModelInstance.load(q8, { parallel: 1, contextSize: 256, threads: 1 });
    try {
      const out = await inst.generate({ prompt: '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n', maxTokens: 4, temperature: 0 });
      expect(out.completionTokens).toBeGreaterThan(0);
      expect(out.promptTokens).toBeGreaterThan(5);
    } finally {
      await inst.dispose();
    }
  }, 60_000);
});
