// Supervised fine-tuning loop (agent SFT and user-model SFT share it): shuffled mini-batches,
// gradient accumulation over micro-batches, token-mean loss over the batch's trained tokens.
import type { LlamaModel } from '../model/llama.ts';
import { makeRng } from '../model/sample.ts';
import { tf } from '../backend/backend.ts';
import { optimizerPlacement, type AdamWOptions } from './adamw.ts';
import { sftBatch, type SftExample } from './sft-data.ts';
import { batchGradients, Optimizer, type GradMap, type SftBatch } from './step.ts';
import type { DataParallel } from './data-parallel.ts';

export interface SftConfig {
  steps: number;
  batchSize: number;
  microBatch: number;
  /** Examples sharing at least this many leading untrained tokens run that prefix once (0 = off). */
  sharePrefix?: number;
  padId: number;
  seed: number;
  adam: AdamWOptions;
}

export interface SftStepMetrics {
  step: number;
  epoch: number;
  loss: number;
  gradNorm: number;
  trainTokens: number;
  lossTokens: number;
  tokensPerSec: number;
  seconds: number;
}

export async function runSft(
  model: LlamaModel,
  examples: SftExample[],
  cfg: SftConfig,
  opts: { optimizer?: Optimizer; startStep?: number; dataParallel?: DataParallel; onStep?: (m: SftStepMetrics) => void | Promise<void> } = {},
): Promise<{ metrics: SftStepMetrics[]; optimizer: Optimizer }> {
  if (!examples.length) throw new Error('SFT: no training examples');
  const optimizer = opts.optimizer ?? new Optimizer(model, cfg.adam, undefined, optimizerPlacement(tf.getBackend(), !!opts.dataParallel).placement);
  const rng = makeRng(cfg.seed);
  const order: number[] = [];
  let epoch = 0;
  const nextIndex = () => {
    if (!order.length) {
      epoch++;
      const idx = examples.map((_, i) => i);
      for (let i = idx.length - 1; i > 0; i--) { const j = Math.floor(rng() * (i + 1)); [idx[i], idx[j]] = [idx[j], idx[i]]; }
      order.push(...idx);
    }
    return order.shift()!;
  };
  const metrics: SftStepMetrics[] = [];
  for (let step = (opts.startStep ?? 0) + 1; step <= cfg.steps; step++) {
    const t0 = performance.now();
    const chosen = Array.from({ length: cfg.batchSize }, () => examples[nextIndex()]);
    const totalMask = chosen.reduce((s, e) => s + e.mask.slice(1).reduce((a, b) => a + b, 0), 0);
    // A step that would train no token is an error, never a silent no-op.
    if (!totalMask) throw new Error(`SFT step ${step}: the ${chosen.length} chosen example(s) have no trained token`);
    let grads: GradMap;
    let loss = 0, trainTokens = 0;
    if (opts.dataParallel) {
      const parts: SftBatch[] = [];
      for (let s = 0; s < chosen.length; s += cfg.microBatch) parts.push(sftBatch(chosen.slice(s, s + cfg.microBatch), cfg.padId));
      for (const b of parts) trainTokens += b.inputs.length * b.inputs[0].length;
      const r = await opts.dataParallel.gradients(parts.map((batch) => ({ kind: 'sft' as const, batch })));
      grads = r.grads;
      loss = r.loss;
    } else {
      // Examples of one domain share the system prompt and tools: that prefix runs once (step.ts).
      const r = await batchGradients(model, chosen, { kind: 'sft' }, { microBatch: cfg.microBatch, padId: cfg.padId, sharePrefix: cfg.sharePrefix ?? 0, onDevice: optimizer.onDevice });
      grads = r.grads;
      loss = r.loss;
      trainTokens = r.trainTokens;
    }
    const gradNorm = await optimizer.step(grads);
    opts.dataParallel?.publish();
    const seconds = (performance.now() - t0) / 1000;
    const m: SftStepMetrics = { step, epoch, loss, gradNorm, trainTokens, lossTokens: totalMask, tokensPerSec: trainTokens / seconds, seconds };
    metrics.push(m);
    await opts.onStep?.(m);
  }
  return { metrics, optimizer };
}
