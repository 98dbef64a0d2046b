// bench/gpu: throughput of one learner update (forward + backward + AdamW) of a 135M Llama
// (SmolLM2-135M's architecture, random weights: throughput does not depend on the values) on the
// TF.js WebGPU backend (Dawn through the npm `webgpu` package), or on cpu / wasm for reference.
// Bundled by bench/gpu/build.sh into one .mjs; bench/gpu/run.sh runs it on a GPU machine with no
// Node and no network. Run here (CPU) through the bundle or with tsx:
//   npx tsx bench/gpu/gpubench.ts --backend cpu --tiny
//
// Structure: the parent process prints diagnostics and runs every stage in a child process of its
// own (probe, correctness check, one child per mode × length) with a hard timeout, so a stage that
// hangs, runs out of memory or loses the device is reported and the next one still runs.
//
// What is the learner's code (bench/gpu/entry.ts): the model (nn/model/llama.ts + ops.ts), the
// losses (grpoLoss / sftLoss in nn/train/step.ts), LoRA, adamwStep. What is mirrored here:
// computeGradients and Optimizer (step.ts) read tensors with dataSync(), which the WebGPU backend
// cannot do in Node (its readSync goes through OffscreenCanvas); `phasedStep` below is the same
// sequence with `await data()`, timed per phase. The tiny check proves it equal to the learner's
// own computeGradients + Optimizer on the cpu backend (max |Δ| printed).
import { parseArgs } from 'node:util';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as os from 'node:os';
import {
  tf, addLora, computeGradients, grpoLoss, initParams, Optimizer, paramCount, sftLoss, trainableVariables, adamwStep, newAdamWState,
  makeRng, paramShapes, DEFAULT_LOGIT_CHUNK, RECOMPUTE_AUTO_TOKENS,
  type LlamaConfig, type LlamaModel, type AdamWOptions, type AdamWState, type TokenBatch, type SftBatch,
} from './entry.ts';

// SmolLM2-135M (GGUF metadata llama.*; checked in tests/learner/gguf-quants.test.ts).
const SMOLLM2_135M: LlamaConfig = { vocabSize: 49152, dim: 576, nLayers: 30, nHeads: 9, nKvHeads: 3, headDim: 64, ffnDim: 1536, ropeBase: 100000, normEps: 1e-5, tiedEmbeddings: true, contextLength: 8192 };
// Small enough for the cpu backend in a second, same structure (GQA 3:1, tied head).
const TINY: LlamaConfig = { vocabSize: 512, dim: 48, nLayers: 2, nHeads: 3, nKvHeads: 1, headDim: 16, ffnDim: 96, ropeBase: 10000, normEps: 1e-5, tiedEmbeddings: true, contextLength: 256 };
const ADAMW: AdamWOptions = { lr: 1e-5, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxGradNorm: 1 };
const LORA = { rank: 8, alpha: 16 };

const here = typeof __filename === 'string' ? dirname(__filename) : dirname(fileURLToPath(import.meta.url));
const { values: A } = parseArgs({ options: {
  backend: { type: 'string', default: 'webgpu' },
  dawn: { type: 'string' }, 'wasm-dir': { type: 'string' },
  lengths: { type: 'string', default: '1024,4096,8192' }, modes: { type: 'string', default: 'full,lora' },
  task: { type: 'string', default: 'grpo' }, agent: { type: 'string', default: '0.3' },
  steps: { type: 'string', default: '2' }, recompute: { type: 'string', default: 'auto' }, 'logit-chunk': { type: 'string' },
  tiny: { type: 'boolean', default: false }, check: { type: 'string', default: 'yes' },
  'stage-timeout': { type: 'string', default: '100' }, deadline: { type: 'string', default: '330' },
  force: { type: 'boolean', default: false }, json: { type: 'string' },
  one: { type: 'string' }, probe: { type: 'boolean', default: false }, 'do-check': { type: 'boolean', default: false },
} });
const BACKEND = A.backend!;
if (!['cpu', 'wasm', 'webgpu'].includes(BACKEND)) { console.error(`--backend must be cpu, wasm or webgpu (got ${BACKEND})`); process.exit(2); }
const MiB = 2 ** 20, GiB = 2 ** 30;
const log = (s: string) => console.error(`[gpubench ${new Date().toISOString().slice(11, 19)}] ${s}`);
const fmtErr = (e: unknown) => (e instanceof Error ? `${e.name}: ${e.message}` : String(e)).split('\n').slice(0, 3).join(' | ').slice(0, 400);

// ---------------------------------------------------------------- backends
// The few WebGPU shapes used here (the repo's tsconfig does not load @webgpu/types).
interface GpuDevice { addEventListener?(type: string, f: (ev: unknown) => void): void; lost?: Promise<{ reason: string; message: string }> }
interface GpuAdapter { limits: unknown; features: Set<string>; info?: Record<string, unknown>; requestDevice(d: { requiredFeatures: string[]; requiredLimits: Record<string, number> }): Promise<GpuDevice> }
interface Gpu { requestAdapter(o?: { powerPreference?: string }): Promise<GpuAdapter | null> }
interface GpuInfo { adapter: Record<string, unknown>; limits: Record<string, number>; features: string[] }
interface GpuErrors { count: number; first: string[]; lost?: string }
const gpuErrors: GpuErrors = { count: 0, first: [] };
let gpuInfo: GpuInfo | undefined;

function dawnPath(): string {
  const cands = [A.dawn, process.env.DAWN_NODE, join(here, 'dawn.node')].filter(Boolean) as string[];
  const p = cands.find((c) => existsSync(c));
  if (!p) throw new Error(`dawn.node not found (tried ${cands.join(', ')}); pass --dawn PATH or DAWN_NODE`);
  return p;
}

/** Loads Dawn, asks for an adapter, registers the 'webgpu' backend with the adapter's full limits. */
async function initWebGpu(): Promise<void> {
  const req = createRequire(import.meta.url);
  const p = dawnPath();
  let dawn: { create: (flags: string[]) => Gpu; globals: Record<string, unknown> };
  try { dawn = req(p); } catch (e) { throw new Error(`loading ${p} failed: ${fmtErr(e)}`); }
  Object.assign(globalThis, dawn.globals);
  const flags = (process.env.DAWN_FLAGS ?? '').split(/\s+/).filter(Boolean);
  const gpu = dawn.create(flags);
  const g = globalThis as unknown as { navigator?: { gpu?: Gpu } };
  if (!g.navigator) Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  else { try { g.navigator.gpu = gpu; } catch { Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true }); } }
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('WebGPU: no adapter (Dawn found no usable Vulkan device: is libvulkan.so.1 on LD_LIBRARY_PATH and VK_DRIVER_FILES / VK_ICD_FILENAMES pointing at nvidia_icd.json? On CPU-only machines this is expected)');
  const lim: Record<string, number> = {};
  for (const k of ['maxBufferSize', 'maxStorageBufferBindingSize', 'maxComputeWorkgroupStorageSize', 'maxComputeWorkgroupsPerDimension', 'maxComputeWorkgroupSizeX', 'maxComputeInvocationsPerWorkgroup', 'maxStorageBuffersPerShaderStage']) {
    lim[k] = Number((adapter.limits as unknown as Record<string, number>)[k]);
  }
  const info = adapter.info ?? {};
  const adapterInfo: Record<string, unknown> = {};
  for (const k of ['vendor', 'architecture', 'device', 'description', 'backendType', 'adapterType', 'driverDescription']) if ((info as Record<string, unknown>)[k] !== undefined) adapterInfo[k] = (info as Record<string, unknown>)[k];
  gpuInfo = { adapter: adapterInfo, limits: lim, features: [...adapter.features].map(String).sort() };
  const wg = await import('@tensorflow/tfjs-backend-webgpu');
  // The package registers its own factory when navigator.gpu exists at import: ours replaces it
  // (the same device request, plus error reporting).
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', async () => {
    const requiredFeatures: string[] = [];
    if (adapter.features.has('timestamp-query')) requiredFeatures.push('timestamp-query');
    const requiredLimits: Record<string, number> = {};
    for (const k of ['maxComputeWorkgroupStorageSize', 'maxComputeWorkgroupsPerDimension', 'maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupSizeX', 'maxComputeInvocationsPerWorkgroup']) if (Number.isFinite(lim[k])) requiredLimits[k] = lim[k];
    const device = await adapter.requestDevice({ requiredFeatures, requiredLimits });
    const onError = (ev: unknown) => {
      gpuErrors.count++;
      const msg = String((ev as { error?: { message?: string } }).error?.message ?? ev);
      if (gpuErrors.first.length < 3) { gpuErrors.first.push(msg.slice(0, 300)); log(`GPU error: ${msg.slice(0, 300)}`); }
    };
    try {
      if (typeof device.addEventListener === 'function') device.addEventListener('uncapturederror', onError);
      else (device as { onuncapturederror?: unknown }).onuncapturederror = onError;
    } catch (e) { log(`cannot watch GPU errors: ${fmtErr(e)}`); }
    try { void device.lost?.then((l: { reason: string; message: string }) => { gpuErrors.lost = `${l.reason}: ${l.message}`; log(`GPU device lost: ${gpuErrors.lost}`); }); } catch { /* no lost promise */ }
    return new wg.WebGPUBackend(device, info) as unknown as tf.KernelBackend;
  }, 3);
  if (!(await tf.setBackend('webgpu'))) throw new Error('tf.setBackend("webgpu") returned false');
  await tf.ready();
}

async function initBackendNamed(name: string): Promise<void> {
  if (name === 'webgpu') return initWebGpu();
  if (name === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const dir = A['wasm-dir'] ?? (existsSync(join(here, 'tfjs-backend-wasm-simd.wasm')) ? here : join(here, '../../node_modules/@tensorflow/tfjs-backend-wasm/dist'));
    wasm.setWasmPaths(resolve(dir) + '/');
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    if (!(await tf.setBackend('wasm'))) throw new Error('tf.setBackend("wasm") returned false');
  } else if (!(await tf.setBackend('cpu'))) throw new Error('tf.setBackend("cpu") returned false');
  await tf.ready();
}

// ---------------------------------------------------------------- model and data
/** Random weights fast (the learner's initParams draws 135M gaussians through seedrandom: slow). */
function fastRandomModel(c: LlamaConfig, seed: number): LlamaModel {
  const r = makeRng(seed);
  const params = new Map<string, tf.Variable>();
  const a = 0.02 * Math.sqrt(3); // uniform with std 0.02
  for (const [name, shape] of paramShapes(c)) {
    const n = shape.reduce((x, y) => x * y, 1);
    const d = new Float32Array(n);
    if (name.endsWith('norm.weight')) d.fill(1); else for (let i = 0; i < n; i++) d[i] = (2 * r() - 1) * a;
    const t = tf.tensor(d, shape, 'float32');
    params.set(name, tf.variable(t, true));
    t.dispose();
  }
  return { config: c, params };
}

function makeModel(c: LlamaConfig, mode: string, seed: number, learnerInit: boolean): LlamaModel {
  const model = learnerInit ? { config: c, params: initParams(c, seed) } : fastRandomModel(c, seed);
  if (mode === 'lora') addLora(model, LORA.rank, LORA.alpha);
  const rc = A.recompute!;
  model.train = {
    recompute: rc === 'auto' ? 'auto' : rc === 'on' || rc === 'true',
    logitChunk: A['logit-chunk'] !== undefined ? Number(A['logit-chunk']) : undefined,
  };
  return model;
}

/** A dialogue-shaped GRPO batch (agent tokens in spans of 32, 4 on short test sequences; a fraction `agent` of them), as bench/learner/memory.ts. */
function makeGrpoBatch(T: number, V: number, seed: number): TokenBatch {
  const r = makeRng(seed);
  const period = Math.max(1, Math.round(1 / Number(A.agent)));
  const span = T >= 512 ? 32 : 4;
  const mask = Array.from({ length: T }, (_, t) => (Math.floor(t / span) % period === period - 1 ? 1 : 0));
  return {
    inputs: [Array.from({ length: T }, () => Math.floor(r() * V))], targets: [Array.from({ length: T }, () => Math.floor(r() * V))],
    mask: [mask], advantages: [mask.map((m, i) => (m ? (i % 3) - 1 + 0.5 : 0))], oldLogProbs: [mask.map(() => NaN)],
  };
}
function makeSftBatch(T: number, V: number, seed: number): SftBatch {
  const b = makeGrpoBatch(T, V, seed);
  return { inputs: b.inputs, targets: b.targets, mask: b.mask };
}
type LossFn = () => { loss: tf.Scalar; extras?: Record<string, tf.Scalar> };
function lossFnFor(model: LlamaModel, T: number, seed: number, task = A.task): { fn: LossFn; lossTokens: number } {
  if (task === 'sft') {
    const b = makeSftBatch(T, model.config.vocabSize, seed);
    return { fn: () => ({ loss: sftLoss(model, b) }), lossTokens: b.mask[0].reduce((x, y) => x + y, 0) };
  }
  const b = makeGrpoBatch(T, model.config.vocabSize, seed);
  return { fn: () => { const { loss, clipFrac } = grpoLoss(model, b, { clipEps: 0.4 }); return { loss, extras: { clipFrac } }; }, lossTokens: b.mask[0].reduce((x, y) => x + y, 0) };
}

// ---------------------------------------------------------------- the step, phased
/** step.ts's Optimizer with async reads: float32 master copy outside the backend, the learner's adamwStep. */
class AsyncOptimizer {
  readonly state: AdamWState = newAdamWState();
  private master = new Map<string, Float32Array>();
  constructor(private model: LlamaModel, private opts: AdamWOptions) {}
  async refresh(): Promise<void> {
    this.master.clear();
    for (const [n, v] of trainableVariables(this.model)) this.master.set(n, (await v.data() as Float32Array).slice());
  }
  update(grads: Map<string, Float32Array>): number { return adamwStep(this.master, grads, this.state, this.opts); }
  assign(): void {
    const vars = trainableVariables(this.model);
    for (const [n, p] of this.master) { const v = vars.get(n)!; tf.tidy(() => v.assign(tf.tensor(p, v.shape, 'float32'))); }
  }
}

interface Phases { encode: number; fwdBwd: number; readGrads: number; adamw: number; assign: number; total: number }
interface StepOut { loss: number; gradNorm: number; grads: Map<string, Float32Array>; phases: Phases; extras: Record<string, number> }

/**
 * computeGradients + Optimizer.step of nn/train/step.ts, phase by phase:
 * encode (tf.variableGrads builds and queues every kernel), fwdBwd (until the loss can be read: the
 * GPU queue runs in order, so the gradients are done too), readGrads (gradients to the host, as the
 * learner does), adamw (the learner's adamwStep on the host), assign (variables ← master copy; the
 * upload itself happens at the next use, i.e. inside the next step's fwdBwd).
 */
async function phasedStep(model: LlamaModel, lossFn: LossFn, opt: AsyncOptimizer): Promise<StepOut> {
  const vars = trainableVariables(model);
  const names = [...vars.keys()];
  const t0 = performance.now();
  let extrasT: Record<string, tf.Scalar> = {};
  const { value, grads } = tf.variableGrads(() => {
    const r = lossFn();
    extrasT = {};
    for (const [k, v] of Object.entries(r.extras ?? {})) extrasT[k] = tf.keep(v);
    return r.loss;
  }, names.map((n) => vars.get(n)!));
  const t1 = performance.now();
  const loss = (await value.data())[0];
  const t2 = performance.now();
  const out = new Map<string, Float32Array>();
  const arrays = await Promise.all(names.map((n) => grads[vars.get(n)!.name]?.data()));
  names.forEach((n, i) => out.set(n, arrays[i] ? (arrays[i] as Float32Array).slice() : new Float32Array(vars.get(n)!.size)));
  const extras: Record<string, number> = {};
  for (const [k, v] of Object.entries(extrasT)) { extras[k] = (await v.data())[0]; v.dispose(); }
  value.dispose();
  tf.dispose(Object.values(grads));
  const t3 = performance.now();
  const gradNorm = opt.update(out);
  const t4 = performance.now();
  opt.assign();
  const t5 = performance.now();
  const s = (a: number, b: number) => (b - a) / 1000;
  return { loss, gradNorm, grads: out, extras, phases: { encode: s(t0, t1), fwdBwd: s(t1, t2), readGrads: s(t2, t3), adamw: s(t3, t4), assign: s(t4, t5), total: s(t0, t5) } };
}

/** Peak bytes of live tensor buffers (each data buffer once), as bench/learner/memory.ts. */
function watchTensorBytes(): { peak: () => number; reset: () => void } {
  type Info = { bytes: number };
  const eng = tf.engine() as unknown as { state: { tensorInfo: WeakMap<object, Info> }; trackTensor(a: { dataId: object }, b: unknown): void; removeDataId(id: object, b: unknown): void };
  let live = tf.memory().numBytes, peak = live;
  const track = eng.trackTensor.bind(eng), remove = eng.removeDataId.bind(eng);
  eng.trackTensor = (a, b) => {
    const fresh = !eng.state.tensorInfo.has(a.dataId);
    track(a, b);
    if (fresh) { live += eng.state.tensorInfo.get(a.dataId)?.bytes ?? 0; peak = Math.max(peak, live); }
  };
  eng.removeDataId = (id, b) => {
    const info = eng.state.tensorInfo.get(id);
    remove(id, b);
    if (info && !eng.state.tensorInfo.has(id)) live -= info.bytes;
  };
  return { peak: () => peak, reset: () => { peak = live; } };
}

// ---------------------------------------------------------------- child stages
interface OneResult {
  mode: string; T: number; ok: boolean; error?: string; skipped?: string; backend: string; task: string;
  params: number; trainable: number; lossTokens: number; recompute: boolean; logitChunk: number;
  initSeconds?: number; warmupSeconds?: number; forwardSeconds?: number; steps?: Phases[]; best?: Phases; bestIsWarmup?: boolean;
  tokensPerSec?: number; modelGflops?: number; loss?: number; gradNorm?: number;
  peakTensorGiB?: number; gpuAllocatedGiB?: number; peakRssGiB?: number; gpuErrors?: GpuErrors; largestTensorGiB: number;
}

/** The largest single tensor of a step: the attention scores of one block, [B·Hk, g·T, T] float32. */
const largestTensorBytes = (c: LlamaConfig, T: number) => c.nKvHeads * (c.nHeads / c.nKvHeads) * T * T * 4;
let rssPeak = 0;
const sampleRss = () => { rssPeak = Math.max(rssPeak, process.memoryUsage().rss); };

async function runOne(spec: string): Promise<OneResult> {
  const [mode, Ts] = spec.split(':');
  const T = Number(Ts);
  const c = A.tiny ? TINY : SMOLLM2_135M;
  const base: OneResult = { mode, T, ok: false, backend: BACKEND, task: A.task!, params: paramCount(c), trainable: 0, lossTokens: 0, recompute: false, logitChunk: DEFAULT_LOGIT_CHUNK, largestTensorGiB: largestTensorBytes(c, T) / GiB };
  const rssTimer = setInterval(sampleRss, 200);
  try {
    await initBackendNamed(BACKEND);
    const lim = gpuInfo?.limits;
    if (lim && !A.force) {
      const maxBind = Math.min(lim.maxStorageBufferBindingSize, lim.maxBufferSize);
      if (largestTensorBytes(c, T) > maxBind) {
        return { ...base, skipped: `attention scores of one block are ${(largestTensorBytes(c, T) / GiB).toFixed(2)} GiB > the ${(maxBind / GiB).toFixed(2)} GiB binding limit (--force to try anyway)` };
      }
    }
    const t0 = performance.now();
    const model = makeModel(c, mode, 1, false);
    const opt = new AsyncOptimizer(model, ADAMW);
    await opt.refresh();
    base.trainable = [...trainableVariables(model).values()].reduce((s, v) => s + v.size, 0);
    base.recompute = model.train?.recompute === 'auto' ? T >= RECOMPUTE_AUTO_TOKENS : !!model.train?.recompute;
    base.logitChunk = model.train?.logitChunk ?? DEFAULT_LOGIT_CHUNK;
    const initSeconds = (performance.now() - t0) / 1000;
    log(`${mode} T=${T}: model ready in ${initSeconds.toFixed(1)} s (${(base.params / 1e6).toFixed(1)}M params, ${(base.trainable / 1e6).toFixed(2)}M trainable, recompute ${base.recompute}, logit chunk ${base.logitChunk})`);
    const watch = watchTensorBytes();
    const { fn, lossTokens } = lossFnFor(model, T, 42);
    base.lossTokens = lossTokens;
    const w0 = performance.now();
    const warm = await phasedStep(model, fn, opt);
    const warmupSeconds = (performance.now() - w0) / 1000;
    log(`${mode} T=${T}: warm-up step ${warmupSeconds.toFixed(1)} s (loss ${warm.loss.toFixed(4)}; shader compilation included)`);
    const gpuCheck = () => { if (gpuErrors.count || gpuErrors.lost) throw new Error(`GPU reported ${gpuErrors.count} error(s)${gpuErrors.lost ? `, device lost (${gpuErrors.lost})` : ''}: ${gpuErrors.first[0] ?? ''}`); };
    gpuCheck();
    // Training FLOPs per token: 6N full (≈4N + 2·trainable under LoRA: no base weight gradients),
    // plus causal attention computed dense: 12·L·T·d (QKᵀ and PV, forward and backward).
    const N = base.params, attn = 12 * c.nLayers * T * c.nHeads * c.headDim;
    const flopsPerToken = (mode === 'lora' ? 4 * N + 2 * base.trainable : 6 * N) + attn;
    const steps: Phases[] = [];
    let last = warm, forwardSeconds: number | undefined;
    const result = (): OneResult => {
      const best = steps.reduce((a, b) => (b.total < a.total ? b : a), steps[0] ?? warm.phases);
      const mem = tf.memory() as unknown as { numBytesAllocatedInGPU?: number };
      sampleRss();
      return {
        ...base, ok: true, initSeconds, warmupSeconds, forwardSeconds, steps, best, bestIsWarmup: steps.length === 0 || undefined,
        tokensPerSec: T / best.total, modelGflops: (flopsPerToken * T) / (best.encode + best.fwdBwd) / 1e9, loss: last.loss, gradNorm: last.gradNorm,
        peakTensorGiB: watch.peak() / GiB, gpuAllocatedGiB: mem.numBytesAllocatedInGPU !== undefined ? mem.numBytesAllocatedInGPU / GiB : undefined,
        peakRssGiB: rssPeak / GiB, gpuErrors: gpuErrors.count ? gpuErrors : undefined,
      };
    };
    // What we have so far, in case the parent's timeout ends this stage.
    const partial = () => console.log('PARTIAL ' + JSON.stringify(result()));
    partial();
    for (let s = 0; s < Number(A.steps); s++) {
      last = await phasedStep(model, fn, opt);
      steps.push(last.phases);
      const p = last.phases;
      log(`${mode} T=${T}: step ${s + 1}: ${p.total.toFixed(2)} s = encode ${p.encode.toFixed(2)} + gpu fwd+bwd ${p.fwdBwd.toFixed(2)} + read grads ${p.readGrads.toFixed(2)} + adamw ${p.adamw.toFixed(2)} + assign ${p.assign.toFixed(2)}; loss ${last.loss.toFixed(4)}, |g| ${last.gradNorm.toFixed(3)}`);
      gpuCheck();
      partial();
    }
    // Forward only (the loss, no tape), for the forward / backward split.
    const f0 = performance.now();
    const l = tf.tidy(() => fn().loss);
    await l.data();
    l.dispose();
    forwardSeconds = (performance.now() - f0) / 1000;
    gpuCheck();
    return result();
  } catch (e) {
    sampleRss();
    return { ...base, error: fmtErr(e), gpuErrors: gpuErrors.count || gpuErrors.lost ? gpuErrors : undefined, peakRssGiB: rssPeak / GiB };
  } finally {
    clearInterval(rssTimer);
  }
}

interface CheckResult { ok: boolean; error?: string; T: number; cpu?: Record<string, number>; other?: Record<string, number>; mirrorVsLearner?: Record<string, number>; diff?: Record<string, number> }
const maxAbsDiff = (a: Map<string, Float32Array>, b: Map<string, Float32Array>) => {
  let m = 0;
  for (const [n, x] of a) { const y = b.get(n)!; for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i])); }
  return m;
};

/**
 * Correctness on the tiny config: (1) on cpu, the learner's computeGradients + Optimizer against
 * the mirrored phasedStep (must agree exactly); (2) the same two steps on the chosen backend
 * (fresh model, same seed) against cpu: loss, gradient norm, max |Δ gradient|, loss after one update.
 */
async function runCheck(): Promise<CheckResult> {
  const T = 64;
  const out: CheckResult = { ok: false, T };
  // A large learning rate so that the loss after one update differs visibly from the first.
  // (Not larger: AdamW's first step moves every weight by ±lr whatever its gradient's size, so a
  // gradient near 0 whose sign differs by rounding between backends would move the loss after it.)
  const checkAdam = { ...ADAMW, lr: 1e-3 };
  // SFT: loss, gradients, AdamW, loss after the update. GRPO (on-policy: ratio 1, so its loss value
  // does not move with the weights): loss and gradients.
  const steps = async () => {
    const model = makeModel(TINY, 'full', 3, true);
    const opt = new AsyncOptimizer(model, checkAdam);
    await opt.refresh();
    const sft = lossFnFor(model, T, 7, 'sft').fn;
    const s1 = await phasedStep(model, sft, opt);
    const s2 = await phasedStep(model, sft, opt);
    const g = await phasedStep(model, lossFnFor(model, T, 8, 'grpo').fn, opt);
    return { s1, s2, g };
  };
  try {
    await initBackendNamed('cpu');
    const cpu = await steps();
    // The learner's own computeGradients + Optimizer on a fresh copy: same losses, gradients and update.
    const ref = makeModel(TINY, 'full', 3, true);
    const sft = lossFnFor(ref, T, 7, 'sft').fn;
    const o = new Optimizer(ref, checkAdam);
    const g1 = await computeGradients(ref, sft);
    await o.step(g1.grads);
    const g2 = await computeGradients(ref, sft);
    await o.step(g2.grads);
    const g3 = await computeGradients(ref, lossFnFor(ref, T, 8, 'grpo').fn);
    out.mirrorVsLearner = { loss1: Math.abs(g1.loss - cpu.s1.loss), grads1: maxAbsDiff(g1.grads, cpu.s1.grads), loss2: Math.abs(g2.loss - cpu.s2.loss), grads2: maxAbsDiff(g2.grads, cpu.s2.grads), grpoLoss: Math.abs(g3.loss - cpu.g.loss), grpoGrads: maxAbsDiff(g3.grads, cpu.g.grads) };
    out.cpu = { sftLoss1: cpu.s1.loss, sftGradNorm1: cpu.s1.gradNorm, sftLoss2: cpu.s2.loss, grpoLoss: cpu.g.loss, grpoGradNorm: cpu.g.gradNorm };
    log(`check: cpu SFT loss ${cpu.s1.loss.toFixed(6)} → ${cpu.s2.loss.toFixed(6)} after one AdamW step, GRPO loss ${cpu.g.loss.toFixed(6)} |g| ${cpu.g.gradNorm.toFixed(6)}; bench step vs learner's computeGradients+Optimizer: max |Δ| ${Math.max(...Object.values(out.mirrorVsLearner)).toExponential(2)}`);
    if (BACKEND !== 'cpu') {
      // cpu tensors move to the new backend on first use (cpu → GPU is fine; the reverse would need readSync).
      await initBackendNamed(BACKEND);
      const oth = await steps();
      out.other = { sftLoss1: oth.s1.loss, sftGradNorm1: oth.s1.gradNorm, sftLoss2: oth.s2.loss, grpoLoss: oth.g.loss, grpoGradNorm: oth.g.gradNorm };
      out.diff = { sftLoss1: Math.abs(oth.s1.loss - cpu.s1.loss), sftMaxGrad1: maxAbsDiff(oth.s1.grads, cpu.s1.grads), sftLoss2: Math.abs(oth.s2.loss - cpu.s2.loss), grpoLoss: Math.abs(oth.g.loss - cpu.g.loss), grpoMaxGrad: maxAbsDiff(oth.g.grads, cpu.g.grads), grpoGradNorm: Math.abs(oth.g.gradNorm - cpu.g.gradNorm) };
      log(`check: ${BACKEND} SFT loss ${oth.s1.loss.toFixed(6)} → ${oth.s2.loss.toFixed(6)}, GRPO loss ${oth.g.loss.toFixed(6)} |g| ${oth.g.gradNorm.toFixed(6)}; |${BACKEND} − cpu|: ${Object.entries(out.diff).map(([k, v]) => `${k} ${v.toExponential(2)}`).join(', ')}`);
      if (gpuErrors.count || gpuErrors.lost) throw new Error(`GPU reported ${gpuErrors.count} error(s): ${gpuErrors.first[0] ?? gpuErrors.lost}`);
    }
    // Tolerances: float32 on different kernels (fp32 matmul on the GPU, |Δ| ~1e-5 expected).
    const tol = 1e-3;
    out.ok = Object.values(out.mirrorVsLearner).every((d) => d < 1e-6) && (!out.diff || Object.values(out.diff).every((d) => d < tol));
    return out;
  } catch (e) {
    return { ...out, error: fmtErr(e) };
  }
}

async function runProbe(): Promise<Record<string, unknown>> {
  try {
    await initBackendNamed(BACKEND);
    const r: Record<string, unknown> = { ok: true, backend: tf.getBackend(), tfjs: tf.version_core };
    if (gpuInfo) Object.assign(r, gpuInfo);
    // A matmul (2048² on the GPU, 256² on the CPU backends), timed after a warm-up: is the device doing what we think?
    const n = BACKEND === 'webgpu' ? 2048 : 256;
    r.matmulN = n;
    const a = tf.randomNormal([n, n]), b = tf.randomNormal([n, n]);
    const run = async () => { const m = tf.matMul(a, b); await tf.sum(m).data(); m.dispose(); };
    await run();
    let best = Infinity;
    for (let i = 0; i < 3; i++) { const t0 = performance.now(); await run(); best = Math.min(best, performance.now() - t0); }
    r.matmulGflops = (2 * n ** 3) / (best / 1000) / 1e9;
    if (gpuErrors.count) r.gpuErrors = gpuErrors;
    return r;
  } catch (e) {
    return { ok: false, error: fmtErr(e) };
  }
}

// ---------------------------------------------------------------- parent
function childArgs(extra: string[]): string[] {
  const pass = ['backend', 'dawn', 'wasm-dir', 'task', 'agent', 'steps', 'recompute', 'logit-chunk'] as const;
  const args: string[] = [];
  for (const k of pass) if (A[k] !== undefined) args.push(`--${k}`, String(A[k]));
  if (A.tiny) args.push('--tiny');
  if (A.force) args.push('--force');
  return [...args, ...extra];
}

/** Runs this script again with `extra`, streams its stderr, returns the JSON after "RESULT ". */
function child(extra: string[], timeoutS: number, label: string): Promise<{ result?: unknown; error?: string; seconds: number }> {
  return new Promise((res) => {
    const t0 = performance.now();
    const script = process.argv[1];
    const p = spawn(process.execPath, [...process.execArgv, script, ...childArgs(extra)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', errTail = '', partial: string | undefined;
    p.stdout.on('data', (d) => {
      out += d;
      const lines = out.split('\n');
      for (const l of lines.slice(0, -1)) if (l.startsWith('PARTIAL ')) partial = l.slice(8);
    });
    p.stderr.on('data', (d) => {
      const s = String(d);
      errTail = (errTail + s).slice(-2000);
      process.stderr.write(s.replace(/^(?!\[gpubench)(.+)$/gm, `  [${label}] $1`));
    });
    let killed = false;
    const timer = setTimeout(() => { killed = true; p.kill('SIGKILL'); }, timeoutS * 1000);
    p.on('close', (code, sig) => {
      clearTimeout(timer);
      const seconds = (performance.now() - t0) / 1000;
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (line) { try { return res({ result: JSON.parse(line.slice(7)), seconds }); } catch { /* fall through */ } }
      const lastErr = errTail.trim().split('\n').slice(-3).join(' | ').slice(0, 400);
      const error = killed ? `timeout after ${timeoutS.toFixed(0)} s (killed)` : `child exited ${code ?? sig} without a result${lastErr ? `: ${lastErr}` : ''}`;
      if (partial) { try { return res({ result: { ...JSON.parse(partial), partial: error }, seconds }); } catch { /* fall through */ } }
      res({ error, seconds });
    });
  });
}

async function parent(): Promise<void> {
  const t0 = performance.now();
  const elapsed = () => (performance.now() - t0) / 1000;
  const deadline = Number(A.deadline), stageTimeout = Number(A['stage-timeout']);
  log(`node ${process.version} ${process.platform}-${process.arch}, ${os.cpus().length} CPUs, ${(os.totalmem() / GiB).toFixed(0)} GiB RAM, tfjs-core ${tf.version_core}, backend ${BACKEND}, task ${A.task}, ${A.tiny ? 'TINY config' : 'SmolLM2-135M config, random weights'}`);
  for (const k of ['LD_LIBRARY_PATH', 'VK_DRIVER_FILES', 'VK_ICD_FILENAMES', 'DAWN_NODE', 'DAWN_FLAGS', 'NVIDIA_VISIBLE_DEVICES', 'CUDA_VISIBLE_DEVICES']) if (process.env[k]) log(`env ${k}=${process.env[k]}`);
  const report: Record<string, unknown> = { when: new Date().toISOString(), node: process.version, cpus: os.cpus().length, backend: BACKEND, task: A.task, config: A.tiny ? TINY : SMOLLM2_135M, weights: 'random (throughput does not depend on values)', lora: LORA, steps: Number(A.steps), recompute: A.recompute };
  const save = () => { if (A.json) { try { writeFileSync(A.json, JSON.stringify(report, null, 2)); } catch (e) { log(`could not write ${A.json}: ${fmtErr(e)}`); } } };

  log('stage probe: backend start, adapter, limits, one matmul');
  const probe = await child(['--probe'], 60, 'probe');
  report.probe = probe.result ?? { ok: false, error: probe.error };
  const pr = report.probe as { ok: boolean; error?: string; adapter?: unknown; limits?: Record<string, number>; features?: string[]; matmulGflops?: number; matmulN?: number };
  if (!pr.ok) {
    log(`probe FAILED: ${pr.error}`);
    save();
    console.log(`\nbackend ${BACKEND} did not start: ${pr.error}`);
    process.exitCode = 3;
    return;
  }
  if (pr.adapter) log(`adapter ${JSON.stringify(pr.adapter)}`);
  if (pr.limits) log(`limits ${Object.entries(pr.limits).map(([k, v]) => `${k}=${v >= GiB ? `${(v / GiB).toFixed(2)}GiB` : v}`).join(' ')}`);
  if (pr.features) log(`features ${pr.features.join(' ')}`);
  log(`matmul ${pr.matmulN}² ${pr.matmulGflops?.toFixed(1)} GFLOP/s`);
  save();

  if (A.check !== 'no') {
    log(`stage check: tiny config, ${BACKEND} vs cpu, bench step vs learner step`);
    const ck = await child(['--do-check'], 90, 'check');
    report.check = ck.result ?? { ok: false, error: ck.error };
    const c = report.check as CheckResult;
    log(`check ${c.ok ? 'OK' : `FAILED ${c.error ?? '(differences above tolerance)'}`}`);
    save();
  }

  const rows: OneResult[] = [];
  report.results = rows;
  const specs: string[] = [];
  const lengths = A.lengths!.split(',').map(Number), modes = A.modes!.split(',');
  for (const T of lengths) for (const m of modes) specs.push(`${m}:${T}`);
  for (const spec of specs) {
    const [mode, Ts] = spec.split(':');
    const left = deadline - elapsed();
    if (left < 20) {
      rows.push({ mode, T: Number(Ts), ok: false, skipped: `overall deadline (${deadline} s) reached`, backend: BACKEND, task: A.task!, params: 0, trainable: 0, lossTokens: 0, recompute: false, logitChunk: 0, largestTensorGiB: 0 });
      log(`${spec}: skipped (deadline)`);
      continue;
    }
    const tmo = Math.min(stageTimeout * (Number(Ts) > 4096 ? 1.5 : 1), left);
    log(`stage ${spec} (timeout ${tmo.toFixed(0)} s, ${elapsed().toFixed(0)} s elapsed)`);
    const r = await child(['--one', spec], tmo, spec);
    const row = (r.result as OneResult | undefined) ?? { mode, T: Number(Ts), ok: false, error: r.error, backend: BACKEND, task: A.task!, params: 0, trainable: 0, lossTokens: 0, recompute: false, logitChunk: 0, largestTensorGiB: 0 };
    rows.push(row);
    log(`${spec}: ${row.ok ? `${row.tokensPerSec!.toFixed(0)} tokens/s` : row.skipped ? `skipped: ${row.skipped}` : `FAILED: ${row.error}`} (${r.seconds.toFixed(0)} s)`);
    save();
  }
  report.totalSeconds = elapsed();
  save();

  const f = (x: number | undefined, d = 2) => (x === undefined || Number.isNaN(x) ? '–' : x.toFixed(d));
  console.log(`\n## bench/gpu — ${A.task} update, ${A.tiny ? 'tiny config' : 'SmolLM2-135M architecture (random weights)'}, backend ${BACKEND}${pr.adapter ? ` (${JSON.stringify(pr.adapter)})` : ''}`);
  console.log(`matmul ${pr.matmulN}² ${f(pr.matmulGflops, 1)} GFLOP/s; ${A.steps} timed steps after a warm-up, fastest reported; batch 1 sequence; LoRA r=${LORA.rank} on all linear weights`);
  if (report.check) {
    const c = report.check as CheckResult;
    console.log(`correctness (tiny, T=64): ${c.ok ? 'OK' : 'FAILED'}${c.diff ? `; |${BACKEND} − cpu| ${Object.entries(c.diff).map(([k, v]) => `${k} ${v.toExponential(2)}`).join(', ')}` : ''}${c.mirrorVsLearner ? `; bench step vs learner step max |Δ| ${Math.max(...Object.values(c.mirrorVsLearner)).toExponential(2)}` : ''}${c.error ? `; error: ${c.error}` : ''}`);
  }
  console.log(`\n| mode | seq | tokens/s | step s | encode s | GPU fwd+bwd s | fwd only s | read grads s | AdamW s | assign s | warm-up s | model GFLOP/s | peak tensors GiB | GPU alloc GiB | RSS GiB | note |`);
  console.log(`|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|`);
  for (const r of rows) {
    const b = r.best;
    const part = (r as { partial?: string }).partial;
    const note = r.ok ? `loss ${f(r.loss, 3)}, recompute ${r.recompute ? 'on' : 'off'}${r.bestIsWarmup ? ', WARM-UP step only' : ''}${part ? `, PARTIAL (${part}): ${r.steps?.length ?? 0} timed steps` : ''}` : r.skipped ? `skipped: ${r.skipped}` : `FAILED: ${r.error}`;
    console.log(`| ${r.mode === 'lora' ? `LoRA r=${LORA.rank}` : 'full'} | ${r.T} | ${f(r.tokensPerSec, 0)} | ${f(b?.total)} | ${f(b?.encode)} | ${f(b?.fwdBwd)} | ${f(r.forwardSeconds)} | ${f(b?.readGrads)} | ${f(b?.adamw)} | ${f(b?.assign)} | ${f(r.warmupSeconds, 1)} | ${f(r.modelGflops, 1)} | ${f(r.peakTensorGiB)} | ${f(r.gpuAllocatedGiB)} | ${f(r.peakRssGiB)} | ${note.replace(/\|/g, '/')} |`);
  }
  console.log(`\ntotal ${elapsed().toFixed(0)} s${A.json ? `; JSON: ${A.json}` : ''}`);
  const anyOk = rows.some((r) => r.ok);
  if (!anyOk) process.exitCode = 4;
}

// A stage child ends itself when its parent is gone (e.g. run.sh's overall timeout killed it).
if (A.probe || A['do-check'] || A.one) {
  const ppid = process.ppid;
  setInterval(() => { if (process.ppid !== ppid) process.exit(5); }, 1000).unref();
}
if (A.probe) console.log('RESULT ' + JSON.stringify(await runProbe()));
else if (A['do-check']) console.log('RESULT ' + JSON.stringify(await runCheck()));
else if (A.one) console.log('RESULT ' + JSON.stringify(await runOne(A.one)));
else await parent();
// Dawn keeps handles open; a child must not linger after its result.
if (A.probe || A['do-check'] || A.one) process.exit(0);
