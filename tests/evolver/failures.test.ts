// Failure intake (unit): records with stable ids from a run's terminal messages, grouping by kind,
// attribution to the role whose instructions can fix it, the target choice, checker discrimination.
import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../protocols/envelope.ts';
import { checkerDiscrimination, chooseTarget, failureRecords, failuresByRole, groupFailures } from '../../actors/evolver/failures.ts';

let n = 0;
const env = (kind: string, data: Record<string, unknown>): Envelope<unknown> => ({ id: `m${n++}`, kind, data } as unknown as Envelope<unknown>);
const prov = (itemId: string) => ({ runId: 'r1', planId: 'p', itemId, traceId: null, roles: {}, tokens: { prompt: 0, completion: 0 } });
const verdict = (checks: { name: string; ok: boolean; detail: string }[], review: { verdict: string; reasons: string[] } | null) => ({ round: 0, verdict: 'reject', checks, review, reasons: [] });
const dropped = (itemId: string, stage: string, reasons: string[], detail?: Record<string, unknown>) => env('synth.item.dropped', { runId: 'r1', planId: 'p', itemId, stage, reasons, detail, provenance: prov(itemId) });
const checker = (origin: 'llm' | 'diff', rejected: { origin: string; validation: { case: string; expectPass: boolean; status: string; pass: boolean; reasons: string[]; ok: boolean }[] }[] = []) => ({
  source: '',
  origin,
  validation: [{ case: 'gold', expectPass: true, status: 'pass', pass: true, reasons: [], ok: true }],
  rejectedCandidates: rejected,
});
const failed = (itemId: string, termination: string, blame: 'task' | 'trajectory', kind: string, c = checker('diff')) =>
  env('synth.failure.reported', { runId: 'r1', itemId, dialogue: { terminationReason: termination }, checkerRun: { reasons: ['status not done'] }, blame: { blame, kind, reason: 'because' }, checker: c, provenance: prov(itemId) });

const messages = [
  dropped('i1', 'critic', ['grounded: x'], { verdicts: [verdict([{ name: 'grounded', ok: false, detail: 'update(title="zz") not grounded' }, { name: 'gold-runs', ok: true, detail: '' }], null)] }),
  dropped('i2', 'critic', ['review: too vague'], { verdicts: [verdict([{ name: 'grounded', ok: true, detail: '' }], { verdict: 'reject', reasons: ['too vague'] })] }),
  dropped('i3', 'critic', ['review: no'], { verdicts: [verdict([{ name: 'grounded', ok: true, detail: '' }], { verdict: 'reject', reasons: ['no'] })] }),
  dropped('i4', 'plan', ['attempt 1: too similar to an earlier plan (0.70 ≥ 0.6)']),
  dropped('i5', 'draft', ['scriptwriter: malformed answer']),
  dropped('i6', 'checker', ['the full-diff checker failed validation on: undo#0']),
  failed('i7', 'user_stop', 'task', 'ambiguous_goal'),
  failed('i12', 'user_stop', 'task', 'task:missing-information'),
  failed('i13', 'user_stop', 'trajectory', 'trajectory:user-deviated'),
  failed('i8', 'max_steps', 'trajectory', 'wrong_tool', checker('diff', [{ origin: 'llm', validation: [{ case: 'initial', expectPass: false, status: 'pass', pass: true, reasons: [], ok: false }] }])),
  failed('i9', 'user_error', 'trajectory', 'unattributed'),
  failed('i10', 'infrastructure_error', 'trajectory', 'unattributed'),
  env('synth.dataset.record', { runId: 'r1', checker: checker('llm'), provenance: prov('i11') }),
  env('synth.dataset.record', { runId: 'other', checker: checker('llm'), provenance: prov('x') }),
];

describe('failure intake', () => {
  const records = failureRecords(messages, 'r1');
  const byItem = (id: string) => records.filter((r) => r.itemId === id);

  it('attributes each failure kind to the role whose instructions can fix it', () => {
    expect(byItem('i1')).toMatchObject([{ kind: 'critic:grounded', role: 'scriptwriter' }]);
    expect(byItem('i2')).toMatchObject([{ kind: 'critic:review-rejected', role: 'critic' }]);
    expect(byItem('i4')).toMatchObject([{ kind: 'plan:overlap', role: 'meta-planner' }]);
    expect(byItem('i5')).toMatchObject([{ kind: 'draft:unusable', role: 'scriptwriter' }]);
    expect(byItem('i6')).toMatchObject([{ kind: 'checker:uncheckable-task', role: 'scriptwriter' }]);
    expect(byItem('i7')).toMatchObject([{ kind: 'dialogue:task:ambiguous_goal', role: 'scriptwriter' }]);
    expect(byItem('i12')).toMatchObject([{ kind: 'dialogue:task:missing-information', role: 'scriptwriter' }]); // no doubled prefix
    // A trajectory failure is the agent's (not rewritten here); its rejected checker candidate is the verifier's.
    expect(byItem('i8').map((r) => [r.kind, r.role])).toEqual([
      ['dialogue:trajectory:wrong_tool', null],
      ['checker:candidate-rejected', 'verifier'],
    ]);
    expect(byItem('i9')).toMatchObject([{ kind: 'dialogue:user-violation', role: 'scriptwriter' }]);
    expect(byItem('i13')).toMatchObject([{ kind: 'dialogue:user-violation', role: 'scriptwriter' }]);
    expect(byItem('i10')).toMatchObject([{ kind: 'dialogue:infrastructure_error', role: null }]);
    expect(byItem('i11')).toEqual([]); // a record with a validated model checker is no failure
    expect(records.every((r) => r.runId === 'r1')).toBe(true);
  });

  it('gives stable ids: the same messages (duplicated, reordered) give the same records', () => {
    const again = failureRecords([...messages].reverse().concat(messages), 'r1');
    expect(again.map((r) => r.id).sort()).toEqual(records.map((r) => r.id).sort());
    expect(new Set(records.map((r) => r.id)).size).toBe(records.length);
    expect(records.find((r) => r.itemId === 'i2')!.id).toBe('r1/i2#critic:review-rejected');
  });

  it('groups by kind, largest first, and picks the role with most failures', () => {
    const groups = groupFailures(records);
    expect(groups[0]).toMatchObject({ kind: 'critic:review-rejected', role: 'critic', ids: ['r1/i2#critic:review-rejected', 'r1/i3#critic:review-rejected'] });
    expect(failuresByRole(records)).toEqual({ scriptwriter: 7, critic: 2, 'meta-planner': 1, verifier: 1, none: 2 });
    expect(chooseTarget(groups)!.role).toBe('scriptwriter');
    expect(chooseTarget(groups)!.groups.every((g) => g.role === 'scriptwriter')).toBe(true);
    expect(chooseTarget(groups, ['critic', 'verifier'])!.role).toBe('critic');
    expect(chooseTarget(groups, ['verifier'])!.groups.map((g) => g.kind)).toEqual(['checker:candidate-rejected']);
    expect(chooseTarget(groupFailures(failureRecords([failed('j', 'infrastructure_error', 'trajectory', 'x')], 'r1')))).toBeNull();
  });

  it('measures checker discrimination from the verifier’s validation records', () => {
    // i8: the model's checker was rejected (tried, not discriminating); i11: validated (discriminating);
    // i7, i9, i10: full-diff checkers with no model attempt are not counted.
    expect(checkerDiscrimination(messages, 'r1')).toMatchObject({ tested: 2, discriminating: 1 });
  });
});
