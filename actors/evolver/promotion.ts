// Promotion of a candidate revision (pure; no I/O). The evolver runs a validation batch twice — the
// current revision and the candidate, on the same plans and seeds — and hands the counts here. The
// candidate is promoted only if neither yield (accepted / proposed) nor checker discrimination
// (checkers that pass the good dialogue and fail the bad ones / checkers tested) got worse by more
// than the batch's noise: promote iff Δ ≥ −z·SE for every measured metric, where Δ is the candidate's
// proportion minus the current one's and SE the binomial standard error of that difference.
// A tie within noise therefore promotes (see docs/evolver.md for why), and the archive keeps the best
// revisions measured so far, so a promotion that was lucky never loses the good prompt.
import { z } from 'zod';

/** Counts from one arm of a validation batch. */
export interface BatchOutcome {
  /** Tasks proposed (drafts that entered the funnel). */
  proposed: number;
  /** Tasks accepted at the end of the funnel (verified dialogue with a checker). */
  accepted: number;
  /** Checkers put to the discrimination test (run on a passing and on failing dialogues). */
  checkersTested: number;
  /** Of those, checkers that passed the good dialogue and failed every bad one. */
  checkersDiscriminating: number;
}

export interface PromotionConfig {
  /** How many standard errors of a drop are forgiven as noise. 1 by default. */
  z: number;
}

export const DEFAULT_PROMOTION: PromotionConfig = { z: 1 };

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
  /** candidate.p − current.p */
  delta: number;
  se: number;
  /** −z·se: the lowest delta still counted as "not worse". */
  threshold: number;
  /** false when neither arm had trials (the metric is left out of the decision). */
  measured: boolean;
  ok: boolean;
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
 * adjusted proportions (one success and one failure added to each arm). The adjustment keeps the
 * SE above zero when an arm is all-or-nothing (0/8 or 8/8), where the plain Wald SE would be 0 and
 * any drop at all would count as significant.
 */
export function diffStandardError(a: Proportion, b: Proportion): number {
  const term = (x: Proportion) => {
    const p = (x.successes + 1) / (x.trials + 2);
    return (p * (1 - p)) / (x.trials + 2);
  };
  return Math.sqrt(term(a) + term(b));
}

function judge(metric: MetricVerdict['metric'], current: Proportion, candidate: Proportion, cfg: PromotionConfig): MetricVerdict {
  const se = diffStandardError(current, candidate);
  const threshold = -cfg.z * se;
  if (current.trials === 0 && candidate.trials === 0) {
    return { metric, current, candidate, delta: NaN, se, threshold, measured: false, ok: true, why: `${metric}: not measured in either arm` };
  }
  if (candidate.trials === 0) {
    return { metric, current, candidate, delta: NaN, se, threshold, measured: true, ok: false, why: `${metric}: the candidate produced nothing to measure` };
  }
  // The current arm without trials is no evidence against the candidate.
  const delta = current.trials === 0 ? 0 : candidate.p - current.p;
  const ok = delta >= threshold;
  const fmt = (x: number) => x.toFixed(3);
  return {
    metric,
    current,
    candidate,
    delta,
    se,
    threshold,
    measured: true,
    ok,
    why: `${metric}: ${candidate.successes}/${candidate.trials} vs ${current.successes}/${current.trials}, Δ=${fmt(delta)} ${ok ? '≥' : '<'} −${cfg.z}·SE=${fmt(threshold)}`,
  };
}

/** Promote iff every measured metric has Δ ≥ −z·SE. */
export function decidePromotion(current: BatchOutcome, candidate: BatchOutcome, cfg: PromotionConfig = DEFAULT_PROMOTION): PromotionDecision {
  if (!(cfg.z >= 0) || !Number.isFinite(cfg.z)) throw new Error(`promotion: z must be a finite number ≥ 0, got ${cfg.z}`);
  if (candidate.proposed === 0) throw new Error('promotion: the candidate arm proposed no task; run a validation batch first');
  const metrics = [
    judge('yield', proportion(current.accepted, current.proposed, 'current yield'), proportion(candidate.accepted, candidate.proposed, 'candidate yield'), cfg),
    judge(
      'discrimination',
      proportion(current.checkersDiscriminating, current.checkersTested, 'current discrimination'),
      proportion(candidate.checkersDiscriminating, candidate.checkersTested, 'candidate discrimination'),
      cfg,
    ),
  ];
  const failed = metrics.filter((m) => !m.ok);
  const promote = failed.length === 0;
  return { promote, metrics, reason: (promote ? 'promote: ' : 'roll back: ') + (promote ? metrics : failed).map((m) => m.why).join('; ') };
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
