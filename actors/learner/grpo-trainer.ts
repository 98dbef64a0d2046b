// The GRPO training step: draw groups (with dynamic filtering and the staleness limit), build the
// masked token batch, one clipped-surrogate gradient step per batch, bump the policy version, then the
// trainer's after-step work. The learner role (role.ts) sequences the phases.
import type { LlamaModel } from '../../nn/model/llama.ts';
import { tf } from '../../nn/backend/backend.ts';
import { optimizerPlacement, type AdamWOptions } from '../../nn/train/adamw.ts';
import { collectGroups, groupAdvantages, type CollectReport, type RolloutGroup, type RolloutSource } from '../../nn/train/grpo.ts';
import { runLearnerRole } from './role.ts';
import type { Collected, GrpoPhases, GrpoStepMetrics } from './phases.ts';

export type { Collected, GrpoPhases, GrpoStepMetrics };
import { batchGradients, Optimizer, toTokenBatch, type GradMap, type SeqRow } from '../../nn/train/step.ts';
import type { DataParallel } from '../../nn/train/data-parallel.ts';

export interface GrpoConfig {
  steps: number;
  groupsPerStep: number;
  maxAttempts: number;
  maxStaleness: number;
  clipEps: number;
  /** Cap of the behaviour importance weight (decoupled objective); default DEFAULT_BEHAVIOUR_CAP. */
  behaviourCap?: number;
  klCoef: number;
  dropAllSuccess: boolean;
  dropAllFailure: boolean;
  /** Sequences per forward/backward pass (gradient accumulation over the batch). */
  microBatch: number;
  /** Rows sharing at least this many leading untrained tokens run that prefix once (0 = off; default 64). */
  sharePrefix?: number;
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
      const skip = (skipReason: string) => ({ ...base, policyVersion: state.version, loss: NaN, clipFrac: 0, behaviourWeight: 1, gradNorm: 0, trainTokens: 0, tokensPerSec: 0, seconds: (performance.now() - t0) / 1000, skipped: true, skipReason });
      if (groups.length === 0) return skip('no informative group');
      // Equal rewards in every group (reachable with filtering off): every advantage is 0 and, without a
      // KL term, the gradient is exactly zero — an update would publish an unchanged policy as a new
      // version. Skipped, with the reason; a run in which every step was skipped fails (train-run.ts).
      if (!(cfg.klCoef > 0) && groups.every((g) => groupAdvantages(g.rollouts.map((r) => r.reward)).every((a) => a === 0))) {
        return skip(`every group had equal rewards (${groups.map((g) => `[${g.rollouts.map((r) => r.reward).join(', ')}]`).join(' ')}): zero gradient`);
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
      const { loss, clipFrac, behaviourWeight, gradNorm, trainTokens, seconds } = u;
      state.version++;
      return { ...base, policyVersion: state.version, loss, clipFrac, behaviourWeight, gradNorm, trainTokens, tokensPerSec: trainTokens / seconds, seconds: (performance.now() - t0) / 1000, skipped: false };
    },
    async publish(m) {
      await opts.onStep?.(m);
    },
  };
}

/** The groups' training rows: every sequence of every rollout, with its group-relative advantage. */
export function grpoRows(groups: readonly RolloutGroup[]): SeqRow[] {
  const rows: SeqRow[] = [];
  for (const g of groups) {
    const adv = groupAdvantages(g.rollouts.map((r) => r.reward));
    g.rollouts.forEach((r, i) => {
      for (const s of [r, ...(r.more ?? [])]) {
        if (s.agentMask.length !== s.tokens.length) throw new Error(`rollout agentMask has ${s.agentMask.length} entries for ${s.tokens.length} tokens`);
        if (s.oldLogProbs && s.oldLogProbs.length !== s.tokens.length) throw new Error(`rollout oldLogProbs has ${s.oldLogProbs.length} entries for ${s.tokens.length} tokens`);
        rows.push({ tokens: s.tokens, mask: s.agentMask, advantage: adv[i], behaviourLogProbs: s.oldLogProbs });
      }
    });
  }
  return rows;
}

/**
 * One decoupled clipped-surrogate gradient step on the groups (micro-batched, token-mean over the
 * batch; the rows of a group share their prompt prefix). A batch without a trained token throws: the
 * step fails instead of publishing an unchanged policy as a new version.
 */
async function grpoUpdate(model: LlamaModel, groups: RolloutGroup[], cfg: GrpoConfig, optimizer: Optimizer, opts: GrpoRunOptions) {
  const tTrain = performance.now();
  const surrogate = { clipEps: cfg.clipEps, klCoef: cfg.klCoef, behaviourCap: cfg.behaviourCap };
  let r: { loss: number; grads: GradMap; extras: Record<string, number>; trainTokens: number };
  if (opts.dataParallel && !opts.refModel) {
    const rows = grpoRows(groups);
    if (!rows.some((row) => row.mask.some((m, i) => i > 0 && m))) throw new Error(`the GRPO batch of ${rows.length} sequence(s) has no agent token to train`);
    const mbs = [];
    // Each micro-batch padded to its own longest row.
    for (let s = 0; s < rows.length; s += cfg.microBatch) mbs.push(toTokenBatch(rows.slice(s, s + cfg.microBatch), 0, 0));
    const d = await opts.dataParallel.gradients(mbs.map((mb) => ({ kind: 'grpo' as const, batch: mb, opts: surrogate })));
    r = { ...d, trainTokens: mbs.reduce((s, mb) => s + mb.inputs.length * mb.inputs[0].length, 0) };
  } else {
    r = await batchGradients(model, grpoRows(groups), { kind: 'grpo', surrogate, refModel: opts.refModel }, { microBatch: cfg.microBatch, padId: 0, sharePrefix: cfg.sharePrefix ?? 64, onDevice: optimizer.onDevice });
  }
  const gradNorm = await optimizer.step(r.grads);
  opts.dataParallel?.publish();
  return { loss: r.loss, clipFrac: r.extras.clipFrac ?? 0, behaviourWeight: r.extras.behaviourWeight ?? 1, gradNorm, trainTokens: r.trainTokens, seconds: (performance.now() - tTrain) / 1000 };
}

/** A GRPO run in which every step was skipped trained nothing: an error naming why, not a success with a counter (its weights are the start's). */
export function assertGrpoTrained(metrics: readonly Pick<GrpoStepMetrics, 'skipped' | 'skipReason'>[]): void {
  if (metrics.length === 0 || !metrics.every((m) => m.skipped)) return;
  const why = [...new Set(metrics.map((m) => (m.skipReason ?? 'skipped').replace(/ \(\[.*\]\)/, '')))].join('; ');
  throw new Error(`GRPO trained nothing: all ${metrics.length} step(s) were skipped (${why}); the policy is unchanged. The rewards did not vary within any group: use tasks the policy sometimes solves (e.g. start from SFT weights), a larger group, or more steps`);
}

/** GRPO for `cfg.steps` steps, driven by the learner role (collect → update → publish → collect …). */
export async function runGrpo(
  model: LlamaModel,
  source: RolloutSource,
  cfg: GrpoConfig,
  opts: GrpoRunOptions = {},
): Promise<{ metrics: GrpoStepMetrics[]; policyVersion: number; optimizer: Optimizer }> {
  const optimizer = opts.optimizer ?? new Optimizer(model, cfg.adam, undefined, optimizerPlacement(tf.getBackend(), !!opts.dataParallel).placement);
  const state = { version: opts.startVersion ?? 0 };
  const { metrics } = await runLearnerRole({ steps: cfg.steps, phases: grpoPhases(model, source, cfg, optimizer, state, opts), onState: opts.onState });
  return { metrics, policyVersion: state.version, optimizer };
}
