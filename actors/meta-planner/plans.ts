// Plan pairs for a domain: the answer schema (closed vocabularies where the plan must be machine
// usable: tier, tool-use patterns, user style, failure kinds) and the non-overlap measure.
import type { DomainSpec } from '../../domains/core/domain.ts';
import type { EvaluationPlan, SynthesisPlan } from '../../protocols/synthesis.ts';

export const USER_STYLES = ['terse', 'chatty', 'confused', 'impatient', 'polite', 'detail-oriented', 'skeptical', 'indecisive'] as const;

export const FAILURE_TAXONOMY = [
  'task:ambiguous-instructions',
  'task:infeasible-under-policy',
  'task:missing-information',
  'trajectory:wrong-tool',
  'trajectory:wrong-arguments',
  'trajectory:missed-step',
  'trajectory:policy-violation',
  'trajectory:user-deviated',
  'trajectory:gave-up',
] as const;

/** Tool-use patterns a plan may require, built from the domain's agent tools. */
export function toolPatterns(domain: DomainSpec): string[] {
  const env = domain.createEnvironment();
  const tools = env.getTools();
  const writes = tools.filter((t) => env.isMutatingTool(t.name) && t.type === 'write').map((t) => `write:${t.name}`);
  const reads = tools.filter((t) => t.type === 'read').map((t) => `lookup:${t.name}`);
  return [...writes, ...reads, 'lookup-then-write', 'multi-write'];
}

export interface PlanAnswer {
  tier: SynthesisPlan['tier'];
  toolPatterns: string[];
  userStyle: string;
  persona: string;
  goal: string;
  rubric: string[];
  failureTaxonomy: string[];
}

/** `tier`: the tier this slot must have (a quota); the answer's tier is then fixed to it. */
export function planAnswerSchema(patterns: readonly string[], tier?: SynthesisPlan['tier']): Record<string, unknown> {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['tier', 'toolPatterns', 'userStyle', 'persona', 'goal', 'rubric', 'failureTaxonomy'],
    properties: {
      tier: { type: 'string', enum: tier ? [tier] : ['easy', 'medium', 'hard'] },
      toolPatterns: { type: 'array', items: { type: 'string', enum: [...patterns] }, minItems: 1, maxItems: 3 },
      userStyle: { type: 'string', enum: [...USER_STYLES] },
      persona: { type: 'string', maxLength: 100 },
      goal: { type: 'string', maxLength: 140 },
      rubric: { type: 'array', items: { type: 'string', maxLength: 100 }, minItems: 1, maxItems: 3 },
      failureTaxonomy: { type: 'array', items: { type: 'string', enum: [...FAILURE_TAXONOMY] }, minItems: 2, maxItems: 5 },
    },
  };
}

export function toPlans(a: PlanAnswer): { synthesis: SynthesisPlan; evaluation: EvaluationPlan } {
  return {
    synthesis: { tier: a.tier, toolPatterns: [...new Set(a.toolPatterns)], userStyle: a.userStyle, persona: a.persona.trim() || 'an ordinary customer', goal: a.goal.trim() },
    evaluation: { rubric: a.rubric.map((r) => r.trim()).filter(Boolean).length ? a.rubric.map((r) => r.trim()).filter(Boolean) : ['the final state matches the goal'], failureTaxonomy: [...new Set(a.failureTaxonomy)] },
  };
}

const STOP = new Set(['a', 'an', 'the', 'to', 'of', 'and', 'or', 'for', 'in', 'on', 'with', 'their', 'his', 'her', 'user', 'task', 'wants']);

/**
 * Non-overlap measure: Jaccard similarity of plan feature sets — `tier:`, each `pattern:`, `style:`,
 * and the content words of the goal (lowercased, stop words removed). Two plans with the same tier,
 * patterns and style already share most features, whatever their wording.
 */
export function planFeatures(p: SynthesisPlan): string[] {
  const words = (p.goal.toLowerCase().match(/[a-z0-9_]+/g) ?? []).filter((w) => !STOP.has(w) && w.length > 2);
  return [`tier:${p.tier}`, ...p.toolPatterns.map((x) => `pattern:${x}`), `style:${p.userStyle}`, ...words.map((w) => `word:${w}`)];
}

export const PLAN_OVERLAP_THRESHOLD = 0.6;
export const PLAN_OVERLAP_MEASURE = 'jaccard(tier, tool patterns, user style, goal content words)';

export function planSimilarity(a: SynthesisPlan, b: SynthesisPlan): number {
  const A = new Set(planFeatures(a));
  const B = new Set(planFeatures(b));
  let inter = 0;
  for (const x of A) if (B.has(x)) inter++;
  const union = A.size + B.size - inter;
  return union ? inter / union : 1;
}

export function maxSimilarity(p: SynthesisPlan, earlier: readonly SynthesisPlan[]): number {
  return earlier.reduce((m, e) => Math.max(m, planSimilarity(p, e)), 0);
}

const TIERS = ['easy', 'medium', 'hard'] as const;

/**
 * Tier per plan slot from quota shares (`params.meta-planner.tierQuotas`): each tier gets
 * floor(share × n) slots, the slots left go to the largest remainders (ties: easy first); slots are
 * laid out easy → medium → hard. Without quotas every slot is free (undefined).
 */
export function tierSlots(n: number, quotas?: Partial<Record<SynthesisPlan['tier'], number>>): (SynthesisPlan['tier'] | undefined)[] {
  if (!quotas) return Array.from({ length: n }, () => undefined);
  const total = TIERS.reduce((a, t) => a + (quotas[t] ?? 0), 0);
  if (!(total > 0)) throw new Error('tierQuotas: the shares must add up to more than 0');
  const exact = TIERS.map((t) => ((quotas[t] ?? 0) / total) * n);
  const counts = exact.map(Math.floor);
  let left = n - counts.reduce((a, b) => a + b, 0);
  const order = TIERS.map((_, i) => i).sort((a, b) => exact[b] - counts[b] - (exact[a] - counts[a]) || a - b);
  for (const i of order) {
    if (left <= 0) break;
    counts[i]++;
    left--;
  }
  return TIERS.flatMap((t, i) => Array.from({ length: counts[i] }, () => t));
}
