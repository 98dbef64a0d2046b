// Plan pairs for a domain: the answer schema (closed vocabularies where the plan must be machine
// usable: task kind, tier, tool-use patterns, user style, failure kinds) and the non-overlap measure
// on the plan's structural signature.
import type { DomainSpec } from '../../domains/core/domain.ts';
import type { EvaluationPlan, SynthesisPlan, TaskKind } from '../../protocols/synthesis.ts';

export const USER_STYLES = ['terse', 'chatty', 'confused', 'impatient', 'polite', 'detail-oriented', 'skeptical', 'indecisive'] as const;

export { FAILURE_TAXONOMY } from '../kit/plan-signature.ts';
import { FAILURE_TAXONOMY } from '../kit/plan-signature.ts';

/** Tool-use patterns a plan may require, built from the domain's agent tools. */
export function toolPatterns(domain: DomainSpec): string[] {
  const env = domain.createEnvironment();
  const tools = env.getTools();
  const writes = tools.filter((t) => env.isMutatingTool(t.name) && t.type === 'write').map((t) => `write:${t.name}`);
  const reads = tools.filter((t) => t.type === 'read').map((t) => `lookup:${t.name}`);
  return [...writes, ...reads, 'lookup-then-write', 'multi-write'];
}

export const TASK_KINDS = ['write', 'info', 'refusal', 'multi-intent'] as const;

export interface PlanAnswer {
  taskKind?: TaskKind;
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
    required: ['tier', 'taskKind', 'toolPatterns', 'userStyle', 'persona', 'goal', 'rubric', 'failureTaxonomy'],
    properties: {
      taskKind: { type: 'string', enum: [...TASK_KINDS] },
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
    synthesis: { tier: a.tier, toolPatterns: [...new Set(a.toolPatterns)], userStyle: a.userStyle, persona: a.persona.trim() || 'an ordinary customer', goal: a.goal.trim(), taskKind: a.taskKind ?? 'write' },
    evaluation: { rubric: a.rubric.map((r) => r.trim()).filter(Boolean).length ? a.rubric.map((r) => r.trim()).filter(Boolean) : ['the final state matches the goal'], failureTaxonomy: [...new Set(a.failureTaxonomy)] },
  };
}

// The signature and its distance live in the kit: the evolver's plan streams keep apart with them too.
export {
  PLAN_MIN_DISTANCE,
  PLAN_OVERLAP_MEASURE,
  PLAN_OVERLAP_THRESHOLD,
  SIGNATURE_WEIGHTS,
  distancesTo,
  maxSimilarity,
  overlaps,
  pairwiseDistances,
  planSignature,
  planSimilarity,
  signatureDistance,
  toolEntities,
  type PlanSignature,
  type ToolEntities,
} from '../kit/plan-signature.ts';

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
