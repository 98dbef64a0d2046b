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

const arm = (accepted: number, proposed: number, disc = 0, tested = 0): BatchOutcome => ({ proposed, accepted, checkersTested: tested, checkersDiscriminating: disc });

describe('decidePromotion', () => {
  it('rolls back a candidate that lowers yield beyond the noise', () => {
    const d = decidePromotion(arm(10, 20), arm(3, 20));
    expect(d.promote).toBe(false);
    expect(d.reason).toMatch(/^roll back: yield: 3\/20 vs 10\/20/);
    expect(d.metrics[0].delta).toBeCloseTo(-0.35);
  });

  it('promotes a candidate that raises yield', () => {
    const d = decidePromotion(arm(10, 20), arm(16, 20));
    expect(d.promote).toBe(true);
    expect(d.metrics[0].delta).toBeCloseTo(0.3);
  });

  it('promotes a small drop within the noise (the documented tie rule), and z=0 turns that into a roll back', () => {
    expect(decidePromotion(arm(10, 20), arm(9, 20)).promote).toBe(true);
    expect(decidePromotion(arm(10, 20), arm(10, 20), { z: 0 }).promote).toBe(true); // an exact tie always promotes
    expect(decidePromotion(arm(10, 20), arm(9, 20), { z: 0 }).promote).toBe(false);
  });

  it('forgives the same drop on a small batch but not on a large one', () => {
    // Δ = −0.075 in both: inside one SE at n=40 per arm, outside it at n=200.
    expect(decidePromotion(arm(20, 40), arm(17, 40)).promote).toBe(true);
    expect(decidePromotion(arm(100, 200), arm(85, 200)).promote).toBe(false);
  });

  it('rolls back when checker discrimination drops even though yield rose', () => {
    const d = decidePromotion(arm(10, 20, 18, 20), arm(14, 20, 8, 20));
    expect(d.promote).toBe(false);
    expect(d.metrics.map((m) => [m.metric, m.ok])).toEqual([
      ['yield', true],
      ['discrimination', false],
    ]);
  });

  it('leaves an unmeasured metric out, and rolls back a candidate with nothing to measure', () => {
    expect(decidePromotion(arm(5, 10), arm(5, 10)).metrics[1].measured).toBe(false);
    expect(decidePromotion(arm(5, 10, 4, 5), arm(5, 10, 0, 0)).promote).toBe(false);
  });

  it('keeps the standard error above zero for all-or-nothing arms', () => {
    const se = diffStandardError({ successes: 8, trials: 8, p: 1 }, { successes: 8, trials: 8, p: 1 });
    expect(se).toBeGreaterThan(0.1);
    expect(decidePromotion(arm(8, 8), arm(7, 8)).promote).toBe(true);
    expect(decidePromotion(arm(8, 8), arm(2, 8)).promote).toBe(false);
  });

  it('refuses impossible counts', () => {
    expect(() => decidePromotion(arm(5, 4), arm(1, 4))).toThrow(/current yield/);
    expect(() => decidePromotion(arm(1, 4), arm(0, 0))).toThrow(/proposed no task/);
    expect(() => decidePromotion(arm(1, 4), arm(1, 4), { z: -1 })).toThrow(/z must be/);
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
    // Round 2: an unlucky batch for revision 2, and candidate 3 looks no worse within noise: promoted.
    r = promotionRound({ key: 'scriptwriter', round: 2, current: { revision: 2, outcome: arm(4, 20) }, candidate: { revision: 3, outcome: arm(3, 20) }, archive });
    expect(r.decision.promote).toBe(true);
    expect(r.keep).toBe(3);
    // Revision 2 stays the best on record (16/40 pooled beats 3/20), so it can be restored.
    expect(bestArchived(r.archive, 'scriptwriter')).toMatchObject({ revision: 2, proposed: 40, accepted: 16 });
    expect(r.archive.scriptwriter.map((e) => e.revision)).toEqual([2, 1, 3]);
  });
});
