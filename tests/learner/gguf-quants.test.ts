// GGML dequantizers against hand-built blocks, and the GGUF reader on the default model's header.
import { defaultModelFile } from '../helpers/model.ts';
import { describe, it, expect } from 'vitest';

import { dequantize, f16ToF32, f32ToF16, GGML_TYPE } from '../../nn/model/ggml-quants.ts';
import { readGguf, GGML_TYPE_LAYOUT } from '../../nn/model/gguf-read.ts';
import { configFromGguf } from '../../nn/model/load-gguf.ts';

const f16 = (x: number) => { const b = new Uint8Array(2); new DataView(b.buffer).setUint16(0, f32ToF16(x), true); return [...b]; };

describe('half floats', () => {
  it('round-trips representable values and rounds others to nearest', () => {
    for (const x of [0, 1, -2, 0.5, 65504, 6.103515625e-5, 5.960464477539063e-8, -0.0999755859375]) expect(f16ToF32(f32ToF16(x))).toBe(x);
    expect(f16ToF32(f32ToF16(0.1))).toBeCloseTo(0.1, 3);
    expect(f16ToF32(0x7c00)).toBe(Infinity);
    expect(f16ToF32(f32ToF16(1e6))).toBe(Infinity);
  });
});

describe('dequantize', () => {
  const nibbles = Array.from({ length: 16 }, (_, i) => (i & 0xf) | ((15 - i) << 4));
  it('Q8_0: d·q', () => {
    const q = Array.from({ length: 32 }, (_, i) => i - 16);
    const out = dequantize(GGML_TYPE.Q8_0, new Uint8Array([...f16(0.5), ...q.map((x) => x & 0xff)]), 32);
    q.forEach((x, i) => expect(out[i]).toBe(0.5 * x));
  });
  it('Q4_0: d·(nibble − 8), low nibbles first', () => {
    const out = dequantize(GGML_TYPE.Q4_0, new Uint8Array([...f16(2), ...nibbles]), 32);
    for (let i = 0; i < 16; i++) {
      expect(out[i]).toBe(2 * (i - 8));
      expect(out[i + 16]).toBe(2 * (15 - i - 8));
    }
  });
  it('Q4_1: d·nibble + m', () => {
    const out = dequantize(GGML_TYPE.Q4_1, new Uint8Array([...f16(0.25), ...f16(-1), ...nibbles]), 32);
    for (let i = 0; i < 16; i++) {
      expect(out[i]).toBe(0.25 * i - 1);
      expect(out[i + 16]).toBe(0.25 * (15 - i) - 1);
    }
  });
  it('F16 and F32', () => {
    expect([...dequantize(GGML_TYPE.F16, new Uint8Array([...f16(1.5), ...f16(-3)]), 2)]).toEqual([1.5, -3]);
    expect([...dequantize(GGML_TYPE.F32, new Uint8Array(new Float32Array([0.1, 7]).buffer), 2)]).toEqual([Math.fround(0.1), 7]);
  });
  it('Q4_K: 6-bit scales and mins, including the high bits of sub-blocks 4..7', () => {
    const scales = [1 | 0x40, 2, 3, 4, 0, 1, 0, 2 | 0x80, 0x15, 0x26, 0x07, 0x38];
    // sub-block s: (scale, min)
    const sm = [[1, 0], [2, 1], [3, 0], [4, 2], [5 | 16, 1], [6, 2], [7, 0], [8, 3 | 32]];
    const qs = Array.from({ length: 128 }, (_, i) => (i * 7) & 0xff);
    const out = dequantize(GGML_TYPE.Q4_K, new Uint8Array([...f16(0.5), ...f16(0.25), ...scales, ...qs]), 256);
    for (let e = 0; e < 256; e++) {
      const s = e >> 5;
      const byte = qs[(s >> 1) * 32 + (e & 31)];
      const nib = s % 2 === 0 ? byte & 0xf : byte >> 4;
      expect(out[e]).toBeCloseTo(0.5 * sm[s][0] * nib - 0.25 * sm[s][1], 6);
    }
  });
  it('Q6_K: 4 low bits from ql, 2 high bits from qh, signed 8-bit scales', () => {
    const ql = Array.from({ length: 128 }, (_, i) => (i * 13 + 5) & 0xff);
    const qh = Array.from({ length: 64 }, (_, i) => (i * 29 + 3) & 0xff);
    const sc = Array.from({ length: 16 }, (_, i) => i - 8);
    const out = dequantize(GGML_TYPE.Q6_K, new Uint8Array([...ql, ...qh, ...sc.map((x) => x & 0xff), ...f16(0.125)]), 256);
    for (let e = 0; e < 256; e++) {
      const h = e >> 7, w = e & 127, qd = w >> 5, l = w & 31;
      const lo = ql[h * 64 + l + (qd & 1) * 32];
      const low4 = qd < 2 ? lo & 0xf : lo >> 4;
      const hi2 = (qh[h * 32 + l] >> (2 * qd)) & 3;
      const scale = sc[h * 8 + (l >> 4) + 2 * qd];
      expect(out[e]).toBeCloseTo(0.125 * scale * ((low4 | (hi2 << 4)) - 32), 6);
    }
  });
  it('rejects unknown types and short data', () => {
    expect(() => dequantize(99, new Uint8Array(4), 1)).toThrow(/unsupported/);
    expect(() => dequantize(GGML_TYPE.Q4_1, new Uint8Array(10), 32)).toThrow(/too short/);
  });
});

const modelPath = defaultModelFile();
describe('GGUF reader on the default model', () => {
  it('reads the Llama configuration and tensor table', () => {
    const f = readGguf(modelPath);
    expect(configFromGguf(f)).toMatchObject({ vocabSize: 49152, dim: 576, nLayers: 30, nHeads: 9, nKvHeads: 3, headDim: 64, ffnDim: 1536, ropeBase: 100000, tiedEmbeddings: true });
    const types = new Set([...f.tensors.values()].map((t) => GGML_TYPE_LAYOUT[t.type].name));
    expect([...types].sort()).toEqual(['F32', 'Q4_1', 'Q8_0']);
    expect(f.tensors.get('blk.0.ffn_down.weight')!.ne).toEqual([1536, 576]);
    expect(typeof f.metadata.get('tokenizer.chat_template')).toBe('string');
  });
});
