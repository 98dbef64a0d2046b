// ACTION component: every gold action must be matched by some tool call in the trajectory, from
// either side, in any order, a call may match several actions.
import type { Action, ActionCheck, Message, ToolCall, ToolType } from '../../protocols/tau2/results.ts';
import { allToolCalls } from './messages.ts';
import { pyEquals } from '../pycompat/pyjson.ts';
import type { ComponentResult, EvalTask } from './types.ts';

function pick(args: Record<string, unknown>, keys: ReadonlySet<string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(args)) if (keys.has(k)) out[k] = v;
  return out;
}

/**
 * Whether a tool call satisfies a gold action: same name, and equal values (Python `==`) on the
 * compared keys. The keys are `compare_args` when given, else the *call's* own argument keys;
 * an empty key set compares names only.
 */
export function actionMatchesCall(action: Action, call: ToolCall): boolean {
  if (action.name !== call.name) return false;
  const keys = new Set(action.compare_args ?? Object.keys(call.arguments ?? {}));
  if (keys.size === 0) return true;
  return pyEquals(pick(call.arguments ?? {}, keys), pick(action.arguments ?? {}, keys));
}

export function checkActions(
  calls: readonly ToolCall[],
  gold: readonly Action[],
  toolTypes?: ReadonlyMap<string, ToolType>,
): ActionCheck[] {
  return gold.map((action) => {
    const match = calls.some((c) => actionMatchesCall(action, c));
    return {
      action,
      action_match: match,
      action_reward: match ? 1 : 0,
      tool_type: toolTypes?.get(action.name) ?? null,
    };
  });
}

export function evaluateActions(
  task: EvalTask,
  messages: readonly Message[],
  toolTypes?: ReadonlyMap<string, ToolType>,
): ComponentResult {
  const gold = task.evaluation_criteria?.actions;
  if (!gold || gold.length === 0) {
    return { reward: 1, info: { note: 'No actions to evaluate' }, reward_breakdown: { ACTION: 1 } };
  }
  const checks = checkActions(allToolCalls(messages), gold, toolTypes);
  const reward = checks.every((c) => c.action_match) ? 1 : 0;
  return { reward, action_checks: checks, reward_breakdown: { ACTION: reward } };
}
