// The structural signature of a plan and the distance between two — what keeps a run's plans (the
// meta-planner) and the evolver's plan streams apart — and the failure taxonomy plans draw from.
import type { DomainSpec } from '../../domains/core/domain.ts';
import type { SynthesisPlan } from '../../protocols/synthesis.ts';

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

