// Workflow-parameter revisions (pure; no I/O). Some failure kinds have a fix that is a number, not a
// prompt: a critic that asks for a revision the run no longer allows wants more revision rounds; a
// role whose model answers are cut off or malformed wants more room; plans or drafts that keep
// coming out as near-duplicates want more sampling spread. A small model cannot be relied on to
// reason its way to those numbers, so the evolver proposes them by rule from the failure mix, and
// leaves everything else to the model's instructions rewrite (reflect.ts).
//
// Rule: a parameter rule fires when the failure kinds it answers make up at least half of the target
// role's attributed failures. Its proposal is the role's current parameters with one field moved one
// step (bounded), cites the failure ids of those kinds, and is validated like any write of
// `params.<role>`: against SynthRoleParamsSchema, the field must be one the role honours, and the
// value must differ from the current one. A proposal equal to the last discarded candidate is not
// made again (the rule then gives way to the instructions rewrite).
import { SynthRoleParamsSchema, type SynthRoleParams } from '../../protocols/synthesis.ts';
import type { EvolvableRole, FailureGroup } from './failures.ts';

export type ProposalKind = 'instructions' | 'params';
export const PROPOSAL_KINDS: readonly ProposalKind[] = ['instructions', 'params'];

/** Fields each role honours (docs/synthesis.md, "Workflow parameters"). */
export const ROLE_PARAM_FIELDS: Record<EvolvableRole, readonly (keyof SynthRoleParams)[]> = {
  'meta-planner': ['temperature', 'maxTokens', 'tierQuotas'],
  scriptwriter: ['temperature', 'maxTokens'],
  critic: ['temperature', 'maxTokens', 'votes', 'maxRevisions'],
  verifier: ['temperature', 'maxTokens'],
};

/** The roles' built-in defaults (an absent field means these; kept in step with the roles' code). */
export const ROLE_PARAM_DEFAULTS: Record<EvolvableRole, { temperature: number; maxTokens: number }> = {
  'meta-planner': { temperature: 0.9, maxTokens: 320 },
  scriptwriter: { temperature: 0.7, maxTokens: 400 },
  critic: { temperature: 0, maxTokens: 160 },
  verifier: { temperature: 0, maxTokens: 200 },
};

/** Steps and bounds of the moves (within the schema's bounds). */
export const STEPS = { maxRevisions: 2, maxRevisionsCap: 10, maxTokensFactor: 1.5, maxTokensCap: 4096, temperature: 0.2, temperatureCap: 1.5 } as const;

export interface ParamsProposal {
  role: EvolvableRole;
  /** The full new parameters (current ones with one field moved). */
  params: SynthRoleParams;
  field: keyof SynthRoleParams;
  from: unknown;
  to: unknown;
  /** The rule that fired, e.g. `critic:revise-exhausted → maxRevisions`. */
  rule: string;
  rationale: string;
  /** Failure ids the revision addresses (every id of the kinds the rule answers). */
  addresses: string[];
}

export interface ParamsContext {
  role: EvolvableRole;
  /** The target role's failure groups (all attributed to it). */
  groups: FailureGroup[];
  /** The role's live parameters (`{}` when none are set). */
  current: SynthRoleParams;
  /** The run request's maxRevisions, which applies while `params.critic.maxRevisions` is unset. */
  runMaxRevisions: number;
  /** The last candidate of this role's parameters that validation discarded, if any. */
  lastDiscarded?: SynthRoleParams | null;
}

const MALFORMED = /malformed answer|no JSON answer|truncat|finish_reason.?length|unexpected end/i;

interface Rule {
  name: string;
  roles: readonly EvolvableRole[];
  /** Does this failure group count for the rule? */
  matches: (g: FailureGroup) => boolean;
  /** The moved field, or null when it is already at its bound. */
  move: (c: ParamsContext) => { field: keyof SynthRoleParams; from: unknown; to: unknown; why: string } | null;
}

const RULES: Rule[] = [
  {
    name: 'critic:revise-exhausted → maxRevisions',
    roles: ['critic'],
    matches: (g) => g.kind === 'critic:revise-exhausted',
    move: (c) => {
      const from = c.current.maxRevisions ?? c.runMaxRevisions;
      const to = Math.min(STEPS.maxRevisionsCap, from + STEPS.maxRevisions);
      return to > from ? { field: 'maxRevisions', from, to, why: `the critic asked for revisions the run no longer allowed (${from} revision round(s)); allow ${to}` } : null;
    },
  },
  {
    name: 'malformed or cut-off answers → maxTokens',
    roles: ['meta-planner', 'scriptwriter'],
    matches: (g) => (g.kind === 'draft:unusable' || g.kind === 'plan:unusable') && g.examples.some((e) => MALFORMED.test(e)),
    move: (c) => {
      const from = c.current.maxTokens ?? ROLE_PARAM_DEFAULTS[c.role].maxTokens;
      const to = Math.min(STEPS.maxTokensCap, Math.round(from * STEPS.maxTokensFactor));
      return to > from ? { field: 'maxTokens', from, to, why: `the model's answers were malformed or cut off at ${from} tokens; give it ${to}` } : null;
    },
  },
  {
    name: 'near-duplicates → temperature',
    roles: ['meta-planner', 'scriptwriter'],
    matches: (g) => g.kind === 'plan:overlap' || g.kind === 'critic:not-duplicate',
    move: (c) => {
      const from = c.current.temperature ?? ROLE_PARAM_DEFAULTS[c.role].temperature;
      const to = Math.min(STEPS.temperatureCap, Math.round((from + STEPS.temperature) * 100) / 100);
      return to > from ? { field: 'temperature', from, to, why: `its outputs kept coming out as near-duplicates at temperature ${from}; sample wider at ${to}` } : null;
    },
  },
];

const same = (a: unknown, b: unknown) => JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
function sortKeys(v: unknown): unknown {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return v;
  return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)).map(([k, x]) => [k, sortKeys(x)]));
}

/** Check a parameters revision of `role` against the schema and the role; returns the problems (empty = valid). */
export function validateParamsRevision(role: EvolvableRole, current: SynthRoleParams, proposed: unknown, addresses: readonly string[], shownIds: readonly string[]): string[] {
  const problems: string[] = [];
  const r = SynthRoleParamsSchema.safeParse(proposed);
  if (!r.success) problems.push(`invalid ${role} parameters: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  else {
    const foreign = Object.keys(r.data).filter((k) => !ROLE_PARAM_FIELDS[role].includes(k as keyof SynthRoleParams));
    if (foreign.length) problems.push(`${role} does not honour ${foreign.join(', ')}`);
    if (same(r.data, current)) problems.push('the parameters are the current ones unchanged');
  }
  if (!addresses.length) problems.push('no failure ids cited');
  const unknown = addresses.filter((id) => !shownIds.includes(id));
  if (unknown.length) problems.push(`cites ids that are not failures of ${role}: ${unknown.join(', ')}`);
  return problems;
}

/**
 * The parameters revision the failure mix calls for, or null (no rule fires, the field is at its
 * bound, the proposal was discarded last time, or it does not validate): then the round rewrites
 * the instructions instead.
 */
export function proposeParams(c: ParamsContext): ParamsProposal | null {
  const total = c.groups.reduce((a, g) => a + g.ids.length, 0);
  if (!total) return null;
  const shown = c.groups.flatMap((g) => g.ids);
  for (const rule of RULES) {
    if (!rule.roles.includes(c.role)) continue;
    const hit = c.groups.filter(rule.matches);
    const n = hit.reduce((a, g) => a + g.ids.length, 0);
    if (!n || 2 * n < total) continue;
    const m = rule.move(c);
    if (!m) continue;
    const params = { ...c.current, [m.field]: m.to } as SynthRoleParams;
    if (c.lastDiscarded && same(params, c.lastDiscarded)) continue;
    const addresses = hit.flatMap((g) => g.ids);
    if (validateParamsRevision(c.role, c.current, params, addresses, shown).length) continue;
    return {
      role: c.role,
      params,
      field: m.field,
      from: m.from,
      to: m.to,
      rule: rule.name,
      rationale: `${m.why} (${n} of ${total} failure(s): ${hit.map((g) => g.kind).join(', ')})`,
      addresses,
    };
  }
  return null;
}
