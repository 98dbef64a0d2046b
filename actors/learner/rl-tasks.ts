// The tasks GRPO plays through the society: an RL export (`troupe export rl`, one JSON line per task:
// scenario, criteria, checker source, initial state) read back as τ² tasks with their checkers.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { TaskSchema, type Task } from '../../protocols/tau2/task.ts';

const RlTaskLine = z.object({
  task_id: z.string().min(1),
  domain: z.string().min(1),
  user_scenario: z.unknown(),
  evaluation_criteria: z.unknown().optional(),
  checker: z.object({ language: z.literal('javascript'), source: z.string().min(1) }).loose(),
  initial_state: z.object({ task_initial_state: z.unknown().optional() }).loose().nullable().optional(),
}).loose();

export interface RlTask {
  domain: string;
  task: Task;
  /** JavaScript defining `check(initialState, finalState, trajectory)` (run in sandbox). */
  checkerSource: string;
}

/** One RL export line → task + checker; the error names the line and what is wrong with it. */
export function parseRlTask(line: string, where = 'RL task'): RlTask {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch (e) {
    throw new Error(`${where}: not JSON (${(e as Error).message})`);
  }
  const r = RlTaskLine.safeParse(raw);
  if (!r.success) throw new Error(`${where}: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  const l = r.data;
  const t = TaskSchema.safeParse({ id: l.task_id, user_scenario: l.user_scenario, evaluation_criteria: l.evaluation_criteria ?? null, initial_state: l.initial_state?.task_initial_state ?? null });
  if (!t.success) throw new Error(`${where} (task ${l.task_id}): not a τ² task: ${t.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  return { domain: l.domain, task: t.data, checkerSource: l.checker.source };
}

/** Every task of an RL export file (`rl_tasks.jsonl`); an empty file is an error. */
export function loadRlTasks(path: string): RlTask[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read the RL task file ${path}: ${(e as Error).message}`);
  }
  const tasks = text.split('\n').map((l, i) => [l, i] as const).filter(([l]) => l.trim() !== '').map(([l, i]) => parseRlTask(l, `${path}:${i + 1}`));
  if (!tasks.length) throw new Error(`${path}: no tasks (is it a "troupe export rl" file?)`);
  const ids = new Set<string>();
  for (const t of tasks) {
    const key = `${t.domain}/${t.task.id}`;
    if (ids.has(key)) throw new Error(`${path}: task ${key} appears twice`);
    ids.add(key);
  }
  return tasks;
}
