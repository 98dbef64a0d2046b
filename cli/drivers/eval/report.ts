// Text reports of an evaluation: the pass^1..K table and per-task outcomes.
import { computeMetrics, isSuccess } from '../../../domains/metrics/pass-k.ts';
import type { SimulationRun } from '../../../protocols/tau2/results.ts';

const rewardOf = (s: SimulationRun) => s.reward_info?.reward ?? 0;

export function gradedTrials(sims: readonly SimulationRun[]) {
  return sims.map((s) => ({ task_id: s.task_id, reward: rewardOf(s), termination_reason: s.termination_reason }));
}

export function passKTable(sims: readonly SimulationRun[]): string {
  const m = computeMetrics(gradedTrials(sims));
  const lines = ['k   pass^k', '--  ------'];
  for (let k = 1; k <= m.max_k; k++) lines.push(`${String(k).padEnd(3)} ${m.pass_hat_ks[k].toFixed(4)}`);
  lines.push(
    `avg reward ${m.avg_reward.toFixed(4)} over ${m.num_trials} simulation(s) of ${m.num_tasks} task(s)` +
      (m.num_excluded ? `; ${m.num_excluded} infrastructure error(s) excluded` : ''),
  );
  return lines.join('\n');
}

/** One line per task: successes/trials and each trial's reward and termination. */
export function perTaskOutcomes(sims: readonly SimulationRun[]): string {
  const byTask = new Map<string, SimulationRun[]>();
  for (const s of sims) {
    const list = byTask.get(s.task_id) ?? [];
    list.push(s);
    byTask.set(s.task_id, list);
  }
  const lines: string[] = [];
  for (const [task, list] of byTask) {
    list.sort((a, b) => (a.trial ?? 0) - (b.trial ?? 0));
    const graded = list.filter((s) => s.termination_reason !== 'infrastructure_error');
    const ok = graded.filter((s) => isSuccess(rewardOf(s))).length;
    const trials = list.map((s) => `t${s.trial}:${s.termination_reason === 'infrastructure_error' ? 'infra' : rewardOf(s).toFixed(2)}(${s.termination_reason})`);
    lines.push(`${task}  ${ok}/${graded.length}  ${trials.join(' ')}`);
  }
  return lines.join('\n');
}

/** Running pass^1 (mean reward-1 rate per task, infrastructure errors excluded). */
export function runningPass1(sims: readonly SimulationRun[]): number {
  const m = computeMetrics(gradedTrials(sims));
  return m.max_k >= 1 ? m.pass_hat_ks[1] : 0;
}
