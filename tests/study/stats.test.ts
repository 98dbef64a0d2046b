import { describe, expect, it } from 'vitest';
import { binomTwoSidedHalf, bootstrapMean, choose, mcnemarExact, pairedBootstrap, passHatK, quantile, rng, taskPassHatK } from '../../bench/study/stats.ts';

describe('study statistics', () => {
  it('pass^k follows τ²: C(c,k)/C(n,k) averaged over tasks', () => {
    expect(choose(5, 2)).toBe(10);
    expect(taskPassHatK(4, 2, 1)).toBe(0.5);
    expect(taskPassHatK(4, 2, 2)).toBeCloseTo(1 / 6, 12);
    expect(taskPassHatK(3, 3, 3)).toBe(1);
    expect(passHatK({ a: [1, 1], b: [1, 0] }, 1)).toBe(0.75);
    expect(passHatK(new Map([['a', [1, 1]], ['b', [1, 0]]]), 2)).toBe(0.5);
    expect(() => taskPassHatK(1, 1, 2)).toThrow(/at least 2 trials/);
  });

  it('quantile interpolates like numpy', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([0, 10], 0.25)).toBe(2.5);
  });

  it('seeded generator is reproducible and uniform enough', () => {
    const a = rng(7), b = rng(7);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(xs.slice(0, 5)).toEqual(Array.from({ length: 5 }, () => b()));
    expect(Math.abs(xs.reduce((s, x) => s + x, 0) / 1000 - 0.5)).toBeLessThan(0.05);
  });

  it('bootstrap interval: degenerate for constant data, covers the mean, reproducible by seed', () => {
    expect(bootstrapMean([1, 1, 1])).toMatchObject({ estimate: 1, lo: 1, hi: 1 });
    const v = Array.from({ length: 40 }, (_, i) => (i % 4 === 0 ? 1 : 0));
    const iv = bootstrapMean(v, { resamples: 4000, seed: 3 });
    expect(iv.estimate).toBe(0.25);
    expect(iv.lo).toBeLessThan(0.25);
    expect(iv.hi).toBeGreaterThan(0.25);
    // normal approximation: sd of the mean = sqrt(.25*.75/40) ≈ 0.068, so the 95% interval ≈ ±0.13
    expect(iv.hi - iv.lo).toBeGreaterThan(0.2);
    expect(iv.hi - iv.lo).toBeLessThan(0.34);
    expect(bootstrapMean(v, { resamples: 4000, seed: 3 })).toEqual(iv);
    expect(bootstrapMean([]).resamples).toBe(0);
  });

  it('paired bootstrap is the bootstrap of differences; identical arms give [0, 0]', () => {
    const a = [0, 1, 0, 1, 1, 0];
    expect(pairedBootstrap(a, a)).toMatchObject({ estimate: 0, lo: 0, hi: 0 });
    const b = [1, 1, 1, 1, 1, 1];
    const iv = pairedBootstrap(a, b, { seed: 5 });
    expect(iv.estimate).toBeCloseTo(0.5, 12);
    expect(iv.lo).toBeGreaterThan(0);
    expect(() => pairedBootstrap([1], [1, 0])).toThrow();
  });

  it('McNemar exact: counts discordant pairs, exact two-sided binomial p', () => {
    expect(binomTwoSidedHalf(0, 0)).toBe(1);
    expect(binomTwoSidedHalf(0, 5)).toBeCloseTo(2 / 32, 12);
    expect(binomTwoSidedHalf(1, 6)).toBeCloseTo((2 * 7) / 64, 12);
    expect(binomTwoSidedHalf(3, 6)).toBe(1);
    const m = mcnemarExact([1, 1, 0, 0, 1, 0, 0], [1, 0, 1, 1, 1, 1, 1]);
    expect(m).toEqual({ onlyA: 1, onlyB: 4, p: binomTwoSidedHalf(1, 5) });
    expect(m.p).toBeCloseTo(0.375, 12);
    // R: mcnemar.exact / binom.test(2, 12) two-sided p = 0.03857
    expect(binomTwoSidedHalf(2, 12)).toBeCloseTo(0.03857, 4);
  });
});
