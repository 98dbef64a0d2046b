// GRPO end to end on a tiny random-init model and a trivially learnable verifiable task:
// the expected reward must rise well above its starting value.
import { describe, it, expect, beforeAll } from 'vitest';
import { initBackend } from '../../nn/backend/backend.ts';
import { initParams, type LlamaModel } from '../../nn/model/llama.ts';
import { runGrpo, defaultGrpoConfig } from '../../actors/learner/grpo-trainer.ts';
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
