// τ²-style evaluation criteria for a synthesized task: the gold actions, env assertions found by
// trying the domain's `assert_*` functions on the changed entities, and communicate info.
import type { EnvAssertion, EvaluationCriteria, Task } from '../../protocols/tau2/task.ts';
import type { DomainSpec } from '../../domains/core/domain.ts';
import type { Environment } from '../../domains/core/environment.ts';
import type { Toolkit } from '../../domains/core/tool.ts';
import { runActions } from '../../domains/tasks/states.ts';
import type { LeafChange } from '../../domains/tasks/states.ts';
import type { TaskIntent } from './checker.ts';

const MAX_TRIES = 40;

function candidates(param: string, side: 'agent' | 'user', changes: readonly LeafChange[]): unknown[] {
  const mine = changes.filter((c) => c.side === side);
  if (param.endsWith('_id')) {
    // Entity ids: the key under a top-level collection that changed (tasks.task_2 → "task_2").
    return [...new Set(mine.filter((c) => c.path.length >= 2).map((c) => c.path[1]))];
  }
  if (param.startsWith('expected_')) {
    const field = param.slice('expected_'.length);
    const vals = mine.flatMap((c) => {
      if (c.path[c.path.length - 1] === field && c.change !== 'removed') return [c.after];
      if (c.change === 'added' && c.after && typeof c.after === 'object' && field in (c.after as object)) return [(c.after as Record<string, unknown>)[field]];
      return [];
    });
    return [...new Map(vals.map((v) => [JSON.stringify(v), v])).values()];
  }
  return [];
}

function product(lists: unknown[][]): unknown[][] {
  return lists.reduce<unknown[][]>((acc, l) => acc.flatMap((a) => l.map((x) => [...a, x])), [[]]);
}

function tryAssert(env: Environment, a: EnvAssertion): boolean | 'error' {
  try {
    return env.runEnvAssertion({ env_type: a.env_type, func_name: a.func_name, arguments: a.arguments as Record<string, unknown> });
  } catch {
    return 'error';
  }
}

/**
 * Env assertions that hold on the gold state and do not hold (or cannot run) on the initial state:
 * each `assert_*` function whose parameters can all be filled from the gold diff (`*_id` ← a changed
 * entity's key, `expected_<field>` ← that field's gold value).
 */
export function inferEnvAssertions(domain: DomainSpec, task: Task, changes: readonly LeafChange[]): EnvAssertion[] {
  const gold = runActions(domain, task, task.evaluation_criteria?.actions ?? []).env;
  const initial = runActions(domain, task, []).env;
  const out: EnvAssertion[] = [];
  let tries = 0;
  const kits: [Toolkit | undefined, 'assistant' | 'user', 'agent' | 'user'][] = [
    [gold.tools, 'assistant', 'agent'],
    [gold.userTools, 'user', 'user'],
  ];
  for (const [kit, envType, side] of kits) {
    for (const fn of kit?.spec.functions ?? []) {
      if (!fn.name.startsWith('assert_')) continue;
      const lists = fn.params.map((p) => candidates(p.name, side, changes));
      if (lists.some((l) => l.length === 0)) continue;
      for (const combo of product(lists)) {
        if (++tries > MAX_TRIES) return out;
        const args = Object.fromEntries(fn.params.map((p, i) => [p.name, combo[i]]));
        const a: EnvAssertion = { env_type: envType, func_name: fn.name, arguments: args, assert_value: true, message: null };
        if (tryAssert(gold, a) === true && tryAssert(initial, a) !== true) out.push(a);
      }
    }
  }
  return out;
}

/**
 * The criteria written into the exported τ² task. Reward basis stays τ²'s default (DB + COMMUNICATE):
 * an info task's values go to `communicate_info` (τ² grades them); a refusal has no τ² component of
 * its own beyond the unchanged DB, so it is stated as an NL assertion (ungraded under the default basis).
 */
export function buildCriteria(domain: DomainSpec, task: Task, changes: readonly LeafChange[], intent?: TaskIntent): EvaluationCriteria {
  const refusal = intent?.kind === 'refusal' ? (intent.forbidden ?? []).map((f) => `The agent refuses to ${f.name}(${JSON.stringify(f.arguments)}) because the policy does not allow it, and does not do it.`) : [];
  return {
    actions: task.evaluation_criteria?.actions ?? [],
    env_assertions: inferEnvAssertions(domain, task, changes),
    communicate_info: intent?.kind === 'info' ? [...(intent.communicate ?? [])] : [],
    nl_assertions: refusal.length ? refusal : null,
    reward_basis: ['DB', 'COMMUNICATE'],
  };
}
