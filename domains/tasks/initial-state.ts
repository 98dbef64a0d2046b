/**
 * Applying a task to an environment the way τ²'s evaluator does: `initial_state` (data merge,
 * initialization actions, message history) and the gold `evaluation_criteria.actions`.
 */
import type { Task } from '../../protocols/tau2/task.ts';
import type { Environment, HistoryMessage, SetStateOptions } from '../core/environment.ts';
import { errorText } from '../core/environment.ts';

/**
 * `env.set_state(initialization_data, initialization_actions, history)`. `history` defaults to the
 * task's own `message_history` (the gold environment); the predicted environment passes the
 * simulated trajectory instead.
 */
export function applyInitialState(env: Environment, task: Task, history?: HistoryMessage[], options?: SetStateOptions) {
  const init = task.initial_state;
  return env.setState(
    init?.initialization_data ?? null,
    (init?.initialization_actions ?? null) as never,
    history ?? ((init?.message_history ?? []) as HistoryMessage[]),
    options,
  );
}

export interface GoldActionError {
  actionId: string;
  name: string;
  error: string;
}

/**
 * Apply every gold action with `make_tool_call` (reads included, no sync between calls); failures
 * are collected and otherwise ignored, as the reference logs and ignores them.
 */
export function applyGoldActions(env: Environment, task: Task): GoldActionError[] {
  const errors: GoldActionError[] = [];
  for (const a of task.evaluation_criteria?.actions ?? []) {
    try {
      env.makeToolCall(a.name, a.requestor ?? 'assistant', a.arguments as Record<string, unknown>);
    } catch (e) {
      errors.push({ actionId: a.action_id, name: a.name, error: errorText(e) });
    }
  }
  return errors;
}

/** A fresh gold environment for `task`: initial state, then the gold actions. */
export function goldEnvironment(createEnv: () => Environment, task: Task): { env: Environment; errors: GoldActionError[] } {
  const env = createEnv();
  applyInitialState(env, task);
  const errors = applyGoldActions(env, task);
  return { env, errors };
}
