// GRPO pieces against hand-computed cases: advantages, masks, clipping, KL, filtering, staleness.
import { describe, it, expect, beforeAll } from 'vitest';
import { initBackend, tf } from '../../nn/backend/backend.ts';
import { describeOnBackends } from './backends.ts';
import {
  groupAdvantages, classifyGroup, buildGrpoBatch, clippedSurrogateLoss, collectGroups,
  type RolloutGroup, type RolloutSource,
} from '../../nn/train/grpo.ts';
import { adamwStep, newAdamWState } from '../../nn/train/adamw.ts';

beforeAll(async () => { await initBackend(); });

const group = (id: string, rewards: number[], version = 0): RolloutGroup => ({
  taskId: id,
  rollouts: rewards.map((reward) => ({ tokens: [1, 2, 3], agentMask: [0, 1, 1], reward, policyVersion: version })),
});

describe('group advantages', () => {
  it('normalises by the group mean and population std', () => {
    const a = groupAdvantages([1, 0, 0, 1]);
    [1, -1, -1, 1].forEach((x, i) => expect(a[i]).toBeCloseTo(x, 5));
    const b = groupAdvantages([1, 0, 0, 0]); // mean .25, std √.1875
    expect(b[0]).toBeCloseTo(0.75 / Math.sqrt(0.1875), 5);
    expect(b[1]).toBeCloseTo(-0.25 / Math.sqrt(0.1875), 5);
  });
  it('gives zeros (not NaN) for a group with identical rewards', () => {
    expect(groupAdvantages([1, 1, 1])).toEqual([0, 0, 0]);
    expect(groupAdvantages([0, 0])).toEqual([0, 0]);
  });
  it('classifies groups', () => {
    expect(classifyGroup(group('a', [1, 1]))).toBe('all-success');
    expect(classifyGroup(group('a', [0, 0]))).toBe('all-failure');
    expect(classifyGroup(group('a', [0, 1]))).toBe('mixed');
  });
});

describe('batch masks', () => {
  it('shifts targets, masks non-agent tokens and broadcasts the advantage', () => {
    const g: RolloutGroup = {
      taskId: 't',
      rollouts: [
        // prompt 5, agent 6 7, user 8, agent 9
        { tokens: [5, 6, 7, 8, 9], agentMask: [0, 1, 1, 0, 1], reward: 1, policyVersion: 0, oldLogProbs: [0, -0.5, -0.25, 0, -1] },
        { tokens: [5, 6, 9], agentMask: [0, 1, 1], reward: 0, policyVersion: 0 },
      ],
    };
    const b = buildGrpoBatch([g], 0);
    expect(b.inputs).toEqual([[5, 6, 7, 8], [5, 6, 0, 0]]);
    expect(b.targets).toEqual([[6, 7, 8, 9], [6, 9, 0, 0]]);
    expect(b.mask).toEqual([[1, 1, 0, 1], [1, 1, 0, 0]]);
    const A = 1 / (0.5 + 1e-6) * 0.5; // (1 − .5) / (.5 + ε)
    expect(b.advantages[0][0]).toBeCloseTo(A, 5);
    expect(b.advantages[0][2]).toBe(0);
    expect(b.advantages[1][1]).toBeCloseTo(-A, 5);
    expect(b.oldLogProbs[0].slice(0, 2)).toEqual([-0.5, -0.25]);
    expect(Number.isNaN(b.oldLogProbs[1][0])).toBe(true);
  });
  it('rejects a mask of the wrong length', () => {
    expect(() => buildGrpoBatch([{ taskId: 'x', rollouts: [{ tokens: [1, 2], agentMask: [1], reward: 1, policyVersion: 0 }] }])).toThrow(/agentMask/);
  });
});

describeOnBackends('clipped surrogate', () => {
  // ratios 1.5, 1.2, 0.5, 1.5 with A = +1, +1, −1, −1 and ε = 0.4; a fifth token is masked.
  const ratios = [1.5, 1.2, 0.5, 1.5, 3.0];
  const adv = [1, 1, -1, -1, 5];
  const mask = [1, 1, 1, 1, 0];
  it('matches the hand-computed loss, clip fraction and gradient', () => {
    const old = tf.zeros([5]) as tf.Tensor1D;
    const logp0 = tf.tensor1d(ratios.map(Math.log));
    const f = (lp: tf.Tensor) => clippedSurrogateLoss(lp as tf.Tensor1D, old, tf.tensor1d(adv), tf.tensor1d(mask), { clipEps: 0.4 }).loss;
    const loss = f(logp0).dataSync()[0];
    // min(1.5, 1.4)=1.4; min(1.2, 1.2)=1.2; min(−.5, −.6)=−.6; min(−1.5, −1.4)=−1.5 → −(0.5)/4
    expect(loss).toBeCloseTo(-0.125, 5);
    const clipFrac = clippedSurrogateLoss(logp0, old, tf.tensor1d(adv), tf.tensor1d(mask), { clipEps: 0.4 }).clipFrac.dataSync()[0];
    expect(clipFrac).toBeCloseTo(0.75, 5);
    const g = tf.grad(f)(logp0).arraySync() as number[];
    // d/dlogp of −ρA/4 where unclipped (ρ·A), 0 where the clipped branch is active or masked.
    [0, -0.3, 0, 0.375, 0].forEach((x, i) => expect(g[i]).toBeCloseTo(x, 5));
  });
  it('adds the k3 KL penalty only when a reference and a coefficient are given', () => {
    const lp = tf.tensor1d([-1, -2]);
    const ref = tf.tensor1d([-1.5, -2]);
    const base = clippedSurrogateLoss(lp, lp, tf.tensor1d([0, 0]), tf.tensor1d([1, 1]), { clipEps: 0.2 }, ref).loss.dataSync()[0];
    expect(base).toBeCloseTo(0, 6);
    const withKl = clippedSurrogateLoss(lp, lp, tf.tensor1d([0, 0]), tf.tensor1d([1, 1]), { clipEps: 0.2, klCoef: 0.1 }, ref).loss.dataSync()[0];
    const k3 = Math.exp(-0.5) + 0.5 - 1; // d = ref − logp = −0.5
    expect(withKl).toBeCloseTo((0.1 * k3) / 2, 6);
  });
});

describe('dynamic filtering', () => {
  const scripted = (groups: (RolloutGroup | null)[]): RolloutSource => {
    let i = 0;
    return { nextGroup: async () => (i < groups.length ? groups[i++] : null) };
  };
  const opts = { groupsPerStep: 2, maxAttempts: 10, policyVersion: 5, maxStaleness: 2, dropAllSuccess: true, dropAllFailure: true };
  it('drops uninformative and stale groups and refills the batch', async () => {
    const src = scripted([group('s', [1, 1], 5), group('m1', [0, 1], 5), group('f', [0, 0], 4), group('old', [0, 1], 2), group('m2', [1, 0], 3)]);
    const { groups, report } = await collectGroups(src, opts);
    expect(groups.map((g) => g.taskId)).toEqual(['m1', 'm2']);
    expect(report).toMatchObject({ attempts: 5, kept: 2, droppedAllSuccess: 1, droppedAllFailure: 1, droppedStale: 2, short: false });
    expect(report.meanRewardDrawn).toBeCloseTo(5 / 10, 6);
  });
  it('stops at the attempt bound instead of waiting forever', async () => {
    const src: RolloutSource = { nextGroup: async () => group('f', [0, 0, 0], 5) };
    const { groups, report } = await collectGroups(src, { ...opts, maxAttempts: 7 });
    expect(groups).toHaveLength(0);
    expect(report).toMatchObject({ attempts: 7, droppedAllFailure: 7, short: true });
  });
  it('keeps all-failure groups when told to (released-code behaviour) and stops when the source ends', async () => {
    const src = scripted([group('f', [0, 0], 5), group('s', [1, 1], 5)]);
    const { groups, report } = await collectGroups(src, { ...opts, groupsPerStep: 3, dropAllFailure: false });
    expect(groups.map((g) => g.taskId)).toEqual(['f']);
    expect(report).toMatchObject({ attempts: 2, droppedAllSuccess: 1, short: true });
  });
});

describe('AdamW', () => {
  it('takes a sign-sized first step with decoupled weight decay', () => {
    const p = new Map([['w', new Float32Array([1, -2])]]);
    const g = new Map([['w', new Float32Array([0.5, -0.01])]]);
    const s = newAdamWState();
    adamwStep(p, g, s, { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, maxGradNorm: 0 });
    expect(p.get('w')![0]).toBeCloseTo(1 * (1 - 0.01) - 0.1, 5);
    expect(p.get('w')![1]).toBeCloseTo(-2 * (1 - 0.01) + 0.1, 5);
  });
  it('clips the global gradient norm before the moments', () => {
    const p = new Map([['a', new Float32Array([0])], ['b', new Float32Array([0])]]);
    const g = new Map([['a', new Float32Array([3])], ['b', new Float32Array([4])]]);
    const s = newAdamWState();
    const norm = adamwStep(p, g, s, { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxGradNorm: 1 });
    expect(norm).toBeCloseTo(5, 6);
    expect(s.m.get('a')![0]).toBeCloseTo(0.1 * 0.6, 6);
    expect(s.m.get('b')![0]).toBeCloseTo(0.1 * 0.8, 6);
  });
});
