// Dequantizers for the ggml tensor types the learner reads, written from the GGML block layouts.
// Every quantized type stores a row as consecutive blocks; each block decodes independently.
//
//   type   elems bytes  layout (in order)                                  value
//   F32      1     4    f32                                                x
//   F16      1     2    f16                                                x
//   BF16     1     2    upper 16 bits of an f32                            x
//   Q8_0    32    34    f16 d | i8 q[32]                                   d·q[i]
//   Q4_0    32    18    f16 d | u8 qs[16]                                  d·(nib−8); low nibbles are
//                                                                          elements 0..15, high 16..31
//   Q4_1    32    20    f16 d | f16 m | u8 qs[16]                          d·nib + m (nibbles as Q4_0)
//   Q4_K   256   144    f16 d | f16 dmin | u8 scales[12] | u8 qs[128]      8 sub-blocks of 32, each with
//        a 6-bit scale sc and 6-bit min mn packed in `scales` (see scaleMinK4); element = d·sc·nib − dmin·mn.
//        qs holds 4 chunks of 32 bytes; chunk c gives sub-block 2c (low nibbles) and 2c+1 (high).
//   Q6_K   256   210    u8 ql[128] | u8 qh[64] | i8 scales[16] | f16 d     16 sub-blocks of 16, each
//        with an 8-bit signed scale; element = d·scale·(q6 − 32), q6 = 4 low bits from ql and 2 high
//        bits from qh (two halves of 128 elements; see dequantQ6K for the bit positions).
import { GGML_TYPE_LAYOUT } from './gguf-read.ts';

export const GGML_TYPE = { F32: 0, F16: 1, Q4_0: 2, Q4_1: 3, Q8_0: 8, Q4_K: 12, Q6_K: 14, BF16: 30 } as const;

const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);

/** IEEE half → float. */
export function f16ToF32(h: number): number {
  const s = (h & 0x8000) >> 15;
  const e = (h & 0x7c00) >> 10;
  const f = h & 0x03ff;
  let v: number;
  if (e === 0) v = f * 2 ** -24; // subnormal
  else if (e === 0x1f) v = f ? NaN : Infinity;
  else v = (1 + f / 1024) * 2 ** (e - 15);
  return s ? -v : v;
}

/** Float → IEEE half, round to nearest even. */
export function f32ToF16(val: number): number {
  f32buf[0] = val;
  const x = u32buf[0];
  const sign = (x >>> 16) & 0x8000;
  let exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  exp = exp - 127 + 15;
  if (exp >= 0x1f) return sign | 0x7c00;
  if (exp <= 0) {
    if (exp < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - exp;
    let half = mant >> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && (half & 1))) half++;
    return sign | half;
  }
  let half = sign | (exp << 10) | (mant >> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1))) half++;
  return half;
}

function scaleMinK4(j: number, q: Uint8Array, o: number): [number, number] {
  if (j < 4) return [q[o + j] & 63, q[o + j + 4] & 63];
  return [(q[o + j + 4] & 0xf) | ((q[o + j - 4] >> 6) << 4), (q[o + j + 4] >> 4) | ((q[o + j] >> 6) << 4)];
}

/** Dequantizes `n` elements of ggml type `type` from `src` into a new Float32Array. */
export function dequantize(type: number, src: Uint8Array, n: number): Float32Array {
  const layout = GGML_TYPE_LAYOUT[type];
  if (!layout) throw new Error(`dequantize: unsupported ggml type ${type}`);
  const nBlocks = n / layout.blockElems;
  if (!Number.isInteger(nBlocks)) throw new Error(`dequantize: ${n} is not a multiple of the ${layout.name} block`);
  if (src.byteLength < nBlocks * layout.blockBytes) throw new Error(`dequantize: ${layout.name} data too short`);
  const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const out = new Float32Array(n);
  const h = (off: number) => f16ToF32(dv.getUint16(off, true));
  switch (type) {
    case GGML_TYPE.F32:
      for (let i = 0; i < n; i++) out[i] = dv.getFloat32(i * 4, true);
      return out;
    case GGML_TYPE.F16:
      for (let i = 0; i < n; i++) out[i] = h(i * 2);
      return out;
    case GGML_TYPE.BF16:
      for (let i = 0; i < n; i++) {
        u32buf[0] = dv.getUint16(i * 2, true) << 16;
        out[i] = f32buf[0];
      }
      return out;
    case GGML_TYPE.Q8_0:
      for (let b = 0; b < nBlocks; b++) {
        const o = b * 34;
        const d = h(o);
        for (let i = 0; i < 32; i++) out[b * 32 + i] = d * dv.getInt8(o + 2 + i);
      }
      return out;
    case GGML_TYPE.Q4_0:
      for (let b = 0; b < nBlocks; b++) {
        const o = b * 18;
        const d = h(o);
        for (let i = 0; i < 16; i++) {
          const q = src[o + 2 + i];
          out[b * 32 + i] = d * ((q & 0xf) - 8);
          out[b * 32 + i + 16] = d * ((q >> 4) - 8);
        }
      }
      return out;
    case GGML_TYPE.Q4_1:
      for (let b = 0; b < nBlocks; b++) {
        const o = b * 20;
        const d = h(o);
        const m = h(o + 2);
        for (let i = 0; i < 16; i++) {
          const q = src[o + 4 + i];
          out[b * 32 + i] = d * (q & 0xf) + m;
          out[b * 32 + i + 16] = d * (q >> 4) + m;
        }
      }
      return out;
    case GGML_TYPE.Q4_K:
      for (let b = 0; b < nBlocks; b++) {
        const o = b * 144;
        const d = h(o);
        const dmin = h(o + 2);
        const sc = o + 4;
        let q = o + 16;
        let y = b * 256;
        for (let c = 0; c < 4; c++) {
          const [s1, m1] = scaleMinK4(2 * c, src, sc);
          const [s2, m2] = scaleMinK4(2 * c + 1, src, sc);
          const d1 = d * s1, mm1 = dmin * m1, d2 = d * s2, mm2 = dmin * m2;
          for (let l = 0; l < 32; l++) out[y + l] = d1 * (src[q + l] & 0xf) - mm1;
          for (let l = 0; l < 32; l++) out[y + 32 + l] = d2 * (src[q + l] >> 4) - mm2;
          q += 32;
          y += 64;
        }
      }
      return out;
    case GGML_TYPE.Q6_K:
      for (let b = 0; b < nBlocks; b++) {
        const o = b * 210;
        const d = h(o + 208);
        let ql = o, qh = o + 128, sc = o + 192, y = b * 256;
        for (let half = 0; half < 2; half++) {
          for (let l = 0; l < 32; l++) {
            const is = l >> 4;
            const q1 = ((src[ql + l] & 0xf) | (((src[qh + l] >> 0) & 3) << 4)) - 32;
            const q2 = ((src[ql + l + 32] & 0xf) | (((src[qh + l] >> 2) & 3) << 4)) - 32;
            const q3 = ((src[ql + l] >> 4) | (((src[qh + l] >> 4) & 3) << 4)) - 32;
            const q4 = ((src[ql + l + 32] >> 4) | (((src[qh + l] >> 6) & 3) << 4)) - 32;
            out[y + l] = d * dv.getInt8(sc + is) * q1;
            out[y + l + 32] = d * dv.getInt8(sc + is + 2) * q2;
            out[y + l + 64] = d * dv.getInt8(sc + is + 4) * q3;
            out[y + l + 96] = d * dv.getInt8(sc + is + 6) * q4;
          }
          y += 128; ql += 64; qh += 32; sc += 8;
        }
      }
      return out;
    default:
      throw new Error(`dequantize: no dequantizer for ${layout.name}`);
  }
}

/**
 * float32 → Q8_0 blocks (ggml's reference quantizer): per 32 values d = max|x| / 127 stored as f16,
 * q[i] = round(x[i] / d) as int8. `n` must be a multiple of 32.
 */
export function quantizeQ8_0(x: Float32Array): Uint8Array {
  if (x.length % 32) throw new Error(`Q8_0 needs a multiple of 32 values, got ${x.length}`);
  const nb = x.length / 32;
  const out = new Uint8Array(nb * 34);
  const dv = new DataView(out.buffer);
  for (let b = 0; b < nb; b++) {
    let amax = 0;
    for (let i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(x[b * 32 + i]));
    const d = amax / 127;
    const id = d ? 1 / d : 0;
    dv.setUint16(b * 34, f32ToF16(d), true);
    for (let i = 0; i < 32; i++) dv.setInt8(b * 34 + 2 + i, Math.round(x[b * 32 + i] * id));
  }
  return out;
}
