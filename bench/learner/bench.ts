// bench/learner: training throughput of the default 135M model in TF.js (full fine-tuning and
// LoRA, 1 and 2 data-parallel workers), beside the backend's measured matmul peak, with memory.
// With TORCH_PYTHON=/path/to/python (a Python with torch), the same step in PyTorch on the CPU runs
// in the same invocation (bench/learner/torch_step.py, 1 and 2 threads) for comparison.
// Run by hand:  npx tsx bench/learner/bench.ts [--seq 128] [--batch 1] [--steps 1] [--workers 1,2] [--json out.json]
//                 [--placement host|device]  (where AdamW runs; default the learner's optimizerPlacement)
//                 [--warmup-seq N]  (length of the untimed warm-up step; default --seq — a short one saves
//                                    a whole long update at 4k/8k tokens and still warms kernels and pools)
// The backend is the learner's choice (native when installed); TROUPE_TF_BACKEND=wasm|tensorflow forces one.
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend, tf } from '../../nn/backend/backend.ts';
import { loadGgufModel } from '../../nn/model/load-gguf.ts';
import { addLora, disposeModel, paramCount, trainableVariables } from '../../nn/model/llama.ts';
import { modelsDir } from '../../runtime/config/paths.ts';
import { computeGradients, computeGradientTensors, Optimizer, sftLoss, type GradMap, type SftBatch } from '../../nn/train/step.ts';
import { optimizerPlacement, type OptimizerPlacement } from '../../nn/train/adamw.ts';
import { DataParallel } from '../../nn/train/data-parallel.ts';
import { makeRng } from '../../nn/model/sample.ts';

const { values } = parseArgs({ options: { seq: { type: 'string', default: '128' }, batch: { type: 'string', default: '2' }, steps: { type: 'string', default: '2' }, json: { type: 'string' }, only: { type: 'string' }, workers: { type: 'string', default: '1,2' }, placement: { type: 'string' }, 'warmup-seq': { type: 'string' } } });
const T = Number(values.seq), B = Number(values.batch), STEPS = Number(values.steps);
const WARMUP_T = Number(values['warmup-seq'] ?? values.seq);
const path = join(modelsDir(), 'SmolLM2-135M-Instruct.Q4_1.gguf');
const backend = await initBackend();
const log = (s: string) => console.log(`[bench learner] ${s}`);

/** Best single-matmul rate over several shapes and repetitions (fastest run: robust to a shared machine). */
function matmulPeak(): { gflops: number; shape: string } {
  let best = { gflops: 0, shape: '' };
  for (const [M, K, N] of [[256, 576, 1536], [512, 576, 1536], [512, 1536, 576], [1024, 1024, 1024]]) {
    const a = tf.randomNormal([M, K]), b = tf.randomNormal([K, N]);
    tf.tidy(() => tf.matMul(a, b).dataSync());
    let fastest = Infinity;
    for (let i = 0; i < 10; i++) {
      const t0 = performance.now();
      tf.tidy(() => tf.matMul(a, b).dataSync());
      fastest = Math.min(fastest, performance.now() - t0);
    }
    const g = (2 * M * K * N) / (fastest / 1000) / 1e9;
    if (g > best.gflops) best = { gflops: g, shape: `${M}x${K}x${N}` };
    a.dispose(); b.dispose();
  }
  return best;
}

function randomBatch(seed: number, vocab: number, len = T): SftBatch {
  const r = makeRng(seed);
  const rows = () => Array.from({ length: B }, () => Array.from({ length: len }, () => Math.floor(r() * vocab)));
  return { inputs: rows(), targets: rows(), mask: Array.from({ length: B }, () => new Array(len).fill(1)) };
}

const rssMiB = () => process.memoryUsage().rss / 2 ** 20;

interface Row { config: string; workers: number; tokensPerSec: number; gradSeconds: number; stepSeconds: number; gflops: number; fractionOfPeak: number; peakRssMiB: number }
const rows: Row[] = [];
// The machine may be shared: take the best of several peak measurements through the run.
let peak = matmulPeak();
const remeasurePeak = () => { const p = matmulPeak(); if (p.gflops > peak.gflops) peak = p; };
log(`backend ${backend.name}; matmul peak ${peak.gflops.toFixed(1)} GFLOP/s per thread (best shape ${peak.shape})`);

for (const lora of [false, true]) {
  for (const workers of values.workers.split(',').map(Number)) {
    const name = lora ? 'LoRA r=8 (all linear)' : 'full';
    if (values.only && !name.startsWith(values.only)) continue;
    const model = loadGgufModel(path);
    if (lora) addLora(model, 8, 16);
    const N = paramCount(model.config);
    const nTrain = [...trainableVariables(model).values()].reduce((s, v) => s + v.size, 0);
    const placement = (values.placement as OptimizerPlacement | undefined) ?? optimizerPlacement(backend.name, workers > 1).placement;
    const opt = new Optimizer(model, { lr: 1e-5, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxGradNorm: 1 }, undefined, placement);
    const dp = workers > 1 ? new DataParallel(model, { kind: 'gguf', path, lora: lora ? { rank: 8, alpha: 16 } : undefined }, workers) : undefined;
    let peakRss = rssMiB();
    const tokensPerStep = B * T * workers; // each worker gets one micro-batch of B×T
    const times: { grad: number; step: number }[] = [];
    for (let s = 0; s <= STEPS; s++) {
      const batches = Array.from({ length: workers }, (_, w) => randomBatch(100 * s + w, model.config.vocabSize, s === 0 ? WARMUP_T : T));
      const t0 = performance.now();
      let grads: GradMap;
      if (dp) grads = (await dp.gradients(batches.map((batch) => ({ kind: 'sft' as const, batch })))).grads;
      else if (opt.onDevice) grads = (await computeGradientTensors(model, () => ({ loss: sftLoss(model, batches[0]) }))).grads; // stay on the device
      else grads = (await computeGradients(model, () => ({ loss: sftLoss(model, batches[0]) }))).grads;
      const t1 = performance.now();
      await opt.step(grads);
      dp?.publish();
      const t2 = performance.now();
      peakRss = Math.max(peakRss, rssMiB());
      if (s > 0) times.push({ grad: (t1 - t0) / 1000, step: (t2 - t0) / 1000 }); // step 0 is warm-up
      log(`${name} workers=${workers} optimizer=${placement} step ${s}${s === 0 ? ' (warm-up)' : ''}: gradients ${((t1 - t0) / 1000).toFixed(1)} s, optimizer ${((t2 - t1) / 1000).toFixed(1)} s, rss ${peakRss.toFixed(0)} MiB`);
    }
    await dp?.close();
    // Fastest timed step (the machine may be shared with other work; see bench/README.md).
    const grad = Math.min(...times.map((t) => t.grad));
    const step = Math.min(...times.map((t) => t.step));
    // Training FLOPs per token: 6N for full fine-tuning, ≈4N for LoRA (no weight gradients of the base).
    const flopsPerToken = (lora ? 4 : 6) * N + 2 * nTrain;
    const gflops = (flopsPerToken * tokensPerStep) / grad / 1e9;
    remeasurePeak();
    rows.push({ config: name, workers, tokensPerSec: tokensPerStep / step, gradSeconds: grad, stepSeconds: step, gflops, fractionOfPeak: gflops / (peak.gflops * workers), peakRssMiB: peakRss });
    opt.dispose();
    disposeModel(model);
  }
}

for (const r of rows) r.fractionOfPeak = r.gflops / (peak.gflops * r.workers);
interface TorchRow { config: string; threads: number; tokensPerSec: number; stepSeconds: number; peakRssMiB: number; torch: string }
const torchRows: TorchRow[] = [];
if (process.env.TORCH_PYTHON) {
  for (const lora of [false, true]) for (const threads of [1, 2]) {
    if (values.only && !(lora ? 'LoRA' : 'full').startsWith(values.only)) continue;
    try {
      const out = execFileSync(process.env.TORCH_PYTHON, ['bench/learner/torch_step.py', '--seq', String(T), '--batch', String(B), '--steps', String(STEPS), '--threads', String(threads), ...(lora ? ['--lora'] : [])], { encoding: 'utf8', timeout: 600_000 });
      const row = JSON.parse(out.trim().split('\n').pop()!) as TorchRow;
      torchRows.push(row);
      log(`pytorch ${row.torch} ${row.config} threads=${threads}: ${row.tokensPerSec.toFixed(1)} tokens/s`);
    } catch (err) {
      log(`pytorch ${lora ? 'LoRA' : 'full'} threads=${threads} failed: ${(err as Error).message.split('\n')[0]}`);
    }
  }
}
console.log(`\n| config | workers | tokens/s (full step) | gradient s/step | step s | model GFLOP/s | of matmul peak×workers | peak RSS MiB |\n|---|---|---|---|---|---|---|---|`);
for (const r of rows) console.log(`| ${r.config} | ${r.workers} | ${r.tokensPerSec.toFixed(1)} | ${r.gradSeconds.toFixed(2)} | ${r.stepSeconds.toFixed(2)} | ${r.gflops.toFixed(1)} | ${(100 * r.fractionOfPeak).toFixed(0)}% | ${r.peakRssMiB.toFixed(0)} |`);
for (const r of torchRows) console.log(`| PyTorch ${r.torch} CPU, ${r.config} | ${r.threads} thread(s) | ${r.tokensPerSec.toFixed(1)} | | ${r.stepSeconds.toFixed(2)} | | | ${r.peakRssMiB.toFixed(0)} |`);
console.log(`\nseq ${T}, ${B} sequences per worker per step, ${STEPS} timed steps after 1 warm-up of ${WARMUP_T} tokens (fastest step reported); matmul peak ${peak.gflops.toFixed(1)} GFLOP/s/thread (${peak.shape}).`);
if (values.json) writeFileSync(values.json, JSON.stringify({ seq: T, batch: B, steps: STEPS, warmupSeq: WARMUP_T, backend: backend.name, peak, rows, torchRows }, null, 2));
