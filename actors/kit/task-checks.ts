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
export function checkGrounding(domain: DomainSpec, task: Task, extra: readonly { name: string; arguments: Record<string, unknown> }[] = []): GroundingResult {
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
  const gold = task.evaluation_criteria?.actions ?? [];
  // `extra` (a refusal's forbidden request) is judged after every gold action: what the agent may know by then.
  [...gold, ...extra].forEach((a, i) => {
    for (const [k, v] of Object.entries(a.arguments)) {
      for (const leaf of stringLeaves(v, new Set())) {
        total++;
        const ok = lower.includes(leaf.toLowerCase()) || evidence.has(leaf) || ((i < gold.length ? earlier[i] : acc)?.has(leaf) ?? false);
        if (ok) grounded++;
        else ungrounded.push(`${a.name}.${k}=${JSON.stringify(leaf)}`);
      }
    }
  });
  return { grounded, total, ungrounded };
}

/**
 * Tokens describing what a task does: its write calls and the state leaves it changes; for a task
 * that writes nothing, its reads and what it tells (info) or refuses (refusal).
 */
export function taskSignature(domain: DomainSpec, task: Task, intent?: TaskIntentLike): string[] {
  const actions = task.evaluation_criteria?.actions ?? [];
  const init = runActions(domain, task, []);
  const gold = runActions(domain, task, actions);
  const env = init.env;
  const calls = actions.filter((a) => env.hasTool(a.name) && env.isMutatingTool(a.name)).map((a) => `call:${a.name}(${canonical(a.arguments)})`);
  const leaves = diffStates(stateOf(init.env), stateOf(gold.env)).map((c) => `leaf:${[c.side, ...c.path].join('.')}=${canonical(c.after ?? null)}`);
  const saying =
    intent?.kind === 'info' || intent?.kind === 'refusal'
      ? [
          ...actions.map((a) => `read:${a.name}(${canonical(a.arguments)})`),
          ...(intent.communicate ?? []).map((v) => `tell:${v}`),
          ...(intent.forbidden ?? []).map((f) => `refuse:${f.name}(${canonical(f.arguments)})`),
        ]
      : [];
  return [...new Set([...calls, ...leaves, ...saying])];
}

/** The part of a proposal's `intent` the checks read. */
export interface TaskIntentLike {
  kind: 'write' | 'info' | 'refusal' | 'multi-intent';
  communicate?: string[];
  forbidden?: { name: string; arguments: Record<string, unknown> }[];
}

/** Scalar leaves of the gold actions' tool outputs (what the agent learns by making them). */
function goldOutputs(domain: DomainSpec, task: Task): Set<string> {
  const out = new Set<string>();
  for (const m of runActions(domain, task, task.evaluation_criteria?.actions ?? []).trajectory) if (m.role === 'tool' && !(m as { error?: boolean }).error) stringLeaves(parseOutput(String(m.content ?? '')), out);
  return out;
}

/**
 * Substance per kind. write: ≥1 write and ≥1 changed leaf; multi-intent: ≥2 writes; info: no write,
 * ≥1 value to tell, each returned by a gold read and not already in the scenario; refusal: no write,
 * and the forbidden request runs on the initial state and changes it (only the policy stops it).
 */
export function substanceCheck(domain: DomainSpec, task: Task, intent?: TaskIntentLike): CriticCheck {
  const actions = task.evaluation_criteria?.actions ?? [];
  const init = runActions(domain, task, []);
  const run = runActions(domain, task, actions);
  const changes = diffStates(stateOf(init.env), stateOf(run.env));
  const writes = actions.filter((a) => init.env.hasTool(a.name) && init.env.isMutatingTool(a.name));
  const kind = intent?.kind ?? 'write';
  if (kind === 'write' || kind === 'multi-intent') {
    const need = kind === 'multi-intent' ? 2 : 1;
    return { name: 'non-trivial', ok: writes.length >= need && changes.length > 0, detail: `${kind}: ${writes.length} write action(s), ${changes.length} state leaf change(s) (need ≥${need} and ≥1)` };
  }
  if (writes.length) return { name: 'non-trivial', ok: false, detail: `${kind}: the gold actions may not write, but call ${writes.map((a) => a.name).join(', ')}` };
  if (kind === 'info') {
    const info = intent?.communicate ?? [];
    const outputs = goldOutputs(domain, task);
    const scenario = scenarioText(task).toLowerCase();
    const bad = info.filter((v) => !outputs.has(v) || scenario.includes(v.toLowerCase()));
    return { name: 'non-trivial', ok: info.length > 0 && bad.length === 0, detail: info.length ? (bad.length ? `values the gold reads do not return, or the user already knows: ${bad.map((v) => JSON.stringify(v)).join(', ')}` : `info: ${info.length} value(s) to tell, each returned by a gold read`) : 'info: no value to tell' };
  }
  const forbidden = intent?.forbidden ?? [];
  if (!forbidden.length) return { name: 'non-trivial', ok: false, detail: 'refusal: no forbidden request' };
  const complied = runActions(domain, task, [...actions, ...forbidden.map((f, i) => ({ action_id: `forbidden_${i}`, requestor: 'assistant' as const, name: f.name, arguments: f.arguments, info: null }))]);
  const effect = diffStates(stateOf(run.env), stateOf(complied.env));
  return {
    name: 'non-trivial',
    ok: complied.errors.length === 0 && effect.length > 0,
    detail: complied.errors.length ? `refusal: the forbidden request fails on its own (${complied.errors.map((e) => e.error).join('; ')}), so no policy is needed to stop it` : `refusal: the forbidden request would change ${effect.length} leaf/leaves`,
  };
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
export function deterministicChecks(domain: DomainSpec, task: Task, accepted: readonly { id: string; signature: string[] }[], intent?: TaskIntentLike): DeterministicReview {
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
  const g = checkGrounding(domain, task, intent?.kind === 'refusal' ? (intent.forbidden ?? []) : []);
  checks.push({
    name: 'grounded',
    // An info task may read with no argument at all (list the users); every other task names something.
    ok: (g.total > 0 || intent?.kind === 'info') && g.ungrounded.length === 0,
    detail: g.ungrounded.length ? `not obtainable from the scenario or the tools: ${g.ungrounded.join(', ')}` : `${g.grounded}/${g.total} argument values grounded`,
  });
  checks.push(substanceCheck(domain, task, intent));
  const signature = taskSignature(domain, task, intent);
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

export interface DialogueGroundingResult {
  /** Literal argument values of the dialogue's writes that no earlier user turn or tool result contains. */
  ungrounded: string[];
  /** Literal values checked. */
  checked: number;
}

/** Strings and numbers of an argument value (object keys and booleans are structure and choice, not facts). */
function literalLeaves(v: unknown, out: string[] = []): string[] {
  if (typeof v === 'string') out.push(v);
  else if (typeof v === 'number') out.push(String(v));
  else if (Array.isArray(v)) for (const x of v) literalLeaves(x, out);
  else if (v && typeof v === 'object') for (const x of Object.values(v)) literalLeaves(x, out);
  return out;
}

/**
 * Grounding of a played dialogue (pure): every literal value the agent writes (strings and numbers
 * in the arguments of its calls to mutating tools) must occur, case-insensitively, in a user turn or
 * a tool result that came before the call. A final-state checker cannot see this: an agent that
 * writes the gold call although the user never asked for it passes the checker, and a dialogue like
 * that teaches a model to write what the conversation does not justify. Parameters whose value is a
 * choice among fixed options (`isChoice`: enum-typed) are the agent's judgment, not a fact to copy,
 * and are not checked. The empty string is never checked.
 */
/** What grounding reads of a message (τ² trajectories and the scene's messages both fit). */
export interface GroundingMessage {
  role: string;
  content?: string | null;
  tool_calls?: readonly { name: string; arguments?: Record<string, unknown> }[] | null;
}

export function checkDialogueGrounding(
  messages: readonly GroundingMessage[],
  isWrite: (tool: string) => boolean,
  isChoice: (tool: string, param: string) => boolean = () => false,
): DialogueGroundingResult {
  let heard = '';
  let checked = 0;
  const ungrounded: string[] = [];
  for (const m of messages) {
    if (m.role === 'assistant') {
      for (const c of m.tool_calls ?? []) {
        if (!isWrite(c.name)) continue;
        for (const [k, v] of Object.entries(c.arguments ?? {})) {
          if (isChoice(c.name, k)) continue;
          for (const leaf of literalLeaves(v)) {
            if (leaf.trim() === '') continue;
            checked++;
            if (!heard.includes(leaf.toLowerCase())) ungrounded.push(`${c.name}.${k}=${JSON.stringify(leaf)}`);
          }
        }
      }
    } else if (m.role === 'user' || m.role === 'tool') {
      heard += `\n${String(m.content ?? '').toLowerCase()}`;
    }
  }
  return { ungrounded, checked };
}
