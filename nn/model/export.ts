// Writing weights out: safetensors (F32) and GGUF (F32, F16 or Q8_0 weights; norms stay F32 as ggml
// expects), plus reading our own safetensors back for checkpoints. GGUF metadata is copied from the
// source GGUF when there is one (tokenizer and chat template included, so node-llama-cpp can load
// the file), else synthesized from the config.
import { closeSync, openSync, readFileSync, writeSync, renameSync } from 'node:fs';
import { tf } from '../backend/backend.ts';
import { GGUF_VALUE, type GgufFile, type GgufValue } from './gguf-read.ts';
import { f32ToF16, GGML_TYPE, quantizeQ8_0 } from './ggml-quants.ts';
import { mergeLora, type LlamaConfig, type LlamaModel } from './llama.ts';

// ---------------------------------------------------------------- safetensors
// Layout: u64 header length | JSON header {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__} | data.

export function writeSafetensors(path: string, tensors: Map<string, { data: Float32Array; shape: number[] }>, metadata: Record<string, string> = {}): void {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let off = 0;
  for (const [name, t] of tensors) {
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [off, off + t.data.byteLength] };
    off += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const hb = Buffer.from(json, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(hb.length));
  const tmp = path + '.tmp';
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, len);
    writeSync(fd, hb);
    for (const t of tensors.values()) writeSync(fd, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path); // a checkpoint is either complete or absent
}

export function readSafetensors(path: string): { tensors: Map<string, { data: Float32Array; shape: number[] }>; metadata: Record<string, string> } {
  const buf = readFileSync(path);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const base = 8 + n;
  const tensors = new Map<string, { data: Float32Array; shape: number[] }>();
  let metadata: Record<string, string> = {};
  for (const [name, h] of Object.entries(header)) {
    if (name === '__metadata__') { metadata = h as unknown as Record<string, string>; continue; }
    if (h.dtype !== 'F32') throw new Error(`${path}: tensor ${name} has dtype ${h.dtype}; only F32 is supported`);
    const bytes = buf.subarray(base + h.data_offsets[0], base + h.data_offsets[1]);
    const data = new Float32Array(bytes.byteLength / 4);
    new Uint8Array(data.buffer).set(bytes);
    tensors.set(name, { data, shape: h.shape });
  }
  return { tensors, metadata };
}

/** The model's parameters as float32 arrays in our layout (LoRA merged into a copy if present). */
export function modelTensors(model: LlamaModel): Map<string, { data: Float32Array; shape: number[] }> {
  const out = new Map<string, { data: Float32Array; shape: number[] }>();
  for (const [name, v] of model.params) {
    let data = v.dataSync() as Float32Array;
    const ad = model.lora?.get(name);
    if (ad) data = tf.tidy(() => tf.add(v, tf.mul(tf.matMul(ad.a, ad.b), ad.scale)).dataSync() as Float32Array);
    out.set(name, { data: data.slice(), shape: v.shape });
  }
  return out;
}

export function saveModelSafetensors(model: LlamaModel, path: string): void {
  writeSafetensors(path, modelTensors(model), { format: 'troupe-llama', config: JSON.stringify(model.config), layout: 'linear weights [in,out]' });
}

/** Loads weights saved by saveModelSafetensors into an existing model (same config). */
export function loadModelSafetensors(model: LlamaModel, path: string): void {
  const { tensors } = readSafetensors(path);
  for (const [name, v] of model.params) {
    const t = tensors.get(name);
    if (!t) throw new Error(`${path}: missing tensor ${name}`);
    if (t.data.length !== v.size) throw new Error(`${path}: tensor ${name} has ${t.data.length} values, model expects ${v.size}`);
    v.assign(tf.tensor(t.data, v.shape));
  }
}

// ---------------------------------------------------------------- GGUF

class Writer {
  chunks: Buffer[] = [];
  size = 0;
  push(b: Buffer) { this.chunks.push(b); this.size += b.length; }
  u32(v: number) { const b = Buffer.alloc(4); b.writeUInt32LE(v); this.push(b); }
  i32(v: number) { const b = Buffer.alloc(4); b.writeInt32LE(v); this.push(b); }
  f32(v: number) { const b = Buffer.alloc(4); b.writeFloatLE(v); this.push(b); }
  u64(v: number | bigint) { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); this.push(b); }
  str(s: string) { const b = Buffer.from(s, 'utf8'); this.u64(b.length); this.push(b); }
  value(type: number, v: GgufValue, itemType?: number) {
    switch (type) {
      case GGUF_VALUE.UINT8: { const b = Buffer.alloc(1); b.writeUInt8(Number(v)); this.push(b); return; }
      case GGUF_VALUE.INT8: { const b = Buffer.alloc(1); b.writeInt8(Number(v)); this.push(b); return; }
      case GGUF_VALUE.UINT16: { const b = Buffer.alloc(2); b.writeUInt16LE(Number(v)); this.push(b); return; }
      case GGUF_VALUE.INT16: { const b = Buffer.alloc(2); b.writeInt16LE(Number(v)); this.push(b); return; }
      case GGUF_VALUE.UINT32: return this.u32(Number(v));
      case GGUF_VALUE.INT32: return this.i32(Number(v));
      case GGUF_VALUE.FLOAT32: return this.f32(Number(v));
      case GGUF_VALUE.BOOL: { const b = Buffer.alloc(1); b.writeUInt8(v ? 1 : 0); this.push(b); return; }
      case GGUF_VALUE.STRING: return this.str(String(v));
      case GGUF_VALUE.UINT64: return this.u64(typeof v === 'bigint' ? v : BigInt(Number(v)));
      case GGUF_VALUE.INT64: { const b = Buffer.alloc(8); b.writeBigInt64LE(typeof v === 'bigint' ? v : BigInt(Number(v))); this.push(b); return; }
      case GGUF_VALUE.FLOAT64: { const b = Buffer.alloc(8); b.writeDoubleLE(Number(v)); this.push(b); return; }
      case GGUF_VALUE.ARRAY: {
        const arr = v as GgufValue[];
        if (itemType === undefined) throw new Error('GGUF writer: array without item type');
        this.u32(itemType);
        this.u64(arr.length);
        for (const x of arr) this.value(itemType, x);
        return;
      }
      default: throw new Error(`GGUF writer: unknown value type ${type}`);
    }
  }
}

type Kv = { key: string; type: number; itemType?: number; value: GgufValue };

function synthesizedMetadata(c: LlamaConfig, name: string): Kv[] {
  const U = GGUF_VALUE.UINT32, F = GGUF_VALUE.FLOAT32;
  return [
    { key: 'general.architecture', type: GGUF_VALUE.STRING, value: 'llama' },
    { key: 'general.name', type: GGUF_VALUE.STRING, value: name },
    { key: 'llama.block_count', type: U, value: c.nLayers },
    { key: 'llama.context_length', type: U, value: c.contextLength },
    { key: 'llama.embedding_length', type: U, value: c.dim },
    { key: 'llama.feed_forward_length', type: U, value: c.ffnDim },
    { key: 'llama.attention.head_count', type: U, value: c.nHeads },
    { key: 'llama.attention.head_count_kv', type: U, value: c.nKvHeads },
    { key: 'llama.rope.freq_base', type: F, value: c.ropeBase },
    { key: 'llama.rope.dimension_count', type: U, value: c.headDim },
    { key: 'llama.attention.layer_norm_rms_epsilon', type: F, value: c.normEps },
    { key: 'llama.vocab_size', type: U, value: c.vocabSize },
  ];
}

export interface GgufExportOptions {
  /**
   * Weight type for 2-D tensors. Q8_0 (as llama.cpp's quantizer writes it) applies to matrices whose
   * rows hold a multiple of 32 values; others are written F16.
   */
  dtype: 'F32' | 'F16' | 'Q8_0';
  /** Copy metadata (tokenizer, chat template, …) from this GGUF. */
  source?: GgufFile;
  name?: string;
}

/** Writes the model as GGUF (v3). LoRA adapters are merged into the written weights. */
export function exportGguf(model: LlamaModel, path: string, opts: GgufExportOptions): void {
  const c = model.config;
  const tensors = modelTensors(model);
  let kvs: Kv[];
  if (opts.source) {
    kvs = [...opts.source.metadata].map(([key, value]) => ({ key, value, ...opts.source!.metadataTypes.get(key)! }));
    // The shape keys follow the exported model, not the source (a model.random run borrows only the tokenizer).
    const shape = synthesizedMetadata(c, opts.name ?? 'troupe-learner').filter((k) => k.key.startsWith('llama.'));
    kvs = [...kvs.filter((k) => !shape.some((s) => s.key === k.key)), ...shape];
  } else {
    kvs = synthesizedMetadata(c, opts.name ?? 'troupe-learner');
  }
  const fileType = opts.dtype === 'Q8_0' ? 7 : opts.dtype === 'F16' ? 1 : 0; // LLAMA_FTYPE_MOSTLY_Q8_0 / MOSTLY_F16 / ALL_F32
  kvs = kvs.filter((k) => k.key !== 'general.file_type' && k.key !== 'general.alignment');
  kvs.push({ key: 'general.file_type', type: GGUF_VALUE.UINT32, value: fileType });
  const alignment = 32;

  // Tensor table: ggml order ne = [in, out] for linear weights (we store [in, out] → transpose).
  const entries: { name: string; ne: number[]; type: number; bytes: Buffer }[] = [];
  for (const [name, t] of tensors) {
    let data = t.data;
    let ne: number[];
    if (t.shape.length === 1) ne = [t.shape[0]];
    else if (name === 'token_embd.weight') ne = [t.shape[1], t.shape[0]];
    else {
      const [din, dout] = t.shape;
      const tr = new Float32Array(data.length);
      for (let i = 0; i < din; i++) for (let o = 0; o < dout; o++) tr[o * din + i] = data[i * dout + o];
      data = tr;
      ne = [din, dout];
    }
    const q8 = opts.dtype === 'Q8_0' && ne.length === 2 && ne[0] % 32 === 0;
    const half = !q8 && opts.dtype !== 'F32' && ne.length === 2;
    let bytes: Buffer;
    if (q8) {
      const q = quantizeQ8_0(data);
      bytes = Buffer.from(q.buffer, q.byteOffset, q.byteLength);
    } else if (half) {
      const h = new Uint16Array(data.length);
      for (let i = 0; i < data.length; i++) h[i] = f32ToF16(data[i]);
      bytes = Buffer.from(h.buffer, h.byteOffset, h.byteLength);
    } else bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    entries.push({ name, ne, type: q8 ? GGML_TYPE.Q8_0 : half ? GGML_TYPE.F16 : GGML_TYPE.F32, bytes });
  }

  const w = new Writer();
  w.u32(0x46554747);
  w.u32(3);
  w.u64(entries.length);
  w.u64(kvs.length);
  for (const k of kvs) { w.str(k.key); w.u32(k.type); w.value(k.type, k.value, k.itemType); }
  let off = 0;
  for (const e of entries) {
    w.str(e.name);
    w.u32(e.ne.length);
    for (const d of e.ne) w.u64(d);
    w.u32(e.type);
    w.u64(off);
    off += Math.ceil(e.bytes.length / alignment) * alignment;
  }
  const pad = (n: number) => Buffer.alloc((alignment - (n % alignment)) % alignment);
  const tmp = path + '.tmp';
  const fd = openSync(tmp, 'w');
  try {
    for (const ch of w.chunks) writeSync(fd, ch);
    writeSync(fd, pad(w.size));
    for (const e of entries) { writeSync(fd, e.bytes); writeSync(fd, pad(e.bytes.length)); }
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

export { mergeLora };
