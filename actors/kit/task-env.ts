// A dialogue's environment built from a τ² task: a fresh environment of the domain with the task's
// initial state applied (initialization data, initialization actions, message_history replay).
import type { Task } from '../../protocols/tau2/task.ts';
import type { DomainSpec } from '../../domains/core/domain.ts';
import type { Environment } from '../../domains/core/environment.ts';
import { applyInitialState } from '../../domains/tasks/initial-state.ts';
import type { DialogueEnvironment } from './remote.ts';
import { Message } from '../../protocols/dialogue.ts';
import { join } from 'node:path';
import { tau2DomainDir } from '../../runtime/config/paths.ts';

export interface TaskEnvironment extends DialogueEnvironment {
  readonly env: Environment;
}

export function openTaskEnvironment(domain: DomainSpec, task: Task): TaskEnvironment {
  const env = domain.createEnvironment();
  applyInitialState(env, task);
  return {
    env,
    execute: (call) => ({ ...env.getResponse(call), requestor: call.requestor ?? 'assistant' }),
  };
}

/** Find a task by id in a domain's task list, naming the domain when it is missing. */
export function findTask(tasks: readonly Task[], taskId: string, domain: string): Task {
  const t = tasks.find((x) => x.id === taskId);
  if (!t) throw new Error(`task "${taskId}" not found in domain ${domain}`);
  return t;
}

/**
 * The task's `initial_state.message_history` as scene messages: grouped tool results are flattened
 * (the scene logs one ToolMessage per call) and system messages, which no side of a τ² dialogue
 * exchanges, are dropped.
 */
export function historyFromTask(task: Task): Message[] {
  const out: Message[] = [];
  for (const raw of task.initial_state?.message_history ?? []) {
    const m = raw as Record<string, unknown>;
    if (m.role === 'system') continue;
    const parts = Array.isArray(m.tool_messages) ? (m.tool_messages as unknown[]) : [m];
    for (const p of parts) {
      const r = Message.safeParse(p);
      if (!r.success) throw new Error(`task ${task.id}: message_history entry is not a dialogue message: ${r.error.message}`);
      out.push(r.data);
    }
  }
  return out;
}

/**
 * Look tasks up by id for services that are handed only (domain, taskId): by default every task of
 * the domain's `tasks.json` (all splits); pass `taskFile` for another set (legacy, synthesized).
 */
export function taskResolver(domain: DomainSpec, taskFile?: string): (taskId: string) => Task {
  let byId: Map<string, Task> | undefined;
  return (taskId) => {
    byId ??= new Map(domain.loadTasks({ path: taskFile ?? join(tau2DomainDir(domain.name), 'tasks.json') }).map((t) => [t.id, t]));
    const t = byId.get(taskId);
    if (!t) throw new Error(`task "${taskId}" not found in domain ${domain.name}${taskFile ? ` (${taskFile})` : ''}`);
    return t;
  };
}
