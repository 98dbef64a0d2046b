// pass^k and average reward over a batch of graded simulations, as τ²-bench reports them.
// pass^k for one task with n trials and c successes is C(c,k)/C(n,k): the chance that k trials
// drawn without replacement all succeed. The reported number is the mean over tasks.

/** The slice of a simulation this module needs. */
export interface GradedTrial {
  task_id: string;
  reward: number;
  termination_reason: string;
}

/** Trials that never produced an evaluable rollout; the reference drops them before any metric. */
export const EXCLUDED_TERMINATIONS: ReadonlySet<string> = new Set(['infrastructure_error']);

/** A trial counts as a success when its reward is 1 within float noise. */
export function isSuccess(reward: number): boolean {
  return Math.abs(reward - 1) <= 1e-6;
}

/** Binomial coefficient C(n, k) as a float; 0 when k > n. Exact for the small n of trial counts. */
export function binom(n: number, k: number): number {
  if (!Number.isInteger(n) || !Number.isInteger(k) || n < 0 || k < 0) {
    throw new Error(`binom: n and k must be non-negative integers, got n=${n}, k=${k}`);
  }
  if (k > n) return 0;
  const kk = Math.min(k, n - k);
  let r = 1;
  for (let i = 1; i <= kk; i++) r = (r * (n - kk + i)) / i;
  return Math.round(r);
}

/** pass^k for one task. */
export function passHatKForTask(trials: number, successes: number, k: number): number {
  if (k < 1) throw new Error(`pass^k: k must be ≥ 1, got ${k}`);
  if (k > trials) throw new Error(`pass^k: k=${k} exceeds the ${trials} trial(s) of a task`);
  return binom(successes, k) / binom(trials, k);
}

export interface TaskTally {
  task_id: string;
  trials: number;
  successes: number;
}

/** Groups evaluable trials per task, in order of first appearance. */
export function tallyByTask(trials: readonly GradedTrial[]): TaskTally[] {
  const byTask = new Map<string, TaskTally>();
  for (const t of trials) {
    if (EXCLUDED_TERMINATIONS.has(t.termination_reason)) continue;
    let tally = byTask.get(t.task_id);
    if (!tally) {
      tally = { task_id: t.task_id, trials: 0, successes: 0 };
      byTask.set(t.task_id, tally);
    }
    tally.trials += 1;
    if (isSuccess(t.reward)) tally.successes += 1;
  }
  return [...byTask.values()];
}

export interface AgentMetrics {
  /** Mean reward over all evaluable trials. */
  avg_reward: number;
  /** pass^k for k = 1..max_k, keyed by k. */
  pass_hat_ks: Record<number, number>;
  /** The smallest trial count of any task: pass^k is defined for every task only up to here. */
  max_k: number;
  num_tasks: number;
  num_trials: number;
  num_excluded: number;
}

/** avg_reward and pass^1..pass^max_k, excluding infrastructure errors. */
export function computeMetrics(trials: readonly GradedTrial[]): AgentMetrics {
  const kept = trials.filter((t) => !EXCLUDED_TERMINATIONS.has(t.termination_reason));
  const tallies = tallyByTask(kept);
  const maxK = tallies.length === 0 ? 0 : Math.min(...tallies.map((t) => t.trials));
  const pass: Record<number, number> = {};
  for (let k = 1; k <= maxK; k++) {
    const per = tallies.map((t) => passHatKForTask(t.trials, t.successes, k));
    pass[k] = per.reduce((a, b) => a + b, 0) / per.length;
  }
  const avg = kept.length === 0 ? 0 : kept.reduce((a, t) => a + t.reward, 0) / kept.length;
  return {
    avg_reward: avg,
    pass_hat_ks: pass,
    max_k: maxK,
    num_tasks: tallies.length,
    num_trials: kept.length,
    num_excluded: trials.length - kept.length,
  };
}
