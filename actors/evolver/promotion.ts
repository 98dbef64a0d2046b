// Promotion of a candidate revision (pure; no I/O). The evolver runs a validation batch twice — the
// current revision and the candidate, on the same plans and seeds — and hands the per-item outcomes
// here. Items are paired by their place in the run (same plan slot, same task index, same seeds), and
// each metric is decided by McNemar's exact test on the pairs (paired.ts): the candidate is promoted
// only if no measured metric got worse (p_worse > alpha; default 0.5, i.e. no more losses than wins)
// and at least one shows a net win. An exact tie does not promote (ROLE_RULE): a role's instructions
// act on every stream, so they change on evidence only. Before this, any candidate within one standard
// error of the current arm promoted — with 4 items per arm that was every candidate, 2/4 → 1/4 included.
// The archive keeps the best revisions measured so far (restore-if-behind, unpaired: z·SE).
import { z } from 'zod';
import { pairedDecision, type ItemOutcomes, type PairCounts, type PairedRule, ROLE_RULE } from './paired.ts';

/** Counts from one arm of a validation batch, with the per-item outcomes the paired test needs. */
export interface BatchOutcome {
  /** Tasks proposed (drafts that entered the funnel). */
  proposed: number;
  /** Tasks accepted at the end of the funnel (verified dialogue with a checker). */
  accepted: number;
  /** Checkers put to the discrimination test (run on a passing and on failing dialogues). */
  checkersTested: number;
  /** Of those, checkers that passed the good dialogue and failed every bad one. */
  checkersDiscriminating: number;
  /** Per item place (item id less the run id) → the dialogue passed its checker. */
  items?: ItemOutcomes;
  /** Per item place whose checker the verifier's model wrote → that checker discriminated. */
  checkerItems?: ItemOutcomes;
}

export interface PromotionConfig {
  /** Restore-if-behind (archive, unpaired): how many standard errors a gap must exceed. 1 by default. */
  z: number;
  /** The paired test's threshold (paired.ts): drop when p(worse) ≤ alpha. 0.5 by default. */
  alpha?: number;
}

export const DEFAULT_PROMOTION: PromotionConfig = { z: 1, alpha: ROLE_RULE.alpha };

export interface Proportion {
  successes: number;
  trials: number;
  /** successes / trials; NaN when there were no trials. */
  p: number;
}

export interface MetricVerdict {
  metric: 'yield' | 'discrimination';
  current: Proportion;
  candidate: Proportion;
  /** candidate.p − current.p (unpaired, for the report) */
  delta: number;
  /** Discordant pairs and the exact one-sided p-values. */
  pairs: PairCounts;
  pWorse: number;
  pBetter: number;
  /** false when no item was measured in both arms (the metric is left out of the decision). */
  measured: boolean;
  /** Not worse by the paired test. */
  ok: boolean;
  /** A net win on the pairs (wins > losses). */
  better: boolean;
  why: string;
}

export interface PromotionDecision {
  promote: boolean;
  metrics: MetricVerdict[];
  reason: string;
}

function proportion(successes: number, trials: number, what: string): Proportion {
  if (!Number.isInteger(successes) || !Number.isInteger(trials) || successes < 0 || trials < 0 || successes > trials) {
    throw new Error(`${what}: need integers 0 ≤ successes ≤ trials, got ${successes}/${trials}`);
  }
  return { successes, trials, p: trials ? successes / trials : NaN };
}

/**
 * Standard error of the difference of two independent binomial proportions, from Agresti–Caffo
 * adjusted proportions (one success and one failure added to each arm). Used by restore-if-behind,
 * which compares pooled archive counts from different runs (not paired).
 */
export function diffStandardError(a: Proportion, b: Proportion): number {
  const term = (x: Proportion) => {
    const p = (x.successes + 1) / (x.trials + 2);
    return (p * (1 - p)) / (x.trials + 2);
  };
  return Math.sqrt(term(a) + term(b));
}

function judge(metric: MetricVerdict['metric'], current: Proportion, candidate: Proportion, cur: ItemOutcomes, cand: ItemOutcomes, rule: PairedRule): MetricVerdict {
  const d = pairedDecision(cur, cand, rule, metric);
  const measured = d.counts.pairs > 0;
  const delta = current.trials && candidate.trials ? candidate.p - current.p : NaN;
  const ok = !measured || d.pWorse > rule.alpha;
  const better = d.counts.wins > d.counts.losses;
  const why = measured ? `${d.why} (${candidate.successes}/${candidate.trials} vs ${current.successes}/${current.trials})` : `${metric}: no item measured in both arms`;
  return { metric, current, candidate, delta, pairs: d.counts, pWorse: d.pWorse, pBetter: d.pBetter, measured, ok, better, why };
}

/** Outcomes per item from counts alone cannot be paired: the caller must give `items`. */
function itemsOf(o: BatchOutcome, arm: string): ItemOutcomes {
  if (!o.items) throw new Error(`promotion: the ${arm} arm has no per-item outcomes; the paired test needs them (batchOutcome gives them)`);
  return o.items;
}

/**
 * Promote iff every measured metric is not worse by the paired test and at least one has a net win
 * (ties do not promote). Yield pairs every item; discrimination pairs the items where both arms'
 * verifier wrote a model checker.
 */
export function decidePromotion(current: BatchOutcome, candidate: BatchOutcome, cfg: PromotionConfig = DEFAULT_PROMOTION): PromotionDecision {
  if (!(cfg.z >= 0) || !Number.isFinite(cfg.z)) throw new Error(`promotion: z must be a finite number ≥ 0, got ${cfg.z}`);
  if (candidate.proposed === 0) throw new Error('promotion: the candidate arm proposed no task; run a validation batch first');
  const rule: PairedRule = { ...ROLE_RULE, alpha: cfg.alpha ?? ROLE_RULE.alpha };
  const metrics = [
    judge('yield', proportion(current.accepted, current.proposed, 'current yield'), proportion(candidate.accepted, candidate.proposed, 'candidate yield'), itemsOf(current, 'current'), itemsOf(candidate, 'candidate'), rule),
    judge(
      'discrimination',
      proportion(current.checkersDiscriminating, current.checkersTested, 'current discrimination'),
      proportion(candidate.checkersDiscriminating, candidate.checkersTested, 'candidate discrimination'),
      current.checkerItems ?? {},
      candidate.checkerItems ?? {},
      rule,
    ),
  ];
  const measured = metrics.filter((m) => m.measured);
  const worse = measured.filter((m) => !m.ok);
  const won = measured.some((m) => m.better);
  const promote = measured.length > 0 && worse.length === 0 && won;
  const reason = promote
    ? `promote: ${measured.map((m) => m.why).join('; ')}`
    : worse.length
      ? `roll back (worse): ${worse.map((m) => m.why).join('; ')}`
      : `roll back (no net win on paired items): ${metrics.map((m) => m.why).join('; ')}`;
  return { promote, metrics, reason };
}

// ---------------------------------------------------------------------------------------------
// Archive of the best revisions per role

export const ArchiveEntrySchema = z.object({
  revision: z.number().int().positive(),
  proposed: z.number().int().nonnegative(),
  accepted: z.number().int().nonnegative(),
  yield: z.number(),
  /** Round in which it was last measured. */
  round: z.number().int().nonnegative(),
});
export type ArchiveEntry = z.infer<typeof ArchiveEntrySchema>;
/** role (or plan./params. key) → its best revisions, best first. Stored as a typed value. */
export const ArchiveSchema = z.record(z.string(), z.array(ArchiveEntrySchema));
export type Archive = z.infer<typeof ArchiveSchema>;

export const DEFAULT_ARCHIVE_SIZE = 5;

function better(a: ArchiveEntry, b: ArchiveEntry): number {
  // Higher yield first; on equal yield the one measured on more tasks, then the newer revision.
  return b.yield - a.yield || b.proposed - a.proposed || b.revision - a.revision;
}

/**
 * Record a measurement of `revision` and keep the top `k` of `key` by measured yield. A revision
 * measured again has its counts pooled (more trials, a tighter estimate). Returns a new archive.
 */
export function archiveMeasurement(
  archive: Archive,
  key: string,
  m: { revision: number; proposed: number; accepted: number; round: number },
  k: number = DEFAULT_ARCHIVE_SIZE,
): Archive {
  if (!Number.isInteger(k) || k < 1) throw new Error(`archive size must be a positive integer, got ${k}`);
  proportion(m.accepted, m.proposed, `archive ${key}@${m.revision}`);
  const list = [...(archive[key] ?? [])];
  const i = list.findIndex((e) => e.revision === m.revision);
  const proposed = m.proposed + (i >= 0 ? list[i].proposed : 0);
  const accepted = m.accepted + (i >= 0 ? list[i].accepted : 0);
  const entry: ArchiveEntry = { revision: m.revision, proposed, accepted, yield: proposed ? accepted / proposed : 0, round: m.round };
  if (i >= 0) list.splice(i, 1);
  list.push(entry);
  list.sort(better);
  return { ...archive, [key]: list.slice(0, k) };
}

/** The best archived revision of `key`, if any. */
export function bestArchived(archive: Archive, key: string): ArchiveEntry | undefined {
  return archive[key]?.[0];
}

/** After a validation batch: the decision and the archive with both arms recorded. */
export function promotionRound(input: {
  key: string;
  round: number;
  current: { revision: number; outcome: BatchOutcome };
  candidate: { revision: number; outcome: BatchOutcome };
  archive: Archive;
  config?: PromotionConfig;
  archiveSize?: number;
}): { decision: PromotionDecision; keep: number; archive: Archive } {
  const decision = decidePromotion(input.current.outcome, input.candidate.outcome, input.config);
  let archive = input.archive;
  for (const arm of [input.current, input.candidate]) {
    archive = archiveMeasurement(archive, input.key, { revision: arm.revision, proposed: arm.outcome.proposed, accepted: arm.outcome.accepted, round: input.round }, input.archiveSize);
  }
  return { decision, keep: decision.promote ? input.candidate.revision : input.current.revision, archive };
}
