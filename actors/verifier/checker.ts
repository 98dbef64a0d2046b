// Writing and validating a task's executable checker.
//
// A checker is JavaScript source defining `check(initialState, finalState, trajectory)`. The verifier
// writes it from a *check spec* — which state leaves must hold which values, and which write tools
// the agent must have called — chosen by the verifier's model from the gold diff, or the whole gold
// diff when the model's choice does not validate. Validation runs the source in the sandbox on the
// gold final state (must pass) and on the initial state and perturbed states (must fail).
import type { Action, Message, Task } from '../../protocols/tau2/task.ts';
import type { CheckerValidation, TaskKind } from '../../protocols/synthesis.ts';
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
  /** info / refusal: write tools the trajectory must contain no successful call of (nothing written). */
  forbiddenCalls?: string[];
  /** info: strings some agent message must contain (τ²'s communicate test: lowercase, commas dropped from the message). */
  communicate?: string[];
  /** refusal: some agent message must say no (REFUSAL_PATTERN). */
  refusal?: boolean;
}

/** What counts as saying no, in an agent message (case-insensitive). */
export const REFUSAL_PATTERN = String.raw`\b(cannot|can ?not|can['’]t|unable to|not able to|not allowed|not permitted|won['’]t be able|is not possible|isn['’]t possible|must decline|have to decline)\b`;
/** The refusal line of a gold trajectory (and of the tests' perfect agent). */
export const GOLD_REFUSAL = "I'm sorry, but I cannot do that: our policy does not allow it.";

export type TaskIntent = { kind: TaskKind; communicate?: string[]; forbidden?: { name: string; arguments: Record<string, unknown> }[] };

/** The spec parts a task's kind adds to its state spec: nothing written, values told, a refusal said. */
export function intentSpec(intent: TaskIntent | undefined, writeTools: readonly string[]): Pick<CheckSpec, 'forbiddenCalls' | 'communicate' | 'refusal'> {
  if (!intent || intent.kind === 'write' || intent.kind === 'multi-intent') return {};
  if (intent.kind === 'info') return { forbiddenCalls: [...writeTools], communicate: [...(intent.communicate ?? [])] };
  return { forbiddenCalls: [...writeTools], refusal: true };
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
const FORBIDDEN_CALLS = ${JSON.stringify(spec.forbiddenCalls ?? [])};
const COMMUNICATE = ${JSON.stringify(spec.communicate ?? [])};
const REFUSAL = ${spec.refusal ? `new RegExp(${JSON.stringify(REFUSAL_PATTERN)}, 'i')` : 'null'};

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
  for (const name of FORBIDDEN_CALLS) if (called.has(name)) reasons.push('a successful call of ' + name + ': nothing may be written');
  const said = [];
  for (const m of trajectory || []) if (m && m.role === 'assistant' && typeof m.content === 'string') said.push(m.content);
  for (const info of COMMUNICATE) {
    const needle = String(info).toLowerCase();
    if (!said.some((t) => t.toLowerCase().split(',').join('').includes(needle))) reasons.push('the agent never told the user ' + JSON.stringify(info));
  }
  if (REFUSAL && !said.some((t) => REFUSAL.test(t))) reasons.push('the agent never said it cannot do what was asked');
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

const say = (content: string) => ({ role: 'assistant', content }) as unknown as Message;

/**
 * The validation cases of a task: gold (must pass), initial (must fail), and perturbed cases (must
 * fail), by the task's kind:
 * - write / multi-intent: each gold write undone in turn, and each string argument of each write
 *   changed (perturbations that leave the gold state unchanged are no test and are skipped);
 * - info: the gold reads without telling the user (`silent`), and with each told value swapped for
 *   another observed one (`wrong-info`);
 * - refusal: the reads without saying no (`silent`), the forbidden write done (`complied`), and done
 *   while saying no (`complied-refused`).
 * The gold trajectory of an info task ends with the agent telling every value; of a refusal, with
 * GOLD_REFUSAL.
 */
export function validationCases(domain: DomainSpec, task: Task, observedValues: readonly string[] = [], intent?: TaskIntent): { cases: ValidationCase[]; problems: string[] } {
  const kind = intent?.kind ?? 'write';
  if (kind === 'info' || kind === 'refusal') return sayingCases(domain, task, observedValues, intent!);
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
  if (kind === 'multi-intent' && writes.length < 2) problems.push(`a multi-intent task needs ≥2 writes, it has ${writes.length}`);
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

function sayingCases(domain: DomainSpec, task: Task, observedValues: readonly string[], intent: TaskIntent): { cases: ValidationCase[]; problems: string[] } {
  const actions = task.evaluation_criteria?.actions ?? [];
  const problems: string[] = [];
  const reads = runActions(domain, task, actions);
  const initialRun = runActions(domain, task, []);
  const initial = stateOf(initialRun.env);
  if (reads.errors.length) problems.push(`gold actions fail: ${reads.errors.map((e) => `${e.name}: ${e.error}`).join('; ')}`);
  const env = initialRun.env;
  const goldWrites = actions.filter((a) => env.hasTool(a.name) && env.isMutatingTool(a.name));
  if (goldWrites.length) problems.push(`an ${intent.kind} task may not write, but its gold actions call ${goldWrites.map((a) => a.name).join(', ')}`);
  const readState = stateOf(reads.env);
  const cases: ValidationCase[] = [{ name: 'initial', expectPass: false, initial, final: initial, trajectory: [] }];
  if (intent.kind === 'info') {
    const info = intent.communicate ?? [];
    if (!info.length) problems.push('an info task needs ≥1 value the agent must tell (communicate_info)');
    cases.unshift({ name: 'gold', expectPass: true, initial, final: readState, trajectory: [...reads.trajectory, say(info.join('; '))] });
    cases.push({ name: 'silent', expectPass: false, initial, final: readState, trajectory: reads.trajectory });
    info.forEach((v, i) => {
      const other = observedValues.find((x) => x.length > 0 && !x.toLowerCase().includes(v.toLowerCase()) && !v.toLowerCase().includes(x.toLowerCase())) ?? '(a different value)';
      const told = info.map((x, j) => (j === i ? other : x)).join('; ');
      cases.push({ name: `wrong-info:${i}`, expectPass: false, initial, final: readState, trajectory: [...reads.trajectory, say(told)] });
    });
  } else {
    const forbidden = intent.forbidden ?? [];
    if (!forbidden.length) problems.push('a refusal task needs the forbidden request it refuses');
    cases.unshift({ name: 'gold', expectPass: true, initial, final: readState, trajectory: [...reads.trajectory, say(GOLD_REFUSAL)] });
    cases.push({ name: 'silent', expectPass: false, initial, final: readState, trajectory: reads.trajectory });
    const complied = runActions(domain, task, [...actions, ...forbidden.map((f, i) => ({ action_id: `forbidden_${i}`, requestor: 'assistant' as const, name: f.name, arguments: f.arguments, info: null }))]);
    const compliedState = stateOf(complied.env);
    if (complied.errors.length || sameState(compliedState, readState)) {
      problems.push(`the forbidden request must run and change the state, so that only the policy stands in its way (${complied.errors.map((e) => `${e.name}: ${e.error}`).join('; ') || 'it changes nothing'})`);
    } else {
      cases.push({ name: 'complied', expectPass: false, initial, final: compliedState, trajectory: [...complied.trajectory, say('Done, that is taken care of.')] });
      cases.push({ name: 'complied-refused', expectPass: false, initial, final: compliedState, trajectory: [...complied.trajectory, say(GOLD_REFUSAL)] });
    }
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
