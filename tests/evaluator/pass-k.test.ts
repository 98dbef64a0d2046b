import { describe, expect, it } from 'vitest';
import { binom, computeMetrics, isSuccess, passHatKForTask } from '../../domains/metrics/pass-k.ts';

const trial = (task_id: string, reward: number, termination_reason = 'user_stop') => ({ task_id, reward, termination_reason });

describe('pass^k', () => {
  it('binomial coefficients', () => {
    expect(binom(4, 2)).toBe(6);
    expect(binom(5, 0)).toBe(1);
    expect(binom(2, 3)).toBe(0);
    expect(binom(10, 5)).toBe(252);
  });

  it('per-task pass^k is C(c,k)/C(n,k)', () => {
    expect(passHatKForTask(4, 2, 1)).toBeCloseTo(0.5);
    expect(passHatKForTask(4, 2, 2)).toBeCloseTo(1 / 6);
    expect(passHatKForTask(4, 2, 3)).toBe(0);
    expect(passHatKForTask(4, 4, 4)).toBe(1);
    expect(() => passHatKForTask(2, 1, 3)).toThrow(/exceeds/);
  });

  it('success needs |r - 1| <= 1e-6', () => {
    expect(isSuccess(1)).toBe(true);
    expect(isSuccess(0.9999995)).toBe(true);
    expect(isSuccess(0.99)).toBe(false);
    expect(isSuccess(0)).toBe(false);
  });

  it('averages over tasks, drops infrastructure errors, max_k = fewest trials', () => {
    // task A: 4 trials, 3 successes. task B: 3 evaluable trials (one infra error dropped), 1 success.
    const trials = [
      trial('A', 1), trial('A', 1), trial('A', 0), trial('A', 1),
      trial('B', 1), trial('B', 0), trial('B', 0), trial('B', 1, 'infrastructure_error'),
    ];
    const m = computeMetrics(trials);
    expect(m.max_k).toBe(3);
    expect(m.num_excluded).toBe(1);
    expect(m.num_trials).toBe(7);
    // hand computed: k=1: (3/4 + 1/3)/2; k=2: (3/6 + 0/3)/2; k=3: (1/4 + 0)/2
    expect(m.pass_hat_ks[1]).toBeCloseTo((0.75 + 1 / 3) / 2, 12);
    expect(m.pass_hat_ks[2]).toBeCloseTo(0.25, 12);
    expect(m.pass_hat_ks[3]).toBeCloseTo(0.125, 12);
    expect(m.pass_hat_ks[4]).toBeUndefined();
    expect(m.avg_reward).toBeCloseTo(4 / 7, 12);
  });

  it('pass^1 equals the mean success rate when every task has the same trial count', () => {
    const trials = [trial('A', 1), trial('A', 0), trial('B', 0), trial('B', 0), trial('C', 1), trial('C', 1)];
    const m = computeMetrics(trials);
    expect(m.pass_hat_ks[1]).toBeCloseTo(3 / 6, 12);
    expect(m.pass_hat_ks[2]).toBeCloseTo(1 / 3, 12);
  });

  it('partial rewards count toward avg_reward but not success', () => {
    const m = computeMetrics([trial('A', 0.5), trial('B', 1)]);
    expect(m.avg_reward).toBeCloseTo(0.75);
    expect(m.pass_hat_ks[1]).toBeCloseTo(0.5);
  });
});
