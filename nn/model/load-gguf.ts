// Builds a LlamaModel from a GGUF file: configuration from the metadata, weights dequantized to
// float32 (see ggml-quants.ts for the supported types) and transposed to our [in, out] layout.
import { tf } from '../backend/backend.ts';
import { readGguf, readTensorBytes, metaNumber, metaString, type GgufFile } from './gguf-read.ts';
import { dequantize } from './ggml-quants.ts';
import type { LlamaConfig, LlamaModel, Params } from './llama.ts';

export function configFromGguf(file: GgufFile): LlamaConfig {
  const arch = metaString(file, 'general.architecture');
  if (arch !== 'llama') throw new Error(`${file.path}: architecture "${arch}" is not supported (only llama)`);
  const a = (k: string, fb?: number) => metaNumber(file, `llama.${k}`, fb);
  const dim = a('embedding_length');
  const nHeads = a('attention.head_count');
  const embd = file.tensors.get('token_embd.weight');
  if (!embd) throw new Error(`${file.path}: no token_embd.weight tensor`);
  const vocabSize = embd.ne[1];
  return {
    vocabSize,
    dim,
    nLayers: a('block_count'),
    nHeads,
    nKvHeads: a('attention.head_count_kv', nHeads),
    headDim: a('rope.dimension_count', dim / nHeads),
    ffnDim: a('feed_forward_length'),
    ropeBase: a('rope.freq_base', 10000),
    normEps: a('attention.layer_norm_rms_epsilon', 1e-5),
    tiedEmbeddings: !file.tensors.has('output.weight'),
    contextLength: a('context_length', 2048),
  };
}

/** Float32 data of one GGUF tensor in ggml order (row-major with ne[0] innermost). */
export function ggufTensorF32(file: GgufFile, name: string): { data: Float32Array; ne: number[] } {
  const t = file.tensors.get(name);
  if (!t) throw new Error(`${file.path}: no tensor ${name}`);
  const n = t.ne.reduce((x, y) => x * y, 1);
  return { data: dequantize(t.type, readTensorBytes(file, name), n), ne: t.ne };
}

export function loadGgufModel(path: string, onProgress?: (done: number, total: number) => void): LlamaModel {
  const file = readGguf(path);
  const config = configFromGguf(file);
  const params: Params = new Map();
  const names = [...file.tensors.keys()].filter((n) => n !== 'rope_freqs.weight');
  let done = 0;
  for (const name of names) {
    const { data, ne } = ggufTensorF32(file, name);
    let t: tf.Tensor;
    if (ne.length === 1) t = tf.tensor1d(data);
    else if (name === 'token_embd.weight') t = tf.tensor2d(data, [ne[1], ne[0]]);
    else {
      // GGUF linear: ne = [in, out] → out rows of length in. Ours: [in, out].
      t = tf.tidy(() => tf.transpose(tf.tensor2d(data, [ne[1], ne[0]])));
    }
    params.set(name, tf.variable(t, true));
    t.dispose();
    onProgress?.(++done, names.length);
  }
  return { config, params };
}
