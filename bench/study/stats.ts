// The study's statistics, as pure functions (no I/O, no randomness except a seeded generator):
// pass^k, paired bootstrap intervals over tasks, McNemar's exact test. Unit tests:
// tests/study/stats.test.ts.

import { makeRng } from '../../nn/model/rng.ts';

/** Mulberry32 (nn/model/rng.ts): a small seeded generator, so every interval in the report can be recomputed exactly. */
export const rng: (seed: number) => () => number = makeRng;

/** Binomial coefficient as a float (exact for the small n here). */
export function choose(n: number, k: number): number {
  if (k < 0 || k > n) return 0;
  k = Math.min(k, n - k);
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return r;
}

/**
 * τ²'s pass^k for one task with n trials of which c passed: C(c, k) / C(n, k) (the chance that k
 * trials drawn without replacement all pass). Averaged over tasks by `passHatK`.
 */
export function taskPassHatK(n: number, c: number, k: number): number {
  if (k > n) throw new Error(`pass^${k} needs at least ${k} trials (have ${n})`);
  return choose(c, k) / choose(n, k);
}

/** Mean pass^k over tasks; `outcomes` maps a task to its trials' 0/1 results. */
export function passHatK(outcomes: ReadonlyMap<string, readonly number[]> | Record<string, readonly number[]>, k: number): number {
  const rows: (readonly number[])[] = outcomes instanceof Map ? [...outcomes.values()] : Object.values(outcomes);
  if (!rows.length) return NaN;
  return rows.reduce((s, r) => s + taskPassHatK(r.length, r.filter((x) => x > 0).length, k), 0) / rows.length;
}

export function mean(xs: readonly number[]): number {
  return xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : NaN;
}

/** Linear-interpolated quantile of a sorted array (type 7, as numpy's default). */
export function quantile(sorted: readonly number[], q: number): number {
  if (!sorted.length) return NaN;
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.ceil(h);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

export interface Interval {
  estimate: number;
  lo: number;
  hi: number;
  /** Bootstrap resamples (0 when the interval is degenerate: no items). */
  resamples: number;
}

/**
 * Percentile bootstrap interval of a mean over items (tasks). Each item's value may itself be a
 * mean over seeds/trials: resampling whole items keeps the seeds of one task together (cluster
 * bootstrap).
 */
export function bootstrapMean(values: readonly number[], opts: { resamples?: number; seed?: number; level?: number } = {}): Interval {
  const B = opts.resamples ?? 10_000;
  const alpha = 1 - (opts.level ?? 0.95);
  const n = values.length;
  if (!n) return { estimate: NaN, lo: NaN, hi: NaN, resamples: 0 };
  const r = rng(opts.seed ?? 1);
  const stats = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += values[Math.floor(r() * n)];
    stats[b] = s / n;
  }
  const sorted = [...stats].sort((x, y) => x - y);
  return { estimate: mean(values), lo: quantile(sorted, alpha / 2), hi: quantile(sorted, 1 - alpha / 2), resamples: B };
}

/**
 * Paired bootstrap interval of mean(b) − mean(a) over the same items: resample item indices and
 * take the difference on each resample. `a[i]` and `b[i]` are the two arms' values on item i.
 */
export function pairedBootstrap(a: readonly number[], b: readonly number[], opts: { resamples?: number; seed?: number; level?: number } = {}): Interval {
  if (a.length !== b.length) throw new Error(`paired bootstrap: ${a.length} vs ${b.length} items`);
  return bootstrapMean(a.map((x, i) => b[i] - x), opts);
}

export interface McNemar {
  /** Pairs where only a passed / only b passed. */
  onlyA: number;
  onlyB: number;
  /** Two-sided exact p-value: binomial(onlyA + onlyB, ½), doubled tail, capped at 1. */
  p: number;
}

/** Two-sided exact binomial tail for the smaller of (x, n − x) with p = ½. */
export function binomTwoSidedHalf(x: number, n: number): number {
  if (n === 0) return 1;
  const k = Math.min(x, n - x);
  let tail = 0;
  for (let i = 0; i <= k; i++) tail += choose(n, i);
  return Math.min(1, (2 * tail) / 2 ** n);
}

/** McNemar's exact test on paired binary outcomes (1 = pass). */
export function mcnemarExact(a: readonly number[], b: readonly number[]): McNemar {
  if (a.length !== b.length) throw new Error(`McNemar: ${a.length} vs ${b.length} pairs`);
  let onlyA = 0, onlyB = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] > 0, y = b[i] > 0;
    if (x && !y) onlyA++;
    else if (y && !x) onlyB++;
  }
  return { onlyA, onlyB, p: binomTwoSidedHalf(onlyA, onlyA + onlyB) };
}
