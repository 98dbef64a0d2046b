// The GRPO training step: draw groups (with dynamic filtering and the staleness limit), build the
// masked token batch, one clipped-surrogate gradient step per batch, bump the policy version, then the
// trainer's after-step work. The learner role (role.ts) sequences the phases.
import type { LlamaModel } from '../../nn/model/llama.ts';
import type { AdamWOptions } from '../../nn/train/adamw.ts';
import { buildGrpoBatch, collectGroups, type CollectReport, type RolloutGroup, type RolloutSource } from '../../nn/train/grpo.ts';
import { runLearnerRole } from './role.ts';
import type { Collected, GrpoPhases, GrpoStepMetrics } from './phases.ts';

export type { Collected, GrpoPhases, GrpoStepMetrics };
import { accumulate, computeGradients, grpoLoss, Optimizer } from '../../nn/train/step.ts';
import type { DataParallel } from '../../nn/train/data-parallel.ts';

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


export interface GrpoRunOptions {
  optimizer?: Optimizer;
  refModel?: LlamaModel;
  startVersion?: number;
  dataParallel?: DataParallel;
  /** The trainer's after-step work (log, checkpoint, publish); runs in the role's `publishing` state. */
  onStep?: (m: GrpoStepMetrics) => void | Promise<void>;
  /** Observes the learner role's state changes (collecting, updating, publishing, done). */
  onState?: (state: string, step: number) => void;
}



/** The GRPO step's work, closed over the model, optimizer and rollout source. */
export function grpoPhases(model: LlamaModel, source: RolloutSource, cfg: GrpoConfig, optimizer: Optimizer, state: { version: number }, opts: GrpoRunOptions = {}): GrpoPhases {
  return {
    async collect() {
      const t0 = performance.now();
      const { groups, report } = await collectGroups(source, { ...cfg, policyVersion: state.version });
      return { groups, report, t0 };
    },
    async update(step, { groups, report, t0 }) {
      const dropped = report.attempts - report.kept;
      const base = { step, reward: report.meanRewardDrawn, filteredFrac: report.attempts ? dropped / report.attempts : 0, collect: report };
      if (groups.length === 0) {
        return { ...base, policyVersion: state.version, loss: NaN, clipFrac: 0, gradNorm: 0, trainTokens: 0, tokensPerSec: 0, seconds: (performance.now() - t0) / 1000, skipped: true };
      }
      let u: Awaited<ReturnType<typeof grpoUpdate>>;
      try {
        u = await grpoUpdate(model, groups, cfg, optimizer, opts);
      } catch (e) {
        // The wasm backend aborts (heap limit 4 GB) with a bare "Aborted()": name the likely cause.
        if (e instanceof Error && /^Aborted\(/.test(e.message)) {
          const T = Math.max(...groups.flatMap((g) => g.rollouts.map((r) => r.tokens.length)));
          throw new Error(`the TF backend aborted during the update (most likely out of memory: wasm has a 4 GB heap) on micro-batches of ${cfg.microBatch} sequence(s) of up to ${T} tokens; lower train.microBatch or train.maxSeqLen, or train fewer parameters (model.lora)`, { cause: e });
        }
        throw e;
      }
      const { loss, clipFrac, gradNorm, trainTokens, seconds } = u;
      state.version++;
      return { ...base, policyVersion: state.version, loss, clipFrac, gradNorm, trainTokens, tokensPerSec: trainTokens / seconds, seconds: (performance.now() - t0) / 1000, skipped: false };
    },
    async publish(m) {
      await opts.onStep?.(m);
    },
  };
}

/** One clipped-surrogate gradient step on the groups (micro-batched, token-mean over the batch). */
async function grpoUpdate(model: LlamaModel, groups: RolloutGroup[], cfg: GrpoConfig, optimizer: Optimizer, opts: GrpoRunOptions) {
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
  return { loss, clipFrac, gradNorm, trainTokens: batch.inputs.length * batch.inputs[0].length, seconds: (performance.now() - tTrain) / 1000 };
}

/** GRPO for `cfg.steps` steps, driven by the learner role (collect → update → publish → collect …). */
export async function runGrpo(
  model: LlamaModel,
  source: RolloutSource,
  cfg: GrpoConfig,
  opts: GrpoRunOptions = {},
): Promise<{ metrics: GrpoStepMetrics[]; policyVersion: number; optimizer: Optimizer }> {
  const optimizer = opts.optimizer ?? new Optimizer(model, cfg.adam);
  const state = { version: opts.startVersion ?? 0 };
  const { metrics } = await runLearnerRole({ steps: cfg.steps, phases: grpoPhases(model, source, cfg, optimizer, state, opts), onState: opts.onState });
  return { metrics, policyVersion: state.version, optimizer };
}
