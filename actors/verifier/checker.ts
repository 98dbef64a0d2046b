// Writing and validating a task's executable checker.
//
// A checker is JavaScript source defining `check(initialState, finalState, trajectory)`. The verifier
// writes it from a *check spec* — which state leaves must hold which values, and which write tools
// the agent must have called — chosen by the verifier's model from the gold diff, or the whole gold
// diff when the model's choice does not validate. Validation runs the source in the sandbox on the
// gold final state (must pass) and on the initial state and perturbed states (must fail).
import type { Action, Task } from '../../protocols/tau2/task.ts';
import type { CheckerValidation } from '../../protocols/synthesis.ts';
import type { DomainSpec } from '../../domains/core/domain.ts';
import { runChecker, type SandboxLimits } from '../../sandbox/checker-sandbox.ts';
import { canonical, changePath, diffStates, runActions, sameState, stateOf, type DomainState, type LeafChange } from '../../domains/tasks/states.ts';

export interface Expectation {
  side: 'agent' | 'user';
  path: string[];
  op: 'equals' | 'absent';
  value?: unknown;
}

export interface CheckSpec {
  expectations: Expectation[];
  /** Write tools the trajectory must contain a successful call of. */
  requiredCalls: string[];
}

/** The full spec: every leaf the gold actions changed, and every write tool they used. */
export function specFromDiff(changes: readonly LeafChange[], writeCalls: readonly string[]): CheckSpec {
  return {
    expectations: changes.map((c) =>
      c.change === 'removed' ? { side: c.side, path: c.path, op: 'absent' as const } : { side: c.side, path: c.path, op: 'equals' as const, value: c.after },
    ),
    requiredCalls: [...new Set(writeCalls)],
  };
}

/** Keep only the leaves named (dotted paths as `changePath` prints them). */
export function selectSpec(full: CheckSpec, paths: readonly string[], requiredCalls: readonly string[]): CheckSpec {
  const want = new Set(paths);
  return {
    expectations: full.expectations.filter((e) => want.has(changePath(e))),
    requiredCalls: full.requiredCalls.filter((n) => requiredCalls.includes(n)),
  };
}

/** Compile a spec into checker source. The source is self-contained: no imports, no globals. */
export function compileChecker(taskId: string, spec: CheckSpec): string {
  return `// Checker for task ${JSON.stringify(taskId)} (written by the Troupe verifier).
// Passes iff the final state holds every expected value and the agent made every required write call.
const EXPECT = ${JSON.stringify(spec.expectations, null, 1)};
const REQUIRED_CALLS = ${JSON.stringify(spec.requiredCalls)};

function canon(v) {
  if (Array.isArray(v)) return '[' + v.map(canon).join(',') + ']';
  if (v && typeof v === 'object') return '{' + Object.keys(v).sort().map((k) => JSON.stringify(k) + ':' + canon(v[k])).join(',') + '}';
  return JSON.stringify(v === undefined ? null : v);
}

function lookup(root, path) {
  let cur = root;
  for (const k of path) {
    if (!cur || typeof cur !== 'object' || !Object.prototype.hasOwnProperty.call(cur, k)) return { found: false };
    cur = cur[k];
  }
  return { found: true, value: cur };
}

function check(initialState, finalState, trajectory) {
  const reasons = [];
  for (const e of EXPECT) {
    const where = [e.side].concat(e.path).join('.');
    const got = lookup(finalState[e.side], e.path);
    if (e.op === 'absent') {
      if (got.found) reasons.push(where + ' should be absent');
    } else if (!got.found) {
      reasons.push(where + ' is missing (expected ' + canon(e.value) + ')');
    } else if (canon(got.value) !== canon(e.value)) {
      reasons.push(where + ' is ' + canon(got.value) + ', expected ' + canon(e.value));
    }
  }
  const failed = new Set();
  for (const m of trajectory || []) if (m && m.role === 'tool' && m.error) failed.add(m.id);
  const called = new Set();
  for (const m of trajectory || []) for (const c of (m && m.tool_calls) || []) if (!failed.has(c.id)) called.add(c.name);
  for (const name of REQUIRED_CALLS) if (!called.has(name)) reasons.push('no successful call of ' + name);
  return { pass: reasons.length === 0, reasons };
}
`;
}

export interface ValidationCase {
  name: string;
  expectPass: boolean;
  initial: DomainState;
  final: DomainState;
  trajectory: unknown[];
}

/** A string argument changed to another value (a different observed value when one exists). */
function mutateArgument(a: Action, key: string, alternatives: readonly string[]): Action | null {
  const v = a.arguments[key];
  if (typeof v !== 'string') return null;
  const other = alternatives.find((x) => x !== v) ?? `${v} (changed)`;
  return { ...a, arguments: { ...a.arguments, [key]: other } };
}

/**
 * The validation cases of a task: gold (must pass), initial (must fail), and perturbed states (must
 * fail): each gold write undone in turn, and each string argument of each write changed. Perturbations
 * that leave the gold state unchanged are no test and are skipped; the rest are deduplicated.
 */
export function validationCases(domain: DomainSpec, task: Task, observedValues: readonly string[] = []): { cases: ValidationCase[]; problems: string[] } {
  const actions = task.evaluation_criteria?.actions ?? [];
  const problems: string[] = [];
  const gold = runActions(domain, task, actions);
  const initialEnv = runActions(domain, task, []);
  const initial = stateOf(initialEnv.env);
  const goldState = stateOf(gold.env);
  if (gold.errors.length) problems.push(`gold actions fail: ${gold.errors.map((e) => `${e.name}: ${e.error}`).join('; ')}`);
  const cases: ValidationCase[] = [
    { name: 'gold', expectPass: true, initial, final: goldState, trajectory: gold.trajectory },
    { name: 'initial', expectPass: false, initial, final: initial, trajectory: [] },
  ];
  const env = initialEnv.env;
  const writes = actions.map((a, i) => ({ a, i })).filter(({ a }) => env.hasTool(a.name) && env.isMutatingTool(a.name));
  const seen = new Set([canonical(goldState)]);
  const add = (name: string, acts: Action[]) => {
    const r = runActions(domain, task, acts);
    const s = stateOf(r.env);
    const key = canonical(s);
    if (sameState(s, goldState) || seen.has(key + name.split(':')[0])) return false;
    seen.add(key + name.split(':')[0]);
    cases.push({ name, expectPass: false, initial, final: s, trajectory: r.trajectory });
    return true;
  };
  for (const { a, i } of [...writes].reverse()) add(`undo:${a.action_id}`, actions.filter((_, j) => j !== i));
  for (const { a, i } of [...writes].reverse()) {
    for (const key of Object.keys(a.arguments)) {
      const m = mutateArgument(a, key, observedValues);
      if (m) add(`arg:${a.action_id}.${key}`, actions.map((x, j) => (j === i ? m : x)));
    }
  }
  const undo = cases.filter((c) => c.name.startsWith('undo:')).length;
  const arg = cases.filter((c) => c.name.startsWith('arg:')).length;
  if (undo + arg < 2 || undo < 1 || arg < 1) {
    problems.push(`too few perturbed states that differ from gold (undone writes: ${undo}, changed arguments: ${arg}; need ≥1 each and ≥2 in all)`);
  }
  return { cases, problems };
}

/** Run the checker on every case; ok iff each answer is the expected one (a crash is never ok). */
export async function validateChecker(source: string, cases: readonly ValidationCase[], limits?: SandboxLimits): Promise<{ ok: boolean; results: CheckerValidation[] }> {
  const results: CheckerValidation[] = [];
  for (const c of cases) {
    const v = await runChecker(source, { initialState: c.initial, finalState: c.final, trajectory: c.trajectory }, limits);
    const ran = v.status === 'pass' || v.status === 'fail';
    results.push({ case: c.name, expectPass: c.expectPass, status: v.status, pass: v.pass, reasons: v.reasons, ok: ran && v.pass === c.expectPass });
  }
  return { ok: results.every((r) => r.ok), results };
}

/** The gold diff and the write tools the gold actions call. */
export function goldDiff(domain: DomainSpec, task: Task): { changes: LeafChange[]; writeCalls: string[]; initial: DomainState; gold: DomainState } {
  const actions = task.evaluation_criteria?.actions ?? [];
  const initialRun = runActions(domain, task, []);
  const goldRun = runActions(domain, task, actions);
  const initial = stateOf(initialRun.env);
  const gold = stateOf(goldRun.env);
  const env = initialRun.env;
  const writeCalls = actions.filter((a) => env.hasTool(a.name) && env.isMutatingTool(a.name)).map((a) => a.name);
  return { changes: diffStates(initial, gold), writeCalls, initial, gold };
}
