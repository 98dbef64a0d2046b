// GRPO end to end on a tiny random-init model and a trivially learnable verifiable task:
// the expected reward must rise well above its starting value.
import { describe, it, expect, beforeAll } from 'vitest';
import { initBackend } from '../../nn/backend/backend.ts';
import { initParams, type LlamaModel } from '../../nn/model/llama.ts';
import { assertGrpoTrained, runGrpo, defaultGrpoConfig } from '../../actors/learner/grpo-trainer.ts';
import { ToyRolloutSource, toyConfig, toyExpectedReward, toyTasks } from '../../nn/train/toy-task.ts';

beforeAll(async () => { await initBackend(); });

describe('GRPO on a toy task', () => {
  it('raises the mean reward', async () => {
    const K = 4;
    const tasks = toyTasks(K, 1);
    const model: LlamaModel = { config: toyConfig(K), params: initParams(toyConfig(K), 3) };
    const before = toyExpectedReward(model, tasks);
    const source = new ToyRolloutSource(model, tasks, 8, 5);
    const { metrics } = await runGrpo(model, source, {
      ...defaultGrpoConfig, steps: 25, groupsPerStep: 4, maxAttempts: 16, microBatch: 32,
      adam: { lr: 0.03, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0, maxGradNorm: 1 },
    });
    const after = toyExpectedReward(model, tasks);
    const filtered = metrics.reduce((s, m) => s + m.collect.droppedAllFailure + m.collect.droppedAllSuccess, 0);
    console.log(`[grpo toy] expected reward ${before.toFixed(3)} → ${after.toFixed(3)} over ${metrics.length} steps; groups filtered ${filtered}`);
    expect(before).toBeLessThan(0.4);
    expect(after).toBeGreaterThan(before + 0.4);
    expect(metrics.every((m) => m.skipped || Number.isFinite(m.loss))).toBe(true);
  });
});

describe('GRPO never makes a version from a step that trains nothing', () => {
  it('every group with equal rewards (filtering off): the step is skipped with the rewards named, no version; a run of such steps is an error', async () => {
    const K = 4;
    const tasks = toyTasks(K, 1);
    const model: LlamaModel = { config: toyConfig(K), params: initParams(toyConfig(K), 3) };
    const toy = new ToyRolloutSource(model, tasks, 4, 5);
    // The toy's groups with every reward set to 0: what a policy that solves nothing produces.
    const zero = { nextGroup: async (v: number) => { const g = await toy.nextGroup(v); return g && { ...g, rollouts: g.rollouts.map((r) => ({ ...r, reward: 0 })) }; } };
    const cfg = { ...defaultGrpoConfig, steps: 2, groupsPerStep: 2, maxAttempts: 2, microBatch: 8, dropAllFailure: false, dropAllSuccess: false, adam: { lr: 0.03, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0, maxGradNorm: 1 } };
    const before = Float32Array.from([...model.params.values()][0].dataSync());
    const r = await runGrpo(model, zero, cfg);
    expect(r.policyVersion).toBe(0);
    expect(r.metrics.map((m) => [m.skipped, m.skipReason])).toEqual([
      [true, 'every group had equal rewards ([0, 0, 0, 0] [0, 0, 0, 0]): zero gradient'],
      [true, 'every group had equal rewards ([0, 0, 0, 0] [0, 0, 0, 0]): zero gradient'],
    ]);
    expect(Float32Array.from([...model.params.values()][0].dataSync())).toEqual(before);
    expect(() => assertGrpoTrained(r.metrics)).toThrow(/^GRPO trained nothing: all 2 step\(s\) were skipped \(every group had equal rewards: zero gradient\); the policy is unchanged/);
    // One informative group is enough to train, and then the run is not an error.
    let n = 0;
    const mixed = { nextGroup: async (v: number) => { const g = await toy.nextGroup(v); return g && { ...g, rollouts: g.rollouts.map((r, i) => ({ ...r, reward: n++ === 0 && i === 0 ? 1 : 0 })) }; } };
    const m = await runGrpo(model, mixed, { ...cfg, steps: 1 });
    expect(m.policyVersion).toBe(1);
    expect(() => assertGrpoTrained([...r.metrics, ...m.metrics])).not.toThrow();
  });
});
