// Plan pairs for a domain: the answer schema (closed vocabularies where the plan must be machine
// usable: task kind, tier, tool-use patterns, user style, failure kinds) and the non-overlap measure
// on the plan's structural signature.
import type { DomainSpec } from '../../domains/core/domain.ts';
import type { EvaluationPlan, SynthesisPlan, TaskKind } from '../../protocols/synthesis.ts';

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

/**
 * The structural signature of a synthesis plan — what the non-overlap check compares. Goal wording
 * is left out on purpose: two plans that differ only in words produce the same kind of task.
 * - `patterns`: the tool-use patterns (`write:X`, `lookup:Y`, `lookup-then-write`, `multi-write`);
 * - `entities`: the entity types the named tools touch (from the domain's collections, see
 *   `toolEntities`);
 * - `intent`: the task kind and how many writes it involves (`write/1`, `multi-intent/2+`, `info/0`,
 *   `refusal/0`);
 * - `style`: the user style; `tier`: the difficulty.
 */
export interface PlanSignature {
  patterns: string[];
  entities: string[];
  intent: string;
  style: string;
  tier: SynthesisPlan['tier'];
}

/** Entity types per tool name: the domain's top-level collections (singular) the tool's name or `*_id` parameters mention. */
export type ToolEntities = Record<string, string[]>;

const singular = (w: string) => (w.endsWith('ies') ? `${w.slice(0, -3)}y` : w.endsWith('s') ? w.slice(0, -1) : w);

export function toolEntities(domain: DomainSpec): ToolEntities {
  const env = domain.createEnvironment();
  const dump = env.agentDbDump();
  const collections = dump && typeof dump === 'object' && !Array.isArray(dump) ? Object.keys(dump as object).map(singular) : [];
  const out: ToolEntities = {};
  for (const t of env.getTools()) {
    const words = new Set([...t.name.split('_').map(singular), ...t.params.filter((p) => p.name.endsWith('_id')).map((p) => p.name.slice(0, -3))]);
    out[t.name] = collections.filter((c) => words.has(c)).sort();
  }
  return out;
}

export function planSignature(p: SynthesisPlan, entities: ToolEntities): PlanSignature {
  const kind = p.taskKind ?? 'write';
  const tools = p.toolPatterns.map((x) => /^(?:write|lookup):(.+)$/.exec(x)?.[1]).filter((x): x is string => !!x);
  const writes = p.toolPatterns.filter((x) => x.startsWith('write:')).length;
  const many = kind === 'multi-intent' || p.toolPatterns.includes('multi-write') || writes > 1;
  const intent = kind === 'info' || kind === 'refusal' ? `${kind}/0` : `${kind}/${many ? '2+' : '1'}`;
  return {
    patterns: [...new Set(p.toolPatterns)].sort(),
    entities: [...new Set(tools.flatMap((t) => entities[t] ?? []))].sort(),
    intent,
    style: p.userStyle,
    tier: p.tier,
  };
}

/** How much each part of the signature counts in the distance (they add up to 1). */
export const SIGNATURE_WEIGHTS = { patterns: 0.3, entities: 0.2, intent: 0.2, style: 0.15, tier: 0.15 } as const;

function jaccardDistance(a: readonly string[], b: readonly string[]): number {
  const A = new Set(a);
  const B = new Set(b);
  if (!A.size && !B.size) return 0;
  let inter = 0;
  for (const x of A) if (B.has(x)) inter++;
  return 1 - inter / (A.size + B.size - inter);
}

const TIER_RANK = { easy: 0, medium: 1, hard: 2 } as const;

/**
 * Signature distance in [0, 1]: the weighted sum of Jaccard distances (patterns, entity types), 0/1
 * mismatches (intent, style) and the tier gap (easy↔hard counts 1, a step 0.5).
 */
export function signatureDistance(a: PlanSignature, b: PlanSignature): number {
  const w = SIGNATURE_WEIGHTS;
  const d =
    w.patterns * jaccardDistance(a.patterns, b.patterns) +
    w.entities * jaccardDistance(a.entities, b.entities) +
    w.intent * (a.intent === b.intent ? 0 : 1) +
    w.style * (a.style === b.style ? 0 : 1) +
    w.tier * (Math.abs(TIER_RANK[a.tier] - TIER_RANK[b.tier]) / 2);
  return Math.round(d * 1000) / 1000;
}

/**
 * Plans closer than this are the same plan for the run: they differ in at most a user style and a
 * tier step (0.15 + 0.075), or in one of two patterns with nothing else. Measured: bench/engine.
 */
export const PLAN_MIN_DISTANCE = 0.25;
export const PLAN_OVERLAP_THRESHOLD = 1 - PLAN_MIN_DISTANCE;
export const PLAN_OVERLAP_MEASURE = 'structural signature distance (patterns 0.3, entity types 0.2, intent 0.2, style 0.15, tier 0.15); similarity = 1 − distance';

/** Similarity = 1 − signature distance (what `overlap.maxSimilarity` records). */
export function planSimilarity(a: SynthesisPlan, b: SynthesisPlan, entities: ToolEntities): number {
  return Math.round((1 - signatureDistance(planSignature(a, entities), planSignature(b, entities))) * 1000) / 1000;
}

export function maxSimilarity(p: SynthesisPlan, earlier: readonly SynthesisPlan[], entities: ToolEntities): number {
  return earlier.reduce((m, e) => Math.max(m, planSimilarity(p, e, entities)), 0);
}

/** The plan's distance to each earlier plan (the run report shows their distribution). */
export function distancesTo(p: SynthesisPlan, earlier: readonly SynthesisPlan[], entities: ToolEntities): number[] {
  const sig = planSignature(p, entities);
  return earlier.map((e) => signatureDistance(sig, planSignature(e, entities)));
}

/** A plan overlaps the earlier ones when its similarity reaches the threshold (distance below PLAN_MIN_DISTANCE). */
export function overlaps(p: SynthesisPlan, earlier: readonly SynthesisPlan[], entities: ToolEntities): boolean {
  return maxSimilarity(p, earlier, entities) >= PLAN_OVERLAP_THRESHOLD;
}

/** All pairwise distances of a set of plans (i < j). */
export function pairwiseDistances(plans: readonly SynthesisPlan[], entities: ToolEntities): number[] {
  const sigs = plans.map((p) => planSignature(p, entities));
  const out: number[] = [];
  for (let i = 0; i < sigs.length; i++) for (let j = i + 1; j < sigs.length; j++) out.push(signatureDistance(sigs[i], sigs[j]));
  return out;
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
