// The critic's deterministic checks and the verifier's checker validation on fixture tasks, with the
// real mock domain and the real sandbox.
import { describe, expect, it } from 'vitest';
import { getDomain } from '../../domains/registry.ts';
import { deterministicChecks, jaccard, taskSignature } from '../../actors/kit/task-checks.ts';
import { compileChecker, goldDiff, selectSpec, specFromDiff, validateChecker, validationCases } from '../../actors/verifier/checker.ts';
import { buildCriteria } from '../../actors/verifier/criteria.ts';
import { changePath } from '../../domains/tasks/states.ts';
import { completeTask, createAndComplete, goldErrors, trivial, ungrounded } from './fixtures/mock-tasks.ts';

import '../helpers/tau2.ts';
const mock = getDomain('mock');
const check = (r: ReturnType<typeof deterministicChecks>, name: string) => r.checks.find((c) => c.name === name)!;

describe('critic deterministic checks', () => {
  it('accepts grounded, runnable, non-trivial tasks', () => {
    for (const t of [completeTask, createAndComplete]) {
      const r = deterministicChecks(mock, t, []);
      expect(r.checks.filter((c) => !c.ok)).toEqual([]);
      expect(r.ok).toBe(true);
    }
  });

  it('rejects a task whose gold actions error', () => {
    const r = deterministicChecks(mock, goldErrors, []);
    expect(r.ok).toBe(false);
    expect(check(r, 'gold-runs')).toMatchObject({ ok: false });
    expect(check(r, 'gold-runs').detail).toMatch(/task_99 not found/i);
  });

  it('rejects a task the scenario cannot ground, naming the value', () => {
    const r = deterministicChecks(mock, ungrounded, []);
    expect(r.ok).toBe(false);
    expect(check(r, 'gold-runs').ok).toBe(true);
    expect(check(r, 'grounded').ok).toBe(false);
    expect(check(r, 'grounded').detail).toContain('create_task.title="Quarterly Budget Review"');
  });

  it('rejects a read-only task as trivial', () => {
    const r = deterministicChecks(mock, trivial, []);
    expect(check(r, 'non-trivial').ok).toBe(false);
  });

  it('rejects a near-duplicate of an accepted task, by Jaccard similarity of signatures', () => {
    const sig = taskSignature(mock, completeTask);
    const same = deterministicChecks(mock, { ...completeTask, id: 'copy' }, [{ id: completeTask.id, signature: sig }]);
    expect(check(same, 'not-duplicate')).toMatchObject({ ok: false });
    const other = deterministicChecks(mock, createAndComplete, [{ id: completeTask.id, signature: sig }]);
    expect(check(other, 'not-duplicate').ok).toBe(true);
    expect(jaccard(sig, taskSignature(mock, createAndComplete))).toBeLessThan(0.8);
  });
});

describe('verifier checker validation', () => {
  it('builds gold, initial and ≥2 perturbed states (an undone write, a changed argument)', () => {
    const { cases, problems } = validationCases(mock, createAndComplete, ['user_1', 'task_1']);
    expect(problems).toEqual([]);
    expect(cases.map((c) => c.name)).toEqual(expect.arrayContaining(['gold', 'initial', 'undo:a1', 'undo:a0']));
    expect(cases.some((c) => c.name.startsWith('arg:'))).toBe(true);
    expect(cases.filter((c) => !c.expectPass).length).toBeGreaterThanOrEqual(3);
  });

  it('accepts the checker compiled from the gold diff', async () => {
    const d = goldDiff(mock, completeTask);
    const src = compileChecker(completeTask.id, specFromDiff(d.changes, d.writeCalls));
    const { cases } = validationCases(mock, completeTask, ['user_1', 'task_1']);
    const v = await validateChecker(src, cases);
    expect(v.results.filter((r) => !r.ok)).toEqual([]);
    expect(v.ok).toBe(true);
  });

  it('rejects a checker that passes on the initial state', async () => {
    const { cases } = validationCases(mock, completeTask, ['user_1', 'task_1']);
    const v = await validateChecker('function check() { return { pass: true, reasons: [] }; }', cases);
    expect(v.ok).toBe(false);
    expect(v.results.find((r) => r.case === 'initial')).toMatchObject({ ok: false, pass: true });
  });

  it('rejects a checker too weak to notice a changed argument', async () => {
    // Checks only that the agent called the tool: the perturbed-argument state passes, so it is rejected.
    const d = goldDiff(mock, createAndComplete);
    const weak = compileChecker('weak', selectSpec(specFromDiff(d.changes, d.writeCalls), [], ['create_task', 'update_task_status']));
    const { cases } = validationCases(mock, createAndComplete, ['user_1']);
    const v = await validateChecker(weak, cases);
    expect(v.ok).toBe(false);
    expect(v.results.filter((r) => !r.ok).map((r) => r.case)).toContain('arg:a0.title');
    const half = compileChecker('half', selectSpec(specFromDiff(d.changes, d.writeCalls), [changePath({ side: 'agent', path: ['users', 'user_1', 'tasks'] })], []));
    const v2 = await validateChecker(half, cases);
    expect(v2.results.find((r) => r.case === 'undo:a1')).toMatchObject({ ok: false });
  });

  it('a crashing checker is never valid', async () => {
    const { cases } = validationCases(mock, completeTask);
    const v = await validateChecker('function check() { throw new Error("boom"); }', cases);
    expect(v.ok).toBe(false);
    expect(v.results.every((r) => r.status === 'error')).toBe(true);
  });

  it('emits τ² criteria with env assertions that hold on gold and not initially', () => {
    const d = goldDiff(mock, completeTask);
    const c = buildCriteria(mock, completeTask, d.changes);
    expect(c.actions).toEqual(completeTask.evaluation_criteria!.actions);
    expect(c.env_assertions).toContainEqual(expect.objectContaining({ func_name: 'assert_task_status', arguments: { task_id: 'task_1', expected_status: 'completed' } }));
  });
});
