// Plan streams (pure; no I/O). A stream is one (synthesis plan, evaluation plan) pair that runs K
// rounds; after each round its pair is rewritten from the stream's own failures, read with their
// task-vs-trajectory blame, and the rewrite is kept only if the stream's next validation batch does
// not get worse (paired.ts, STREAM_RULE). The rewrite is by rule, not by a model: the blame mix says
// which way to move (a task that cannot be played is too hard or ambiguous; a task the agent fails is
// good training data and the evaluation plan learns the failure kind; a stream that passes everything
// is too easy), a 135M model cannot be relied on for that judgement, and a rule can be tested.
import type { Envelope } from '../../protocols/envelope.ts';
import type { EvaluationPlan, SynthesisPlan, TaskKind, TaskProposal } from '../../protocols/synthesis.ts';
import { FAILURE_TAXONOMY, PLAN_MIN_DISTANCE, planSignature, signatureDistance, type ToolEntities } from '../kit/plan-signature.ts';
import type { FailureRecord } from './failures.ts';

export type PlanPair = { synthesis: SynthesisPlan; evaluation: EvaluationPlan };

/** Where a failure came from, for the stream's blame mix. */
export type BlameSide = 'task' | 'trajectory' | 'user' | 'none';

/** The stream's failures by side: the task (drafts, checks, dialogues blamed on the task), the trajectory (the agent), the user simulator, none (infrastructure). */
export function blameSide(f: FailureRecord): BlameSide {
  if (f.kind === 'dialogue:user-violation') return 'user';
  if (f.kind.startsWith('dialogue:trajectory:')) return 'trajectory';
  if (f.kind === 'rollout:error' || f.kind === 'dialogue:timeout' || f.kind === 'dialogue:infrastructure_error') return 'none';
  if (f.kind === 'checker:candidate-rejected' || f.kind === 'critic:review-rejected' || f.kind === 'critic:revise-exhausted') return 'none';
  return 'task';
}

export function blameMix(failures: readonly FailureRecord[]): Record<BlameSide, number> {
  const mix: Record<BlameSide, number> = { task: 0, trajectory: 0, user: 0, none: 0 };
  for (const f of failures) mix[blameSide(f)]++;
  return mix;
}

/** The plan slot an item belongs to: `<runId>-p<i>-t<k>` → i. */
export function slotOf(runId: string, itemId: string): number | null {
  const m = new RegExp(`^${runId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-p(\\d+)-`).exec(itemId);
  return m ? Number(m[1]) : null;
}

/** Task kinds of a run's proposals per plan slot (each item counted once, by its first proposal). */
export function kindsBySlot(runId: string, envelopes: readonly Envelope<unknown>[]): Record<number, Partial<Record<TaskKind, number>>> {
  const seen = new Set<string>();
  const out: Record<number, Partial<Record<TaskKind, number>>> = {};
  for (const e of envelopes) {
    if (e.kind !== 'synth.task.proposed') continue;
    const p = e.data as TaskProposal;
    if (p.runId !== runId || seen.has(p.itemId)) continue;
    seen.add(p.itemId);
    const slot = slotOf(runId, p.itemId);
    if (slot === null) continue;
    const kind = p.intent?.kind ?? p.plan.synthesis.taskKind ?? 'write';
    out[slot] = { ...out[slot], [kind]: (out[slot]?.[kind] ?? 0) + 1 };
  }
  return out;
}

export interface Rewrite {
  pair: PlanPair;
  /** What was changed, one line each (`tier medium → easy`, `taxonomy + trajectory:missed-step`). */
  moves: string[];
  rationale: string;
  /** Ids of the failures the rewrite answers (lineage `failures`). */
  addresses: string[];
}

const TIERS = ['easy', 'medium', 'hard'] as const;
const CALM_STYLES = ['polite', 'terse'];
const RUBRIC_GROUNDED = 'every value the agent must write is in the user\'s known info or in a tool result';
const RUBRIC_FEASIBLE = 'the task can be done under the policy with the tools given';

/** `dialogue:trajectory:missed-step` → `trajectory:missed-step`, when the taxonomy knows it. */
function taxonomyKind(kind: string): string | null {
  const k = kind.replace(/^dialogue:/, '');
  return (FAILURE_TAXONOMY as readonly string[]).includes(k) ? k : null;
}

function withRubric(e: EvaluationPlan, line: string): EvaluationPlan {
  return e.rubric.includes(line) ? e : { ...e, rubric: [...e.rubric, line].slice(-5) };
}

/**
 * Candidate rewrites of a pair, most wanted first, from the stream's failures (`passed` of `items`
 * dialogues passed). Each candidate changes the synthesis plan's structure or the evaluation plan.
 * - task-side failures are at least half: make it feasible — tier one step down, else one write
 *   pattern fewer, else a multi-intent task becomes a single write; the rubric asks for grounded values;
 * - the user simulator broke the scenario: a calmer user style;
 * - near-duplicates: another intent structure (`lookup-then-write`, else a tier up);
 * - trajectory failures dominate: the tasks are good and the agent fails them — the synthesis plan is
 *   kept, the evaluation plan's taxonomy gains the observed kinds and the rubric names the step;
 * - no failure at all: the stream is too easy — a tier up, else two intents.
 */
export function rewriteCandidates(pair: PlanPair, failures: readonly FailureRecord[], passed: number, items: number): Rewrite[] {
  const mix = blameMix(failures);
  const ids = failures.map((f) => f.id);
  const s = pair.synthesis;
  const tier = TIERS.indexOf(s.tier);
  const kind = s.taskKind ?? 'write';
  const out: Rewrite[] = [];
  const add = (synthesis: SynthesisPlan, evaluation: EvaluationPlan, moves: string[], why: string, addresses = ids) => out.push({ pair: { synthesis, evaluation }, moves, rationale: why, addresses });
  const taskSide = mix.task;
  const counted = failures.length;
  if (counted && taskSide * 2 >= counted) {
    const why = `${taskSide} of ${counted} failure(s) blamed on the task: make it feasible`;
    const ev = withRubric(withRubric(pair.evaluation, RUBRIC_GROUNDED), RUBRIC_FEASIBLE);
    if (tier > 0) add({ ...s, tier: TIERS[tier - 1] }, ev, [`tier ${s.tier} → ${TIERS[tier - 1]}`, `rubric + "${RUBRIC_GROUNDED}"`], why);
    const writes = s.toolPatterns.filter((p) => p.startsWith('write:'));
    if (writes.length > 1) add({ ...s, toolPatterns: s.toolPatterns.filter((p) => p !== writes[writes.length - 1]) }, ev, [`patterns − ${writes[writes.length - 1]}`], why);
    if (kind === 'multi-intent') add({ ...s, taskKind: 'write' }, ev, ['kind multi-intent → write'], why);
    if (kind === 'refusal' || kind === 'info') add({ ...s, taskKind: 'write', toolPatterns: s.toolPatterns.some((p) => p.startsWith('write:')) ? s.toolPatterns : [...s.toolPatterns, 'lookup-then-write'] }, ev, [`kind ${kind} → write`], why);
  }
  if (mix.user > 0 && !CALM_STYLES.includes(s.userStyle)) {
    add({ ...s, userStyle: 'polite' }, pair.evaluation, [`user style ${s.userStyle} → polite`], `${mix.user} dialogue(s) where the user simulator broke the scenario`, failures.filter((f) => blameSide(f) === 'user').map((f) => f.id));
  }
  const dupes = failures.filter((f) => f.kind === 'critic:not-duplicate');
  if (dupes.length) {
    const why = `${dupes.length} near-duplicate draft(s): another intent structure`;
    if (!s.toolPatterns.includes('lookup-then-write')) add({ ...s, toolPatterns: [...s.toolPatterns, 'lookup-then-write'] }, pair.evaluation, ['patterns + lookup-then-write'], why, dupes.map((f) => f.id));
    if (tier < 2) add({ ...s, tier: TIERS[tier + 1] }, pair.evaluation, [`tier ${s.tier} → ${TIERS[tier + 1]}`], why, dupes.map((f) => f.id));
  }
  const traj = failures.filter((f) => blameSide(f) === 'trajectory');
  if (traj.length) {
    const kinds = [...new Set(traj.map((f) => taxonomyKind(f.kind)).filter((k): k is string => !!k))];
    const newKinds = kinds.filter((k) => !pair.evaluation.failureTaxonomy.includes(k));
    const steps = kinds.map((k) => k.replace('trajectory:', '').replace(/-/g, ' '));
    let ev: EvaluationPlan = { ...pair.evaluation, failureTaxonomy: [...pair.evaluation.failureTaxonomy, ...newKinds] };
    if (steps.length) ev = withRubric(ev, `the agent avoids: ${steps.join(', ')}`);
    if (JSON.stringify(ev) !== JSON.stringify(pair.evaluation)) {
      add(s, ev, [...newKinds.map((k) => `taxonomy + ${k}`), ...(steps.length ? [`rubric + "the agent avoids: ${steps.join(', ')}"`] : [])], `${traj.length} failure(s) blamed on the trajectory: the tasks are kept, the evaluation plan names the failures`, traj.map((f) => f.id));
    }
  }
  if (!counted && items > 0 && passed === items) {
    const why = `all ${items} dialogue(s) passed: the stream is too easy`;
    if (tier < 2) add({ ...s, tier: TIERS[tier + 1] }, pair.evaluation, [`tier ${s.tier} → ${TIERS[tier + 1]}`], why, []);
    if (kind === 'write') add({ ...s, taskKind: 'multi-intent', toolPatterns: s.toolPatterns.includes('multi-write') ? s.toolPatterns : [...s.toolPatterns, 'multi-write'] }, pair.evaluation, ['kind write → multi-intent'], why, []);
  }
  return out;
}

/**
 * The stream's rewrite: the first candidate whose synthesis plan stays apart from every other
 * stream's (signature distance ≥ PLAN_MIN_DISTANCE — streams must not converge on one plan), or null
 * with the reason.
 */
export function rewritePair(
  pair: PlanPair,
  failures: readonly FailureRecord[],
  o: { passed: number; items: number; others: readonly SynthesisPlan[]; entities: ToolEntities },
): { rewrite: Rewrite | null; reason: string } {
  const cands = rewriteCandidates(pair, failures, o.passed, o.items);
  if (!cands.length) return { rewrite: null, reason: failures.length ? `no rule fits the failure mix (${JSON.stringify(blameMix(failures))})` : 'no failure and not every dialogue passed: nothing to learn from' };
  for (const c of cands) {
    const sig = planSignature(c.pair.synthesis, o.entities);
    const near = o.others.map((x) => signatureDistance(sig, planSignature(x, o.entities))).filter((d) => d < PLAN_MIN_DISTANCE);
    if (!near.length) return { rewrite: c, reason: c.rationale };
  }
  return { rewrite: null, reason: `every rewrite (${cands.map((c) => c.moves.join(', ')).join(' | ')}) overlaps another stream's plan` };
}
