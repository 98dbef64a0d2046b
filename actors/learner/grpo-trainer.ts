// The GRPO training loop: draw groups (with dynamic filtering and the staleness limit), build the
// masked token batch, one clipped-surrogate gradient step per batch, bump the policy version.
import { tf } from '../../runtime/tf/backend.ts';
import type { LlamaModel } from '../../runtime/nn/llama.ts';
import type { AdamWOptions } from './adamw.ts';
import { buildGrpoBatch, collectGroups, type CollectReport, type RolloutSource } from './grpo.ts';
import { accumulate, computeGradients, grpoLoss, Optimizer } from './step.ts';
import type { DataParallel } from './data-parallel.ts';

export interface GrpoConfig {
  steps: number;
  groupsPerStep: number;
  maxAttempts: number;
  maxStaleness: number;
  clipEps: number;
  klCoef: number;
  dropAllSuccess: boolean;
  dropAllFailure: boolean;
  /** Sequences per forward/backward pass (gradient accumulation over the batch). */
  microBatch: number;
  adam: AdamWOptions;
}

export const defaultGrpoConfig: Omit<GrpoConfig, 'adam'> = {
  steps: 100, groupsPerStep: 16, maxAttempts: 64, maxStaleness: 2, clipEps: 0.4, klCoef: 0,
  dropAllSuccess: true, dropAllFailure: true, microBatch: 8,
};

export interface GrpoStepMetrics {
  step: number;
  policyVersion: number;
  loss: number;
  clipFrac: number;
  gradNorm: number;
  /** Mean reward over all drawn rollouts this step (before filtering). */
  reward: number;
  /** Fraction of drawn groups dropped by dynamic filtering or staleness. */
  filteredFrac: number;
  trainTokens: number;
  tokensPerSec: number;
  seconds: number;
  collect: CollectReport;
  skipped: boolean;
}

export async function runGrpo(
  model: LlamaModel,
  source: RolloutSource,
  cfg: GrpoConfig,
  opts: { optimizer?: Optimizer; refModel?: LlamaModel; startVersion?: number; dataParallel?: DataParallel; onStep?: (m: GrpoStepMetrics) => void | Promise<void> } = {},
): Promise<{ metrics: GrpoStepMetrics[]; policyVersion: number; optimizer: Optimizer }> {
  const optimizer = opts.optimizer ?? new Optimizer(model, cfg.adam);
  let version = opts.startVersion ?? 0;
  const metrics: GrpoStepMetrics[] = [];
  for (let step = 1; step <= cfg.steps; step++) {
    const t0 = performance.now();
    const { groups, report } = await collectGroups(source, { ...cfg, policyVersion: version });
    const dropped = report.droppedAllFailure + report.droppedAllSuccess + (report.attempts - report.kept - report.droppedAllFailure - report.droppedAllSuccess);
    const base = { step, reward: report.meanRewardDrawn, filteredFrac: report.attempts ? dropped / report.attempts : 0, collect: report };
    if (groups.length === 0) {
      const m: GrpoStepMetrics = { ...base, policyVersion: version, loss: NaN, clipFrac: 0, gradNorm: 0, trainTokens: 0, tokensPerSec: 0, seconds: (performance.now() - t0) / 1000, skipped: true };
      metrics.push(m);
      await opts.onStep?.(m);
      continue;
    }
    const batch = buildGrpoBatch(groups);
    const B = batch.inputs.length;
    const totalMask = batch.mask.flat().reduce((a, b) => a + b, 0);
    let grads: Map<string, Float32Array> | undefined;
    let loss = 0, clipFrac = 0;
    const tTrain = performance.now();
    const mbs = [];
    for (let s = 0; s < B; s += cfg.microBatch) {
      const e = Math.min(B, s + cfg.microBatch);
      mbs.push({ inputs: batch.inputs.slice(s, e), targets: batch.targets.slice(s, e), mask: batch.mask.slice(s, e), advantages: batch.advantages.slice(s, e), oldLogProbs: batch.oldLogProbs.slice(s, e) });
    }
    if (opts.dataParallel && !opts.refModel) {
      const r = await opts.dataParallel.gradients(mbs.map((mb) => ({ kind: 'grpo' as const, batch: mb, opts: { clipEps: cfg.clipEps } })));
      grads = r.grads; loss = r.loss; clipFrac = r.extras.clipFrac ?? 0;
    } else for (const mb of mbs) {
      const n = mb.mask.flat().reduce((a, b) => a + b, 0);
      if (n === 0) continue;
      // Token-mean over the whole batch: weight each micro-batch's token-mean by its token share.
      const w = n / totalMask;
      const r = computeGradients(model, () => {
        const { loss: l, clipFrac: c } = grpoLoss(model, mb, { clipEps: cfg.clipEps, klCoef: cfg.klCoef }, opts.refModel);
        return { loss: l, extras: { clipFrac: c } };
      });
      grads = accumulate(grads, r.grads, w);
      loss += w * r.loss;
      clipFrac += w * (r.extras.clipFrac ?? 0);
    }
    const gradNorm = grads ? optimizer.step(grads) : 0;
    opts.dataParallel?.publish();
    version++;
    const trainTokens = batch.inputs.length * batch.inputs[0].length;
    const m: GrpoStepMetrics = {
      ...base, policyVersion: version, loss, clipFrac, gradNorm, trainTokens,
      tokensPerSec: trainTokens / ((performance.now() - tTrain) / 1000),
      seconds: (performance.now() - t0) / 1000, skipped: false,
    };
    metrics.push(m);
    await opts.onStep?.(m);
    void tf; // backend already initialised by the caller
  }
  return { metrics, policyVersion: version, optimizer };
}
