/**
 * Gold replay: for each task, a fresh environment, its initial_state, then its gold actions; the
 * resulting databases are dumped with the reference's field names (nulls included) as one JSON
 * line per task, in Python's json text (so `1.0` stays a float).
 */
import type { Task } from '../../protocols/tau2/task.ts';
import type { DomainSpec } from '../core/domain.ts';
import { dumps } from '../pycompat/pyjson.ts';
import { goldEnvironment, type GoldActionError } from './initial-state.ts';

export interface ReplayResult {
  taskId: string;
  errors: GoldActionError[];
}

export interface ReplayOptions {
  /** Called with each task's JSON line (no newline) as soon as it is ready. */
  onTask?: (line: string, result: ReplayResult, index: number) => void;
}

/** Replay one task; returns the line and the result. */
export function replayTask(domain: DomainSpec, task: Task): { line: string; result: ReplayResult } {
  const { env, errors } = goldEnvironment(() => domain.createEnvironment(), task);
  const line = dumps({ task_id: task.id, agent_db: env.agentDbDump(), user_db: env.userDbDump() });
  return { line, result: { taskId: task.id, errors } };
}

export function replayTasks(domain: DomainSpec, tasks: Task[], opts: ReplayOptions = {}): { tasks: number; results: ReplayResult[] } {
  const results: ReplayResult[] = [];
  tasks.forEach((task, i) => {
    const { line, result } = replayTask(domain, task);
    results.push(result);
    opts.onTask?.(line, result, i);
  });
  return { tasks: tasks.length, results };
}
