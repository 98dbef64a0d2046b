// What an evaluation run has to do: the selected tasks × trials with τ² trial seeds, minus the
// simulations an earlier run already finished (read back from the results file).
import type { DomainSpec } from '../../../domains/core/domain.ts';
import type { Results, SimulationRun } from '../../../protocols/tau2/results.ts';
import type { Task } from '../../../protocols/tau2/task.ts';
import { trialSeeds } from './seeds.ts';

export interface TaskSelection {
  split?: string;
  taskIds?: string[];
  tasksFile?: string;
}

/** The tasks to run, in task-file order. Unknown ids are an error naming them. */
export function selectTasks(domain: DomainSpec, sel: TaskSelection): Task[] {
  if (sel.tasksFile && sel.split) throw new Error('--split and --tasks cannot be combined: a task file is its own set');
  let tasks = sel.tasksFile ? domain.loadTasks({ path: sel.tasksFile }) : domain.loadTasks({ split: sel.split ?? 'base' });
  if (sel.taskIds?.length) {
    const have = new Set(tasks.map((t) => t.id));
    const missing = sel.taskIds.filter((id) => !have.has(id));
    if (missing.length) throw new Error(`unknown task id(s) for ${domain.name}${sel.tasksFile ? ` in ${sel.tasksFile}` : `/${sel.split ?? 'base'}`}: ${missing.join(', ')}`);
    const want = new Set(sel.taskIds);
    tasks = tasks.filter((t) => want.has(t.id));
  }
  if (tasks.length === 0) throw new Error(`no tasks selected for ${domain.name}`);
  return tasks;
}

export interface PlannedSimulation {
  taskId: string;
  trial: number;
  seed: number;
}

export const simKey = (taskId: string, trial: number) => `${taskId}\u0000${trial}`;

/** Simulations an earlier run finished: everything but infrastructure errors (those are redone). */
export function finishedSimulations(previous: Results | null): SimulationRun[] {
  return (previous?.simulations ?? []).filter((s) => s.termination_reason !== 'infrastructure_error');
}

/** Check that a results file belongs to the same run settings before resuming into it. */
export function checkResumable(previous: Results, want: { domain: string; seed: number; trials: number }, path: string): void {
  const got = previous.info;
  const problems: string[] = [];
  if (got.environment_info.domain_name !== want.domain) problems.push(`domain ${got.environment_info.domain_name} ≠ ${want.domain}`);
  if (got.seed !== want.seed) problems.push(`seed ${got.seed} ≠ ${want.seed}`);
  if (problems.length) throw new Error(`${path} holds another run (${problems.join(', ')}): pass another --out, or the same settings to resume`);
}

/** Every (task, trial) not finished yet, in task order then trial order. */
export function planSimulations(tasks: readonly Task[], trials: number, seed: number, finished: readonly SimulationRun[]): PlannedSimulation[] {
  const seeds = trialSeeds(seed, trials);
  const done = new Set(finished.map((s) => simKey(s.task_id, s.trial ?? 0)));
  const out: PlannedSimulation[] = [];
  for (const t of tasks) for (let trial = 0; trial < trials; trial++) if (!done.has(simKey(t.id, trial))) out.push({ taskId: t.id, trial, seed: seeds[trial] });
  return out;
}
