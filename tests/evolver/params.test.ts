// Workflow-parameter proposals (unit): which rule fires for which failure mix, the bounded steps,
// the dominance threshold, the discarded-candidate guard, and the validation of a revision.
import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../protocols/envelope.ts';
import { failureRecords, groupFailures, type FailureGroup } from '../../actors/evolver/failures.ts';
import { proposeParams, validateParamsRevision } from '../../actors/evolver/params.ts';

const group = (kind: string, role: FailureGroup['role'], n: number, example = 'x'): FailureGroup => ({
  kind,
  role,
  ids: Array.from({ length: n }, (_, i) => `r1/i${kind}${i}#${kind}`),
  examples: [example],
});

describe('critic drops: revise asked with no rounds left', () => {
  it('is critic:revise-exhausted (a parameter), not an over-strict review', () => {
    const drop = (itemId: string, review: string) =>
      ({
        kind: 'synth.item.dropped',
        data: {
          runId: 'r1',
          itemId,
          stage: 'critic',
          reasons: ['review: needs work', 'no revision rounds left (0 allowed)'],
          detail: { verdicts: [{ round: 0, verdict: 'reject', checks: [{ name: 'grounded', ok: true, detail: '' }], review: { verdict: review, reasons: ['needs work'] }, reasons: [] }] },
        },
      }) as unknown as Envelope<unknown>;
    const recs = failureRecords([drop('a', 'revise'), drop('b', 'reject')], 'r1');
    expect(recs.map((r) => [r.itemId, r.kind, r.role])).toEqual([
      ['a', 'critic:revise-exhausted', 'critic'],
      ['b', 'critic:review-rejected', 'critic'],
    ]);
  });
});

describe('proposeParams', () => {
  it('raises the critic’s maxRevisions from the run’s value when revisions ran out, citing those failures', () => {
    const groups = [group('critic:revise-exhausted', 'critic', 3), group('critic:review-rejected', 'critic', 1)];
    const p = proposeParams({ role: 'critic', groups, current: {}, runMaxRevisions: 0 })!;
    expect(p).toMatchObject({ field: 'maxRevisions', from: 0, to: 2, params: { maxRevisions: 2 } });
    expect(p.addresses).toEqual(groups[0].ids);
    expect(p.rationale).toMatch(/3 of 4 failure/);
    // Counts from the live parameters when they set it; keeps the other fields; stops at the cap.
    expect(proposeParams({ role: 'critic', groups, current: { maxRevisions: 3, votes: 3 }, runMaxRevisions: 0 })!.params).toEqual({ maxRevisions: 5, votes: 3 });
    expect(proposeParams({ role: 'critic', groups, current: { maxRevisions: 9 }, runMaxRevisions: 0 })!.params.maxRevisions).toBe(10);
    expect(proposeParams({ role: 'critic', groups, current: { maxRevisions: 10 }, runMaxRevisions: 0 })).toBeNull();
  });

  it('fires only when its failures are at least half of the role’s', () => {
    const minority = [group('critic:revise-exhausted', 'critic', 1), group('critic:review-rejected', 'critic', 2)];
    expect(proposeParams({ role: 'critic', groups: minority, current: {}, runMaxRevisions: 0 })).toBeNull();
    const half = [group('critic:revise-exhausted', 'critic', 2), group('critic:review-rejected', 'critic', 2)];
    expect(proposeParams({ role: 'critic', groups: half, current: {}, runMaxRevisions: 0 })).not.toBeNull();
  });

  it('gives more tokens for malformed answers, from the role’s default, but not for other unusable drafts', () => {
    const bad = [group('draft:unusable', 'scriptwriter', 2, 'no usable draft: scriptwriter: malformed answer: Unexpected end of JSON input')];
    expect(proposeParams({ role: 'scriptwriter', groups: bad, current: {}, runMaxRevisions: 1 })).toMatchObject({ field: 'maxTokens', from: 400, to: 600 });
    expect(proposeParams({ role: 'meta-planner', groups: [group('plan:unusable', 'meta-planner', 1, 'no acceptable plan: model gave no JSON answer')], current: { maxTokens: 1000 }, runMaxRevisions: 1 })!.params).toEqual({ maxTokens: 1500 });
    const refused = [group('draft:unusable', 'scriptwriter', 2, 'no usable draft: scriptwriter: endpoint refused the request')];
    expect(proposeParams({ role: 'scriptwriter', groups: refused, current: {}, runMaxRevisions: 1 })).toBeNull();
  });

  it('samples wider when plans or drafts come out as near-duplicates', () => {
    expect(proposeParams({ role: 'meta-planner', groups: [group('plan:overlap', 'meta-planner', 2)], current: {}, runMaxRevisions: 1 })).toMatchObject({ field: 'temperature', from: 0.9, to: 1.1 });
    expect(proposeParams({ role: 'scriptwriter', groups: [group('critic:not-duplicate', 'scriptwriter', 1)], current: { temperature: 1.4 }, runMaxRevisions: 1 })!.params).toEqual({ temperature: 1.5 });
    expect(proposeParams({ role: 'scriptwriter', groups: [group('critic:not-duplicate', 'scriptwriter', 1)], current: { temperature: 1.5 }, runMaxRevisions: 1 })).toBeNull();
  });

  it('leaves other failure mixes (and other roles’ rules) to the instructions rewrite', () => {
    expect(proposeParams({ role: 'scriptwriter', groups: [group('critic:grounded', 'scriptwriter', 5)], current: {}, runMaxRevisions: 0 })).toBeNull();
    // The maxRevisions rule is the critic's: the verifier has no such failure kind and no rule.
    expect(proposeParams({ role: 'verifier', groups: [group('checker:candidate-rejected', 'verifier', 4)], current: {}, runMaxRevisions: 0 })).toBeNull();
    expect(proposeParams({ role: 'critic', groups: [], current: {}, runMaxRevisions: 0 })).toBeNull();
  });

  it('does not propose again what validation discarded last time', () => {
    const groups = [group('critic:revise-exhausted', 'critic', 2)];
    expect(proposeParams({ role: 'critic', groups, current: {}, runMaxRevisions: 0, lastDiscarded: { maxRevisions: 2 } })).toBeNull();
    expect(proposeParams({ role: 'critic', groups, current: { maxRevisions: 2 }, runMaxRevisions: 0, lastDiscarded: { maxRevisions: 2 } })!.params).toEqual({ maxRevisions: 4 });
  });

  it('works on grouped records from real drop messages', () => {
    const groups = groupFailures([
      { id: 'r/1#critic:revise-exhausted', runId: 'r', itemId: '1', kind: 'critic:revise-exhausted', role: 'critic', summary: 's' },
      { id: 'r/2#critic:revise-exhausted', runId: 'r', itemId: '2', kind: 'critic:revise-exhausted', role: 'critic', summary: 's' },
    ]);
    expect(proposeParams({ role: 'critic', groups, current: {}, runMaxRevisions: 1 })).toMatchObject({ from: 1, to: 3, addresses: ['r/1#critic:revise-exhausted', 'r/2#critic:revise-exhausted'] });
  });
});

describe('validateParamsRevision', () => {
  const ids = ['a#k', 'b#k'];
  it('accepts a valid change of a field the role honours, citing shown ids', () => {
    expect(validateParamsRevision('critic', {}, { maxRevisions: 2, votes: 3 }, ['a#k'], ids)).toEqual([]);
  });
  it('names every problem', () => {
    expect(validateParamsRevision('critic', {}, { votes: 2 }, ['a#k'], ids).join()).toMatch(/votes must be odd/);
    expect(validateParamsRevision('critic', {}, { maxRevisions: 11 }, ['a#k'], ids).join()).toMatch(/invalid critic parameters: maxRevisions/);
    expect(validateParamsRevision('critic', {}, { retries: 1 }, ['a#k'], ids).join()).toMatch(/invalid critic parameters/); // unknown field
    expect(validateParamsRevision('scriptwriter', {}, { maxRevisions: 2 }, ['a#k'], ids)).toEqual(['scriptwriter does not honour maxRevisions']);
    expect(validateParamsRevision('meta-planner', { tierQuotas: { easy: 1 } }, { tierQuotas: { easy: 1 } }, ['a#k'], ids)).toEqual(['the parameters are the current ones unchanged']);
    expect(validateParamsRevision('critic', {}, { maxRevisions: 1 }, [], ids)).toEqual(['no failure ids cited']);
    expect(validateParamsRevision('critic', {}, { maxRevisions: 1 }, ['zz'], ids)).toEqual(['cites ids that are not failures of critic: zz']);
  });
});

describe('candidateParamsKey', () => {
  it('is a typed-value key beside candidate.<role>, never a role name', async () => {
    const { candidateKey, candidateParamsKey, isValueKey } = await import('../../runtime/instructions/index.ts');
    expect(candidateParamsKey('critic')).toBe('candidate.params-critic');
    expect(isValueKey(candidateParamsKey('critic'))).toBe(true);
    expect(isValueKey(candidateKey('critic'))).toBe(false);
    expect(() => candidateParamsKey('a.b')).toThrow(/bad role name/);
  });
});

describe('validationRequest', () => {
  it('replays the production plans, except for a meta-planner candidate, which must write its own', async () => {
    const { validationRequest } = await import('../../actors/evolver/steps.ts');
    const p = (goal: string) => ({ synthesis: { tier: 'easy' as const, toolPatterns: ['x'], userStyle: 's', persona: 'p', goal }, evaluation: { rubric: ['r'], failureTaxonomy: ['f'] } });
    const plans = [p('a'), p('b'), p('c')];
    expect(validationRequest('critic', plans, { plans: 3, validationSize: 2 })).toEqual({ plans: 2, tasksPerPlan: 1, fixedPlans: plans.slice(0, 2) });
    expect(validationRequest('scriptwriter', plans.slice(0, 1), { plans: 3, validationSize: 3 })).toEqual({ plans: 1, tasksPerPlan: 3, fixedPlans: plans.slice(0, 1) });
    const mp = validationRequest('meta-planner', [], { plans: 2, validationSize: 3 });
    expect(mp).toEqual({ plans: 2, tasksPerPlan: 2 });
    expect('fixedPlans' in mp).toBe(false);
  });
});
