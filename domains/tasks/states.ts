// Domain states as plain JSON (what a checker sees), gold/perturbed executions of a task's actions,
// and the leaf diff between two states. Pure apart from building scratch environments.
import type { Action, Message, Task } from '../../protocols/tau2/task.ts';
import type { DomainSpec } from '../core/domain.ts';
import type { Environment, HistoryMessage } from '../core/environment.ts';
import { dumps } from '../pycompat/pyjson.ts';
import { applyInitialState } from './initial-state.ts';

/** The state a checker judges: the agent-side DB and the user-side DB (null when the domain has none). */
export interface DomainState {
  agent: unknown;
  user: unknown;
}

/** Python-typed dump → plain JSON (floats become numbers: checkers compare values, not Python types). */
function plain(v: unknown): unknown {
  return v == null ? null : JSON.parse(dumps(v, { default: String }));
}

export function stateOf(env: Environment): DomainState {
  return { agent: plain(env.agentDbDump()), user: plain(env.userDbDump()) };
}

/** A fresh environment with the task's initial state (data, init actions, message history) applied. */
export function initialEnvironment(domain: DomainSpec, task: Task): Environment {
  const env = domain.createEnvironment();
  applyInitialState(env, task);
  return env;
}

export interface ActionRun {
  env: Environment;
  errors: { actionId: string; name: string; error: string }[];
  /** A τ²-shaped trajectory of the calls (assistant tool call + tool result per action). */
  trajectory: Message[];
}

/** Execute `actions` in order on a fresh initial environment, recording errors and a trajectory. */
export function runActions(domain: DomainSpec, task: Task, actions: readonly Action[]): ActionRun {
  const env = initialEnvironment(domain, task);
  const errors: ActionRun['errors'] = [];
  const trajectory: Message[] = [];
  actions.forEach((a, i) => {
    const requestor = a.requestor ?? 'assistant';
    const id = `call_${i}`;
    const res = env.getResponse({ id, name: a.name, arguments: a.arguments as Record<string, unknown>, requestor });
    if (res.error) errors.push({ actionId: a.action_id, name: a.name, error: res.content.replace(/^Error: /, '') });
    trajectory.push({ role: requestor === 'user' ? 'user' : 'assistant', content: null, tool_calls: [{ id, name: a.name, arguments: a.arguments, requestor }] } as Message);
    trajectory.push({ role: 'tool', id, content: res.content, requestor, error: res.error } as Message);
  });
  return { env, errors, trajectory };
}

/** The environment a dialogue left behind: the initial state with the trajectory's calls replayed. */
export function dialogueFinalState(domain: DomainSpec, task: Task, messages: readonly Message[]): DomainState {
  const env = domain.createEnvironment();
  applyInitialState(env, task, messages as unknown as HistoryMessage[], { strict: false });
  return stateOf(env);
}

export interface LeafChange {
  side: 'agent' | 'user';
  path: string[];
  /** `changed`: both have the leaf; `added`/`removed`: one side lacks it. */
  change: 'changed' | 'added' | 'removed';
  before?: unknown;
  after?: unknown;
}

const isObj = (x: unknown): x is Record<string, unknown> => !!x && typeof x === 'object' && !Array.isArray(x);

/**
 * Leaf-level differences from `a` to `b`. Objects recurse; arrays and scalars are leaves (a list that
 * changed is reported whole, which keeps checks readable: `users.user_1.tasks == [...]`).
 */
export function diffStates(a: DomainState, b: DomainState): LeafChange[] {
  const out: LeafChange[] = [];
  for (const side of ['agent', 'user'] as const) walk(side, [], a[side], b[side], out);
  return out;
}

function walk(side: 'agent' | 'user', path: string[], x: unknown, y: unknown, out: LeafChange[]): void {
  if (isObj(x) && isObj(y)) {
    for (const k of new Set([...Object.keys(x), ...Object.keys(y)])) {
      if (!(k in y)) out.push({ side, path: [...path, k], change: 'removed', before: x[k] });
      else if (!(k in x)) out.push({ side, path: [...path, k], change: 'added', after: y[k] });
      else walk(side, [...path, k], x[k], y[k], out);
    }
    return;
  }
  if (canonical(x) !== canonical(y)) out.push({ side, path, change: 'changed', before: x, after: y });
}

/** Key-sorted JSON: equal values give equal text. */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isObj(v)) return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  return JSON.stringify(v ?? null);
}

export function sameState(a: DomainState, b: DomainState): boolean {
  return canonical(a) === canonical(b);
}

/** Dotted display of a change's location, e.g. `agent.tasks.task_2.status`. */
export function changePath(c: Pick<LeafChange, 'side' | 'path'>): string {
  return [c.side, ...c.path].join('.');
}
