// Unit: promotion of a candidate revision against the current one, and the archive of best revisions.
import { describe, expect, it } from 'vitest';
import {
  archiveMeasurement,
  ArchiveSchema,
  bestArchived,
  decidePromotion,
  diffStandardError,
  promotionRound,
  type Archive,
  type BatchOutcome,
} from '../../actors/evolver/promotion.ts';
import { binomialTailHalf, mcnemarExact, pairCounts, pairedDecision, ROLE_RULE, STREAM_RULE } from '../../actors/evolver/paired.ts';

/** An arm whose first `accepted` item places passed (so two arms pair nested: p0 with p0, …). */
const arm = (accepted: number, proposed: number, disc = 0, tested = 0): BatchOutcome => ({
  proposed,
  accepted,
  checkersTested: tested,
  checkersDiscriminating: disc,
  items: Object.fromEntries(Array.from({ length: proposed }, (_, i) => [`p0-t${i}`, i < accepted])),
  checkerItems: Object.fromEntries(Array.from({ length: tested }, (_, i) => [`p0-t${i}`, i < disc])),
});
/** An arm from a pass/fail string per item place: "1010". */
const paired = (bits: string): BatchOutcome => ({
  proposed: bits.length,
  accepted: [...bits].filter((b) => b === '1').length,
  checkersTested: 0,
  checkersDiscriminating: 0,
  items: Object.fromEntries([...bits].map((b, i) => [`p0-t${i}`, b === '1'])),
});

describe('paired test (McNemar exact)', () => {
  it('gives exact one-sided binomial tails', () => {
    expect(binomialTailHalf(0, 3)).toBe(1);
    expect(binomialTailHalf(1, 1)).toBe(0.5);
    expect(binomialTailHalf(2, 2)).toBe(0.25);
    expect(binomialTailHalf(3, 4)).toBeCloseTo(5 / 16, 12);
    expect(binomialTailHalf(5, 4)).toBe(0);
    expect(mcnemarExact(4, 0)).toEqual({ pWorse: 1 / 16, pBetter: 1 });
  });

  it('counts discordant pairs by item place, ignoring unpaired items', () => {
    expect(pairCounts({ a: true, b: false, c: true, d: false, x: true }, { a: true, b: true, c: false, d: false, y: false })).toEqual({ pairs: 4, bothPass: 1, bothFail: 1, losses: 1, wins: 1, unpaired: 2 });
  });

  it('drops on more losses than wins at α = 0.5, keeps a tie for a stream and drops it for a role', () => {
    expect(pairedDecision({ a: true, b: false }, { a: false, b: false }, STREAM_RULE)).toMatchObject({ keep: false, pWorse: 0.5 });
    expect(pairedDecision({ a: true, b: false }, { a: false, b: true }, STREAM_RULE).keep).toBe(true);
    expect(pairedDecision({ a: true, b: false }, { a: false, b: true }, ROLE_RULE).keep).toBe(false);
    // A classic α would let the same net loss through: the batch cannot resolve it.
    expect(pairedDecision({ a: true, b: false }, { a: false, b: false }, { alpha: 0.05, ties: 'keep' }).keep).toBe(true);
    expect(pairedDecision({}, {}, STREAM_RULE)).toMatchObject({ keep: false });
  });
});

describe('decidePromotion (paired)', () => {
  it('rolls back 2/4 → 1/4, which the old "within one SE" rule promoted', () => {
    const d = decidePromotion(paired('1100'), paired('1000'));
    expect(d.promote).toBe(false);
    expect(d.metrics[0]).toMatchObject({ metric: 'yield', ok: false, pairs: { losses: 1, wins: 0 } });
    expect(d.reason).toMatch(/roll back \(worse\)/);
  });

  it('promotes a net win and rolls back an exact tie or a swap', () => {
    expect(decidePromotion(paired('000'), paired('011')).promote).toBe(true);
    expect(decidePromotion(paired('1010'), paired('1010')).promote).toBe(false); // no evidence
    const swap = decidePromotion(paired('1100'), paired('0011'));
    expect(swap.promote).toBe(false);
    expect(swap.reason).toMatch(/no net win/);
  });

  it('is decided by the pairs, not the totals', () => {
    // Same totals (2/4 each), but the candidate won two items and lost two: a tie.
    expect(decidePromotion(paired('1100'), paired('0011')).metrics[0].pairs).toMatchObject({ wins: 2, losses: 2 });
    // 3/4 → 3/4 with one swapped item pair is still a tie; 1 loss and 2 wins is a net win.
    expect(decidePromotion(paired('1110'), paired('0111')).promote).toBe(false);
    expect(decidePromotion(paired('1100'), paired('0111')).promote).toBe(true);
  });

  it('needs discrimination not worse on the items both arms measured', () => {
    const d = decidePromotion(arm(1, 4, 3, 3), arm(3, 4, 1, 3));
    expect(d.metrics[1]).toMatchObject({ metric: 'discrimination', measured: true, ok: false });
    expect(d.promote).toBe(false);
    expect(decidePromotion(arm(1, 4), arm(3, 4)).metrics[1].measured).toBe(false);
    expect(decidePromotion(arm(1, 4), arm(3, 4)).promote).toBe(true);
  });

  it('refuses arms without per-item outcomes, an empty candidate, or bad settings', () => {
    expect(() => decidePromotion({ proposed: 4, accepted: 1, checkersTested: 0, checkersDiscriminating: 0 }, arm(1, 4))).toThrow(/per-item outcomes/);
    expect(() => decidePromotion(arm(5, 4), arm(1, 4))).toThrow(/current yield/);
    expect(() => decidePromotion(arm(1, 4), arm(0, 0))).toThrow(/proposed no task/);
    expect(() => decidePromotion(arm(1, 4), arm(1, 4), { z: -1 })).toThrow(/z must be/);
    expect(() => decidePromotion(arm(1, 4), arm(1, 4), { z: 1, alpha: 1 })).toThrow(/alpha/);
  });

  it('keeps the Agresti–Caffo SE for restore-if-behind', () => {
    const p = (s: number, t: number) => ({ successes: s, trials: t, p: s / t });
    expect(diffStandardError(p(8, 8), p(7, 8))).toBeGreaterThan(0);
  });
});

describe('archive', () => {
  it('keeps the top-k revisions by yield, pooling repeated measurements', () => {
    let a: Archive = {};
    a = archiveMeasurement(a, 'critic', { revision: 1, proposed: 10, accepted: 5, round: 0 }, 2);
    a = archiveMeasurement(a, 'critic', { revision: 2, proposed: 10, accepted: 8, round: 1 }, 2);
    a = archiveMeasurement(a, 'critic', { revision: 3, proposed: 10, accepted: 2, round: 2 }, 2);
    expect(a.critic.map((e) => e.revision)).toEqual([2, 1]);
    // Revision 1 measured again: 5/10 + 9/10 = 14/20 = 0.7, still below revision 2's 0.8.
    a = archiveMeasurement(a, 'critic', { revision: 1, proposed: 10, accepted: 9, round: 3 }, 2);
    expect(a.critic).toEqual([
      { revision: 2, proposed: 10, accepted: 8, yield: 0.8, round: 1 },
      { revision: 1, proposed: 20, accepted: 14, yield: 0.7, round: 3 },
    ]);
    expect(ArchiveSchema.parse(a)).toEqual(a); // storable as a typed value
  });

  it('never loses a good prompt to a bad round', () => {
    let archive: Archive = {};
    // Round 1: revision 2 beats revision 1 and is promoted.
    let r = promotionRound({ key: 'scriptwriter', round: 1, current: { revision: 1, outcome: arm(5, 20) }, candidate: { revision: 2, outcome: arm(12, 20) }, archive });
    expect(r.keep).toBe(2);
    archive = r.archive;
    // Round 2: an unlucky batch for revision 2, and candidate 3 wins on the pairs it ran.
    r = promotionRound({ key: 'scriptwriter', round: 2, current: { revision: 2, outcome: paired('11110000000000000000') }, candidate: { revision: 3, outcome: paired('00001110000000000000') }, archive });
    expect(r.decision.promote).toBe(false); // 3 wins vs 4 losses: worse
    r = promotionRound({ key: 'scriptwriter', round: 2, current: { revision: 2, outcome: paired('11110000000000000000') }, candidate: { revision: 3, outcome: paired('01100000000000000000') }, archive });
    expect(r.decision.promote).toBe(false);
    r = promotionRound({ key: 'scriptwriter', round: 2, current: { revision: 2, outcome: paired('00001000000000000000') }, candidate: { revision: 3, outcome: paired('00000110000000000000') }, archive });
    expect(r.decision.promote).toBe(true);
    expect(r.keep).toBe(3);
    // Revision 2 stays the best on record (13/40 pooled beats 2/20), so it can be restored.
    expect(bestArchived(r.archive, 'scriptwriter')).toMatchObject({ revision: 2, proposed: 40, accepted: 13 });
    expect(r.archive.scriptwriter.map((e) => e.revision)).toEqual([2, 1, 3]);
  });
});
