// Peak wasm memory of one GRPO update (forward+backward, then AdamW) of the default 135M model (full and LoRA r=8) at
// several sequence lengths, with and without the memory-saving paths (per-block recomputation,
// loss head on masked positions in chunks). Each configuration runs in a fresh child process, since
// the wasm heap only grows: its size after the step is the step's high-water mark.
//   npx tsx bench/learner/memory.ts [--lengths 256,512,1024,1536] [--modes full,lora]
//     [--variants before,after] [--agent 0.3] [--json FILE]
// variants: before (plain: all activations kept, whole logits), head (chunked masked head only),
// recompute (recomputation only), after (both; the default of training).
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend, tf } from '../../nn/backend/backend.ts';
import { loadGgufModel } from '../../nn/model/load-gguf.ts';
import { addLora, type TrainMemoryOptions } from '../../nn/model/llama.ts';
import { modelsDir } from '../../runtime/config/paths.ts';
import { computeGradients, grpoLoss, Optimizer } from '../../nn/train/step.ts';
import type { TokenBatch } from '../../nn/train/grpo.ts';
import { makeRng } from '../../nn/model/sample.ts';

const { values } = parseArgs({ options: {
  lengths: { type: 'string', default: '256,512,1024,1536' }, modes: { type: 'string', default: 'full,lora' },
  variants: { type: 'string', default: 'before,after' }, agent: { type: 'string', default: '0.3' },
  json: { type: 'string' }, one: { type: 'string' },
} });

const VARIANTS: Record<string, TrainMemoryOptions> = {
  before: { recompute: false, logitChunk: 0, attnChunk: 0 },
  head: { recompute: false, logitChunk: 256, attnChunk: 0 },
  recompute: { recompute: true, logitChunk: 0, attnChunk: 0 },
  after: { recompute: true, logitChunk: 256, attnChunk: 0 },
  // + attention chunked by query rows (the default since issue 13)
  chunked: { recompute: true, logitChunk: 256, attnChunk: 256 },
};
const MiB = 2 ** 20;

interface Result { // seconds: the whole update
  mode: string; T: number; variant: string; ok: boolean; error?: string; heapLoadedMiB: number; heapPeakMiB: number; tensorPeakMiB: number; seconds: number; maskedTokens: number }

/** Peak bytes of live tensor buffers (each data buffer once), by watching the engine's bookkeeping. */
function watchTensorBytes(): { peak: () => number; live: () => number } {
  type Info = { bytes: number };
  const eng = tf.engine() as unknown as { state: { tensorInfo: WeakMap<object, Info> }; trackTensor(a: { dataId: object; size: number; dtype: string }, b: unknown): void; removeDataId(id: object, b: unknown): void };
  let live = 0, peak = 0;
  live = tf.memory().numBytes; // at the start: the weights (no aliases yet)
  peak = live;
  const track = eng.trackTensor.bind(eng), remove = eng.removeDataId.bind(eng);
  eng.trackTensor = (a, b) => {
    const fresh = !eng.state.tensorInfo.has(a.dataId);
    track(a, b);
    if (fresh) { live += eng.state.tensorInfo.get(a.dataId)!.bytes; peak = Math.max(peak, live); }
  };
  eng.removeDataId = (id, b) => {
    const info = eng.state.tensorInfo.get(id);
    remove(id, b);
    if (info && !eng.state.tensorInfo.has(id)) live -= info.bytes;
  };
  return { peak: () => peak / MiB, live: () => live / MiB };
}

/** One configuration in this process: load, one GRPO forward+backward, report the heap. */
async function runOne(spec: string): Promise<Result> {
  const [mode, Ts, variant] = spec.split(':');
  const T = Number(Ts);
  await initBackend();
  const heap = () => ((tf.backend() as unknown as { wasm?: { HEAPU8: Uint8Array } }).wasm?.HEAPU8.buffer.byteLength ?? NaN) / MiB;
  const model = loadGgufModel(join(modelsDir(), 'SmolLM2-135M-Instruct.Q4_1.gguf'));
  if (mode === 'lora') addLora(model, 8, 16);
  model.train = VARIANTS[variant];
  const heapLoadedMiB = heap();
  // A dialogue-shaped rollout: the agent's replies are a fraction of the tokens, in a few spans.
  const r = makeRng(T);
  const V = model.config.vocabSize, frac = Number(values.agent);
  const period = Math.max(1, Math.round(1 / frac));
  const mask: number[] = Array.from({ length: T }, (_, t) => (Math.floor(t / 32) % period === period - 1 ? 1 : 0));
  const b: TokenBatch = {
    inputs: [Array.from({ length: T }, () => Math.floor(r() * V))], targets: [Array.from({ length: T }, () => Math.floor(r() * V))],
    mask: [mask], advantages: [mask.map((m) => (m ? 1 : 0))], oldLogProbs: [mask.map(() => NaN)],
  };
  const maskedTokens = mask.reduce((a, m) => a + m, 0);
  const watch = watchTensorBytes();
  const t0 = performance.now();
  try {
    // One whole update: gradients, then AdamW (its state lives outside the wasm heap).
    const opt = new Optimizer(model, { lr: 1e-5, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxGradNorm: 1 });
    const { grads } = await computeGradients(model, () => { const { loss, clipFrac } = grpoLoss(model, b, { clipEps: 0.4 }); return { loss, extras: { clipFrac } }; });
    await opt.step(grads);
    return { mode, T, variant, ok: true, heapLoadedMiB, heapPeakMiB: heap(), tensorPeakMiB: watch.peak(), seconds: (performance.now() - t0) / 1000, maskedTokens };
  } catch (e) {
    return { mode, T, variant, ok: false, error: (e as Error).message.slice(0, 80), heapLoadedMiB, heapPeakMiB: heap(), tensorPeakMiB: watch.peak(), seconds: (performance.now() - t0) / 1000, maskedTokens };
  }
}

if (values.one) {
  process.env.TROUPE_QUIET_BACKEND = '1';
  console.log(JSON.stringify(await runOne(values.one)));
  process.exit(0);
}

const results: Result[] = [];
for (const mode of values.modes!.split(',')) for (const T of values.lengths!.split(',').map(Number)) for (const variant of values.variants!.split(',')) {
  if (!VARIANTS[variant]) throw new Error(`unknown variant ${variant} (one of ${Object.keys(VARIANTS).join(', ')})`);
  const spec = `${mode}:${T}:${variant}`;
  let res: Result;
  try {
    const out = execFileSync(process.execPath, ['--import', 'tsx', 'bench/learner/memory.ts', '--one', spec, '--agent', values.agent!], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 900_000 });
    res = JSON.parse(out.trim().split('\n').pop()!) as Result;
  } catch (e) {
    res = { mode, T, variant, ok: false, error: `child failed: ${(e as Error).message.split('\n')[0].slice(0, 80)}`, heapLoadedMiB: NaN, heapPeakMiB: NaN, tensorPeakMiB: NaN, seconds: NaN, maskedTokens: NaN };
  }
  results.push(res);
  console.log(`[bench memory] ${mode} T=${T} ${variant}: ${res.ok ? `peak heap ${res.heapPeakMiB.toFixed(0)} MiB, tensors ${res.tensorPeakMiB.toFixed(0)} MiB (loaded ${res.heapLoadedMiB.toFixed(0)}), ${res.seconds.toFixed(1)} s` : `FAILED ${res.error} (heap ${res.heapPeakMiB.toFixed(0)} MiB)`}`);
}
console.log(`\n| model | seq | variant | wasm heap peak MiB | live tensors peak MiB | heap after load MiB | fwd+bwd s |\n|---|---|---|---|---|---|---|`);
for (const r of results) console.log(`| ${r.mode === 'lora' ? 'LoRA r=8' : 'full'} | ${r.T} | ${r.variant} | ${r.ok ? r.heapPeakMiB.toFixed(0) : `aborted (${r.error})`} | ${r.tensorPeakMiB.toFixed(0)} | ${r.heapLoadedMiB.toFixed(0)} | ${r.ok ? r.seconds.toFixed(1) : '—'} |`);
if (values.json) writeFileSync(values.json, JSON.stringify(results, null, 2));
