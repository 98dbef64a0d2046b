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

export function planAnswerSchema(patterns: readonly string[]): Record<string, unknown> {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['tier', 'toolPatterns', 'userStyle', 'persona', 'goal', 'rubric', 'failureTaxonomy'],
    properties: {
      tier: { type: 'string', enum: ['easy', 'medium', 'hard'] },
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
