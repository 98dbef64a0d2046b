// The paired test behind every keep-or-drop decision of the evolver (pure; no I/O). Both arms of a
// validation batch run the same items — same plan slots, same seeds — so item k of the current arm
// and item k of the candidate arm form a pair, and only the discordant pairs carry evidence: `losses`
// (current passed, candidate failed) and `wins` (candidate passed, current failed). McNemar's exact
// test: under "no difference" each discordant pair is a fair coin, so the one-sided p-value that the
// candidate is worse is P(X ≥ losses), X ~ Binomial(losses + wins, 1/2).
//
// Rule: drop the candidate iff p_worse ≤ alpha. With alpha = 0.5 (the default) this is exactly "more
// losses than wins" (P(X ≥ b) ≤ 1/2 iff b > n/2 for a fair coin), which a batch of 2–4 items can
// show; a classic alpha = 0.05 only drops a candidate after ≥ 5 unanswered losses, so on CPU-sized
// batches it would keep everything — the "ties promote" failure this replaces. `ties` says what an
// equal number of wins and losses (no evidence either way) does: keep (a plan stream: the rewrite
// answers the stream's own failures) or drop (a role's instructions: they act on every stream, so
// they change only on a net win).

export interface PairCounts {
  /** Items both arms ran. */
  pairs: number;
  bothPass: number;
  bothFail: number;
  /** current passed, candidate failed */
  losses: number;
  /** candidate passed, current failed */
  wins: number;
  /** Items only one arm has (not paired, not counted). */
  unpaired: number;
}

export interface PairedRule {
  /** Drop when the one-sided exact p-value of "candidate worse" is at most this. */
  alpha: number;
  ties: 'keep' | 'drop';
}

export const STREAM_RULE: PairedRule = { alpha: 0.5, ties: 'keep' };
export const ROLE_RULE: PairedRule = { alpha: 0.5, ties: 'drop' };

export interface PairedDecision {
  keep: boolean;
  counts: PairCounts;
  /** One-sided exact McNemar p-value that the candidate is worse (1 with no discordant pair). */
  pWorse: number;
  /** One-sided exact McNemar p-value that the candidate is better. */
  pBetter: number;
  why: string;
}

/** Outcomes per item place (`p0-t1`, the item id less the run id) → passed. */
export type ItemOutcomes = Record<string, boolean>;

export function pairCounts(current: ItemOutcomes, candidate: ItemOutcomes): PairCounts {
  const c: PairCounts = { pairs: 0, bothPass: 0, bothFail: 0, losses: 0, wins: 0, unpaired: 0 };
  for (const [k, a] of Object.entries(current)) {
    if (!(k in candidate)) {
      c.unpaired++;
      continue;
    }
    const b = candidate[k];
    c.pairs++;
    if (a && b) c.bothPass++;
    else if (!a && !b) c.bothFail++;
    else if (a) c.losses++;
    else c.wins++;
  }
  for (const k of Object.keys(candidate)) if (!(k in current)) c.unpaired++;
  return c;
}

/** P(X ≥ k) for X ~ Binomial(n, 1/2), exact. */
export function binomialTailHalf(k: number, n: number): number {
  if (!Number.isInteger(k) || !Number.isInteger(n) || n < 0) throw new Error(`binomialTailHalf: need integers, got k=${k}, n=${n}`);
  if (k <= 0) return 1;
  if (k > n) return 0;
  // Sum C(n, i) / 2^n in log space-free form: n stays small (validation batches), but keep it stable.
  let term = Math.pow(0.5, n); // C(n, 0) / 2^n
  let cdfBelow = 0;
  for (let i = 0; i < k; i++) {
    cdfBelow += term;
    term = (term * (n - i)) / (i + 1);
  }
  return Math.max(0, Math.min(1, 1 - cdfBelow));
}

/** McNemar's exact one-sided p-values from the discordant counts. */
export function mcnemarExact(losses: number, wins: number): { pWorse: number; pBetter: number } {
  const n = losses + wins;
  return { pWorse: binomialTailHalf(losses, n), pBetter: binomialTailHalf(wins, n) };
}

export function pairedDecision(current: ItemOutcomes, candidate: ItemOutcomes, rule: PairedRule, what = 'yield'): PairedDecision {
  if (!(rule.alpha > 0 && rule.alpha < 1)) throw new Error(`paired test: alpha must be in (0, 1), got ${rule.alpha}`);
  const counts = pairCounts(current, candidate);
  const { pWorse, pBetter } = mcnemarExact(counts.losses, counts.wins);
  const fmt = (x: number) => x.toFixed(3);
  const head = `${what}: ${counts.pairs} paired item(s), candidate won ${counts.wins}, lost ${counts.losses} (both passed ${counts.bothPass}, both failed ${counts.bothFail}); McNemar exact p(worse)=${fmt(pWorse)}`;
  let keep: boolean;
  let tail: string;
  if (counts.pairs === 0) {
    keep = false;
    tail = ': no paired item, no evidence for the candidate';
  } else if (pWorse <= rule.alpha) {
    keep = false;
    tail = `≤ α=${rule.alpha}: worse`;
  } else if (counts.wins === counts.losses) {
    keep = rule.ties === 'keep';
    tail = `> α=${rule.alpha}; a tie (${counts.wins}–${counts.losses}) ${keep ? 'keeps' : 'does not change'} the candidate`;
  } else {
    keep = true;
    tail = `> α=${rule.alpha}: not worse`;
  }
  return { keep, counts, pWorse, pBetter, why: `${head} ${tail}` };
}
