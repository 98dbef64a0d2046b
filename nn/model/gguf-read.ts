// A small GGUF reader: metadata key/values and tensor descriptors, plus random access to tensor
// bytes. We parse the file ourselves (rather than via @huggingface/gguf) because the learner needs
// exact byte offsets of every tensor to dequantize it, and the format is short to read.
//
// Layout (GGUF v2/v3, little endian):
//   magic "GGUF" | u32 version | u64 tensor_count | u64 kv_count
//   kv_count × { string key | u32 value_type | value }
//   tensor_count × { string name | u32 n_dims | u64 ne[n_dims] | u32 ggml_type | u64 offset }
//   padding to `general.alignment` (default 32) | tensor data (offsets relative to here)
// Strings are u64 length + UTF-8 bytes. ne[0] is the fastest-varying (innermost) dimension.
import { openSync, readSync, closeSync, fstatSync } from 'node:fs';

export const GGUF_VALUE = {
  UINT8: 0, INT8: 1, UINT16: 2, INT16: 3, UINT32: 4, INT32: 5, FLOAT32: 6, BOOL: 7, STRING: 8,
  ARRAY: 9, UINT64: 10, INT64: 11, FLOAT64: 12,
} as const;

export type GgufValue = number | bigint | boolean | string | GgufValue[];

export interface GgufTensorInfo {
  name: string;
  /** ggml dims, innermost first (ne[0] = row length). */
  ne: number[];
  /** ggml_type id (see ggml-quants.ts). */
  type: number;
  /** Absolute byte offset of the tensor's data in the file. */
  offset: number;
  /** Byte size of the tensor's data. */
  nbytes: number;
}

export interface GgufFile {
  path: string;
  version: number;
  metadata: Map<string, GgufValue>;
  /** Value type of each metadata key (and item type for arrays), to write it back unchanged. */
  metadataTypes: Map<string, { type: number; itemType?: number }>;
  tensors: Map<string, GgufTensorInfo>;
  dataOffset: number;
}

/** Reads the header of a GGUF file in chunks, growing the buffer as needed. */
class HeaderCursor {
  private buf = Buffer.alloc(0);
  private base = 0; // file offset of buf[0]
  pos = 0; // absolute file position
  constructor(private fd: number, private size: number) {}

  private ensure(n: number): void {
    const end = this.pos + n;
    if (end > this.size) throw new Error(`GGUF: unexpected end of file at byte ${this.pos}`);
    if (end <= this.base + this.buf.length) return;
    const want = Math.max(n, 1 << 20);
    const len = Math.min(want, this.size - this.pos);
    const b = Buffer.alloc(len);
    readSync(this.fd, b, 0, len, this.pos);
    this.buf = b;
    this.base = this.pos;
  }
  private view(n: number): Buffer {
    this.ensure(n);
    const s = this.pos - this.base;
    this.pos += n;
    return this.buf.subarray(s, s + n);
  }
  u8() { return this.view(1).readUInt8(0); }
  i8() { return this.view(1).readInt8(0); }
  u16() { return this.view(2).readUInt16LE(0); }
  i16() { return this.view(2).readInt16LE(0); }
  u32() { return this.view(4).readUInt32LE(0); }
  i32() { return this.view(4).readInt32LE(0); }
  f32() { return this.view(4).readFloatLE(0); }
  f64() { return this.view(8).readDoubleLE(0); }
  u64(): bigint { return this.view(8).readBigUInt64LE(0); }
  i64(): bigint { return this.view(8).readBigInt64LE(0); }
  /** u64 that must fit a JS number (counts, offsets). */
  size64(): number {
    const v = this.u64();
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`GGUF: size ${v} too large`);
    return Number(v);
  }
  str(): string {
    const n = this.size64();
    return this.view(n).toString('utf8');
  }
}

function readValue(c: HeaderCursor, type: number): GgufValue {
  switch (type) {
    case GGUF_VALUE.UINT8: return c.u8();
    case GGUF_VALUE.INT8: return c.i8();
    case GGUF_VALUE.UINT16: return c.u16();
    case GGUF_VALUE.INT16: return c.i16();
    case GGUF_VALUE.UINT32: return c.u32();
    case GGUF_VALUE.INT32: return c.i32();
    case GGUF_VALUE.FLOAT32: return c.f32();
    case GGUF_VALUE.BOOL: return c.u8() !== 0;
    case GGUF_VALUE.STRING: return c.str();
    case GGUF_VALUE.UINT64: return c.u64();
    case GGUF_VALUE.INT64: return c.i64();
    case GGUF_VALUE.FLOAT64: return c.f64();
    case GGUF_VALUE.ARRAY: {
      const itemType = c.u32();
      const n = c.size64();
      const out: GgufValue[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = readValue(c, itemType);
      return out;
    }
    default:
      throw new Error(`GGUF: unknown metadata value type ${type} at byte ${c.pos}`);
  }
}

/** Parses the header of a GGUF file (metadata and tensor table); tensor data is read on demand. */
export function readGguf(path: string): GgufFile {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const c = new HeaderCursor(fd, size);
    const magic = c.u32();
    if (magic !== 0x46554747) throw new Error(`${path}: not a GGUF file (bad magic)`);
    const version = c.u32();
    if (version < 2 || version > 3) throw new Error(`${path}: unsupported GGUF version ${version}`);
    const nTensors = c.size64();
    const nKv = c.size64();
    const metadata = new Map<string, GgufValue>();
    const metadataTypes = new Map<string, { type: number; itemType?: number }>();
    for (let i = 0; i < nKv; i++) {
      const key = c.str();
      const type = c.u32();
      if (type === GGUF_VALUE.ARRAY) {
        const save = c.pos;
        const itemType = c.u32();
        c.pos = save;
        metadataTypes.set(key, { type, itemType });
      } else metadataTypes.set(key, { type });
      metadata.set(key, readValue(c, type));
    }
    const raw: { name: string; ne: number[]; type: number; rel: number }[] = [];
    for (let i = 0; i < nTensors; i++) {
      const name = c.str();
      const nDims = c.u32();
      const ne: number[] = [];
      for (let d = 0; d < nDims; d++) ne.push(c.size64());
      const type = c.u32();
      const rel = c.size64();
      raw.push({ name, ne, type, rel });
    }
    const alignment = Number(metadata.get('general.alignment') ?? 32);
    const dataOffset = Math.ceil(c.pos / alignment) * alignment;
    const tensors = new Map<string, GgufTensorInfo>();
    for (const t of raw) {
      const nbytes = ggmlNbytes(t.type, t.ne);
      const offset = dataOffset + t.rel;
      if (offset + nbytes > size) throw new Error(`${path}: tensor ${t.name} runs past the end of the file`);
      tensors.set(t.name, { name: t.name, ne: t.ne, type: t.type, offset, nbytes });
    }
    return { path, version, metadata, metadataTypes, tensors, dataOffset };
  } finally {
    closeSync(fd);
  }
}

/** Reads the raw bytes of one tensor. */
export function readTensorBytes(file: GgufFile, name: string): Uint8Array {
  const t = file.tensors.get(name);
  if (!t) throw new Error(`${file.path}: no tensor named ${name}`);
  const fd = openSync(file.path, 'r');
  try {
    const b = Buffer.alloc(t.nbytes);
    readSync(fd, b, 0, t.nbytes, t.offset);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } finally {
    closeSync(fd);
  }
}

/** Block size (elements) and bytes per block of each ggml type we know. */
export const GGML_TYPE_LAYOUT: Record<number, { name: string; blockElems: number; blockBytes: number }> = {
  0: { name: 'F32', blockElems: 1, blockBytes: 4 },
  1: { name: 'F16', blockElems: 1, blockBytes: 2 },
  2: { name: 'Q4_0', blockElems: 32, blockBytes: 18 },
  3: { name: 'Q4_1', blockElems: 32, blockBytes: 20 },
  6: { name: 'Q5_0', blockElems: 32, blockBytes: 22 },
  7: { name: 'Q5_1', blockElems: 32, blockBytes: 24 },
  8: { name: 'Q8_0', blockElems: 32, blockBytes: 34 },
  10: { name: 'Q2_K', blockElems: 256, blockBytes: 84 },
  11: { name: 'Q3_K', blockElems: 256, blockBytes: 110 },
  12: { name: 'Q4_K', blockElems: 256, blockBytes: 144 },
  13: { name: 'Q5_K', blockElems: 256, blockBytes: 176 },
  14: { name: 'Q6_K', blockElems: 256, blockBytes: 210 },
  30: { name: 'BF16', blockElems: 1, blockBytes: 2 },
};

export function ggmlNbytes(type: number, ne: number[]): number {
  const layout = GGML_TYPE_LAYOUT[type];
  if (!layout) throw new Error(`GGUF: unsupported ggml tensor type ${type}`);
  const n = ne.reduce((a, b) => a * b, 1);
  if (n % layout.blockElems !== 0) throw new Error(`GGUF: ${n} elements is not a multiple of the ${layout.name} block`);
  return (n / layout.blockElems) * layout.blockBytes;
}

/** Metadata helpers: typed getters with clear errors. */
export function metaNumber(file: GgufFile, key: string, fallback?: number): number {
  const v = file.metadata.get(key);
  if (v === undefined) {
    if (fallback !== undefined) return fallback;
    throw new Error(`${file.path}: metadata key ${key} missing`);
  }
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  throw new Error(`${file.path}: metadata key ${key} is not a number`);
}

export function metaString(file: GgufFile, key: string): string | undefined {
  const v = file.metadata.get(key);
  return typeof v === 'string' ? v : undefined;
}
