// The scriptwriter's exploration of a domain database with the agent's read tools: every read tool
// that needs no argument, then read tools with one required string argument called on id-like values
// seen so far. What it sees bounds what a draft may name (ids come from here, never from thin air).
import type { ExplorationStep } from '../../protocols/synthesis.ts';
import type { Environment } from '../../domains/core/environment.ts';

const MAX_STEPS = 24;

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** (key, value) pairs of string/number leaves, keys included as values of the pseudo-key `$key`. */
export function observedPairs(v: unknown, out: [string, string][] = [], key = ''): [string, string][] {
  if (typeof v === 'string' || typeof v === 'number') out.push([key, String(v)]);
  else if (Array.isArray(v)) for (const x of v) observedPairs(x, out, key);
  else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      out.push(['$key', k]);
      observedPairs(x, out, k);
    }
  }
  return out;
}

/**
 * Seed ids from the database itself: `perCollection` keys of every top-level collection of the agent
 * DB, starting at `offset` (so different items of a plan look at different entities). Domains whose
 * read tools all need an id (airline, retail: the user states their id) are explored from these.
 */
export function seedIds(env: Environment, offset = 0, perCollection = 2): string[] {
  const dump = env.agentDbDump();
  const out: string[] = [];
  if (!dump || typeof dump !== 'object' || Array.isArray(dump)) return out;
  for (const coll of Object.values(dump as Record<string, unknown>)) {
    if (!coll || typeof coll !== 'object' || Array.isArray(coll)) continue;
    const keys = Object.keys(coll);
    for (let i = 0; i < Math.min(perCollection, keys.length); i++) out.push(keys[(offset + i) % keys.length]);
  }
  return out;
}

export function explore(env: Environment, offset = 0): ExplorationStep[] {
  const steps: ExplorationStep[] = [];
  const seeds = seedIds(env, offset);
  const reads = env.getTools().filter((t) => t.type === 'read' && !env.isMutatingTool(t.name));
  const call = (name: string, args: Record<string, unknown>) => {
    const r = env.getResponse({ id: `explore_${steps.length}`, name, arguments: args });
    steps.push({ name, arguments: args, output: r.content.slice(0, 4000), error: r.error });
  };
  for (const t of reads.filter((t) => t.params.every((p) => 'default' in p))) call(t.name, {});
  const tried = new Set<string>();
  for (const t of reads) {
    const required = t.params.filter((p) => !('default' in p));
    if (required.length !== 1) continue;
    const p = required[0].name;
    const stem = p.replace(/_id$/, '');
    const values = new Set<string>(seeds.filter((v) => p.endsWith('_id') && (v.startsWith(`${stem}_`) || /\d/.test(v))));
    for (const s of steps) for (const [k, v] of observedPairs(parse(s.output))) if (k === p || (p.endsWith('_id') && v.startsWith(`${stem}_`))) values.add(v);
    for (const v of values) {
      if (steps.length >= MAX_STEPS || tried.has(`${t.name}:${v}`)) continue;
      tried.add(`${t.name}:${v}`);
      call(t.name, { [p]: v });
    }
  }
  return steps;
}

/**
 * Candidate values for a parameter, from the exploration: values under the same key, `<stem>_…` ids,
 * or (for `<stem>_id`) values listed under the plural key (`reservations: ["NO6JO3", …]`).
 */
export function candidatesFor(param: string, steps: readonly ExplorationStep[]): string[] {
  const stem = param.replace(/_id$/, '');
  const out = new Set<string>();
  for (const s of steps) {
    if (s.error) continue;
    for (const [k, v] of observedPairs(parse(s.output))) {
      if (k === param || (param.endsWith('_id') && (k === `${stem}s` || (v.startsWith(`${stem}_`) && v.length <= 64)))) out.add(v);
    }
  }
  return [...out];
}

/** Every observed string value (used to build perturbations that name another real entity). */
export function observedValues(steps: readonly ExplorationStep[]): string[] {
  const out = new Set<string>();
  for (const s of steps) if (!s.error) for (const [, v] of observedPairs(parse(s.output))) if (v.length <= 64) out.add(v);
  return [...out];
}
