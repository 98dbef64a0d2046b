// Re-grading a stored results file (τ²'s `evaluate-trajs`): every simulation is evaluated again
// against its task, leniently (recorded tool outputs may differ cosmetically from today's tools).
import { TaskSchema, type Task } from '../../protocols/tau2/task.ts';
import type { Results, RewardInfo, SimulationRun } from '../../protocols/tau2/results.ts';
import type { DomainSpec } from '../core/domain.ts';
import { computeMetrics, type AgentMetrics } from '../metrics/pass-k.ts';
import { EvaluationCriteriaError, evaluateSimulation } from './evaluate.ts';
import type { NlJudge } from './nl-judge.ts';
import { isGradedTermination } from './termination.ts';
import { rewardBasisOf } from './types.ts';

export interface GradeOptions {
  judge?: NlJudge;
  /** Use the domain's current task definitions instead of the ones stored in the file. */
  freshTasks?: boolean;
  mode?: 'strict' | 'lenient';
  onProgress?: (done: number, total: number) => void;
}

export interface GradedSimulation {
  sim: SimulationRun;
  previous: number | null;
  reward: RewardInfo;
  error?: string;
}

export interface GradeReport {
  results: Results;
  graded: GradedSimulation[];
  metrics: AgentMetrics;
}

/** Tasks by id, from the file (validated as τ² tasks) or from the domain. */
export function tasksForGrading(results: Results, domain: DomainSpec, fresh: boolean): Map<string, Task> {
  const list: Task[] = fresh
    ? domain.loadTasks({ split: 'full' in domain.splits() ? 'full' : 'base' })
    : results.tasks.map((raw, i) => {
        const r = TaskSchema.safeParse(raw);
        if (!r.success) {
          const where = r.error.issues.slice(0, 3).map((x) => `${x.path.join('.')}: ${x.message}`).join('; ');
          throw new Error(`results tasks[${i}] (${raw.id}) is not a valid τ² task: ${where}`);
        }
        return r.data;
      });
  return new Map(list.map((t) => [t.id, t]));
}

/** Whether grading these simulations will need the NL judge. */
export function needsJudge(results: Results, tasks: Map<string, Task>): boolean {
  return results.simulations.some((s) => {
    const c = tasks.get(s.task_id)?.evaluation_criteria;
    return !!c && isGradedTermination(s.termination_reason) && rewardBasisOf(c).includes('NL_ASSERTION') && !!c.nl_assertions?.length;
  });
}

export async function gradeResults(results: Results, domain: DomainSpec, opts: GradeOptions = {}): Promise<GradeReport> {
  const tasks = tasksForGrading(results, domain, opts.freshTasks ?? false);
  const makeEnv = (o?: { solo?: boolean }) => domain.createEnvironment(o);
  const graded: GradedSimulation[] = [];
  const sims: SimulationRun[] = [];
  let done = 0;
  for (const sim of results.simulations) {
    const task = tasks.get(sim.task_id);
    if (!task) throw new Error(`simulation ${sim.id} refers to task ${sim.task_id}, which is not among the tasks`);
    let reward: RewardInfo;
    let error: string | undefined;
    try {
      reward = await evaluateSimulation(sim, task, makeEnv, { judge: opts.judge, mode: opts.mode ?? 'lenient' });
    } catch (err) {
      if (err instanceof EvaluationCriteriaError) throw err;
      // One broken trajectory must not sink the batch: it scores 0 and says why.
      error = (err as Error).message;
      reward = { reward: 0, reward_basis: task.evaluation_criteria ? [...rewardBasisOf(task.evaluation_criteria)] : null, info: { error } };
    }
    graded.push({ sim, previous: sim.reward_info?.reward ?? null, reward, error });
    sims.push({ ...sim, reward_info: reward });
    opts.onProgress?.(++done, results.simulations.length);
  }
  const metrics = computeMetrics(sims.map((s) => ({ task_id: s.task_id, reward: s.reward_info?.reward ?? 0, termination_reason: s.termination_reason })));
  return { results: { ...results, simulations: sims }, graded, metrics };
}

/** A plain-text table: one row per task, then avg reward and pass^k. */
export function formatReport(report: GradeReport): string {
  const rows = new Map<string, { trials: number; successes: number; sum: number; prevSum: number; prevN: number; errors: number }>();
  for (const g of report.graded) {
    const row = rows.get(g.sim.task_id) ?? { trials: 0, successes: 0, sum: 0, prevSum: 0, prevN: 0, errors: 0 };
    row.trials++;
    row.sum += g.reward.reward;
    if (Math.abs(g.reward.reward - 1) <= 1e-6) row.successes++;
    if (g.previous !== null) {
      row.prevSum += g.previous;
      row.prevN++;
    }
    if (g.error) row.errors++;
    rows.set(g.sim.task_id, row);
  }
  const idWidth = Math.min(70, Math.max(4, ...[...rows.keys()].map((k) => k.length)));
  const lines = [`${'task'.padEnd(idWidth)}  trials  success  reward  stored  errors`];
  for (const [id, r] of rows) {
    const shown = id.length > idWidth ? id.slice(0, idWidth - 1) + '…' : id;
    const prev = r.prevN ? (r.prevSum / r.prevN).toFixed(3) : '   -';
    lines.push(
      `${shown.padEnd(idWidth)}  ${String(r.trials).padStart(6)}  ${String(r.successes).padStart(7)}  ${(r.sum / r.trials).toFixed(3)}   ${prev.padStart(5)}  ${String(r.errors).padStart(6)}`,
    );
  }
  const m = report.metrics;
  lines.push('');
  lines.push(`tasks ${m.num_tasks}, simulations ${m.num_trials} (+${m.num_excluded} infrastructure errors excluded)`);
  lines.push(`avg reward ${m.avg_reward.toFixed(4)}`);
  for (let k = 1; k <= m.max_k; k++) lines.push(`pass^${k}     ${(100 * m.pass_hat_ks[k]).toFixed(2)}%`);
  return lines.join('\n');
}
