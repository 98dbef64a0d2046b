// The critic's deterministic checks on a drafted task, before any model or dialogue is spent on it.
// Each check has a rule that can be measured; docs/synthesis.md states them.
import type { Task } from '../../protocols/tau2/task.ts';
import type { CriticCheck } from '../../protocols/synthesis.ts';
import type { DomainSpec } from '../../domains/core/domain.ts';
import type { Environment } from '../../domains/core/environment.ts';
import { canonical, diffStates, initialEnvironment, runActions, stateOf } from '../../domains/tasks/states.ts';

/** The scenario text the simulated user holds (what they can tell the agent). */
export function scenarioText(task: Task): string {
  const i = task.user_scenario.instructions;
  if (typeof i === 'string') return i;
  return [i.reason_for_call, i.known_info ?? '', i.task_instructions].join('\n');
}

/** String leaves of a JSON value (object keys included: ids are often keys). */
function stringLeaves(v: unknown, out: Set<string>): Set<string> {
  if (typeof v === 'string') out.add(v);
  else if (typeof v === 'number' || typeof v === 'boolean') out.add(String(v));
  else if (Array.isArray(v)) for (const x of v) stringLeaves(x, out);
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) (out.add(k), stringLeaves(x, out));
  return out;
}

function parseOutput(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

const ID_LIKE = /[0-9_]/;
const MAX_PROBES = 60;

/**
 * What the agent can learn from tools without guessing: outputs of every parameter-free read tool on
 * the initial state, then (two rounds) of each read tool with one required string parameter called
 * with id-like values already learned or mentioned in the scenario. Returns the string leaves seen.
 */
export function toolEvidence(env: Environment, scenario: string): Set<string> {
  const seen = new Set<string>();
  const reads = env.getTools().filter((t) => !env.isMutatingTool(t.name) && t.type === 'read');
  for (const t of reads.filter((t) => t.params.every((p) => 'default' in p))) {
    const r = env.getResponse({ id: 'probe', name: t.name, arguments: {} });
    if (!r.error) stringLeaves(parseOutput(r.content), seen);
  }
  const scenarioTokens = scenario.match(/[A-Za-z0-9_\-.@]+/g) ?? [];
  let probes = 0;
  const tried = new Set<string>();
  for (let round = 0; round < 2; round++) {
    const pool = [...new Set([...seen, ...scenarioTokens])].filter((s) => ID_LIKE.test(s) && s.length <= 64);
    for (const t of reads) {
      const required = t.params.filter((p) => !('default' in p));
      if (required.length !== 1) continue;
      for (const v of pool) {
        const key = `${t.name}\u0000${v}`;
        if (tried.has(key) || probes >= MAX_PROBES) continue;
        tried.add(key);
        probes++;
        const r = env.getResponse({ id: 'probe', name: t.name, arguments: { [required[0].name]: v } });
        if (!r.error) stringLeaves(parseOutput(r.content), seen);
      }
    }
  }
  return seen;
}

export interface GroundingResult {
  grounded: number;
  total: number;
  ungrounded: string[];
}

/**
 * Grounding rule: every scalar leaf of every gold action's arguments must be obtainable — it occurs
 * in the scenario text (case-insensitive substring), or it is a value seen in tool evidence
 * (`toolEvidence`), or it is a value returned by an earlier gold action (e.g. an id a create returns).
 */
export function checkGrounding(domain: DomainSpec, task: Task): GroundingResult {
  const scenario = scenarioText(task);
  const lower = scenario.toLowerCase();
  const env = initialEnvironment(domain, task);
  const evidence = toolEvidence(env, scenario);
  const goldRun = runActions(domain, task, task.evaluation_criteria?.actions ?? []);
  const earlier: Set<string>[] = [];
  const acc = new Set<string>();
  for (const m of goldRun.trajectory) {
    if (m.role === 'tool') stringLeaves(parseOutput(String(m.content ?? '')), acc);
    else earlier.push(new Set(acc));
  }
  let grounded = 0;
  let total = 0;
  const ungrounded: string[] = [];
  (task.evaluation_criteria?.actions ?? []).forEach((a, i) => {
    for (const [k, v] of Object.entries(a.arguments)) {
      for (const leaf of stringLeaves(v, new Set())) {
        total++;
        const ok = lower.includes(leaf.toLowerCase()) || evidence.has(leaf) || (earlier[i]?.has(leaf) ?? false);
        if (ok) grounded++;
        else ungrounded.push(`${a.name}.${k}=${JSON.stringify(leaf)}`);
      }
    }
  });
  return { grounded, total, ungrounded };
}

/** Tokens describing what a task does: its write calls and the state leaves it changes. */
export function taskSignature(domain: DomainSpec, task: Task): string[] {
  const actions = task.evaluation_criteria?.actions ?? [];
  const init = runActions(domain, task, []);
  const gold = runActions(domain, task, actions);
  const env = init.env;
  const calls = actions.filter((a) => env.hasTool(a.name) && env.isMutatingTool(a.name)).map((a) => `call:${a.name}(${canonical(a.arguments)})`);
  const leaves = diffStates(stateOf(init.env), stateOf(gold.env)).map((c) => `leaf:${[c.side, ...c.path].join('.')}=${canonical(c.after ?? null)}`);
  return [...new Set([...calls, ...leaves])];
}

/** Jaccard similarity of two token sets. */
export function jaccard(a: readonly string[], b: readonly string[]): number {
  const A = new Set(a);
  const B = new Set(b);
  if (!A.size && !B.size) return 1;
  let inter = 0;
  for (const x of A) if (B.has(x)) inter++;
  return inter / (A.size + B.size - inter);
}

export const DUPLICATE_THRESHOLD = 0.8;

export interface DeterministicReview {
  checks: CriticCheck[];
  ok: boolean;
  signature: string[];
}

/** Gold runs, grounded, non-trivial, not a near-duplicate of `accepted` (signatures of accepted tasks). */
export function deterministicChecks(domain: DomainSpec, task: Task, accepted: readonly { id: string; signature: string[] }[]): DeterministicReview {
  const checks: CriticCheck[] = [];
  const actions = task.evaluation_criteria?.actions ?? [];
  let run;
  try {
    run = runActions(domain, task, actions);
  } catch (e) {
    checks.push({ name: 'gold-runs', ok: false, detail: `the task's initial state cannot be applied: ${(e as Error).message}` });
    return { checks, ok: false, signature: [] };
  }
  checks.push({
    name: 'gold-runs',
    ok: actions.length > 0 && run.errors.length === 0,
    detail: actions.length === 0 ? 'no gold actions' : run.errors.length ? run.errors.map((e) => `${e.actionId} ${e.name}: ${e.error}`).join('; ') : `${actions.length} gold action(s) ran without error`,
  });
  const g = checkGrounding(domain, task);
  checks.push({
    name: 'grounded',
    ok: g.total > 0 && g.ungrounded.length === 0,
    detail: g.ungrounded.length ? `not obtainable from the scenario or the tools: ${g.ungrounded.join(', ')}` : `${g.grounded}/${g.total} argument values grounded`,
  });
  const init = runActions(domain, task, []);
  const changes = diffStates(stateOf(init.env), stateOf(run.env));
  const writes = actions.filter((a) => init.env.hasTool(a.name) && init.env.isMutatingTool(a.name));
  checks.push({
    name: 'non-trivial',
    ok: writes.length > 0 && changes.length > 0,
    detail: `${writes.length} write action(s), ${changes.length} state leaf change(s) (need ≥1 of each)`,
  });
  const signature = taskSignature(domain, task);
  let best = { id: '', sim: 0 };
  for (const a of accepted) {
    const sim = jaccard(signature, a.signature);
    if (sim > best.sim) best = { id: a.id, sim };
  }
  checks.push({
    name: 'not-duplicate',
    ok: best.sim < DUPLICATE_THRESHOLD,
    detail: best.id ? `highest Jaccard similarity of write calls + changed leaves: ${best.sim.toFixed(2)} to ${best.id} (threshold ${DUPLICATE_THRESHOLD})` : 'no accepted task to compare with',
  });
  return { checks, ok: checks.every((c) => c.ok), signature };
}
