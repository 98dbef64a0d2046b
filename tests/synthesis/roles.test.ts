// Pure pieces of the society (plan overlap, funnel accounting, report) and the critic role's
// verdicts through its machine, with a real KV bucket for accepted-task signatures.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kvm, type KV } from '@nats-io/kv';
import { maxSimilarity, planSimilarity, PLAN_OVERLAP_THRESHOLD, toolEntities } from '../../actors/meta-planner/plans.ts';
import { FunnelCounter } from '../../actors/kit/funnel.ts';
import { funnelSvg } from '../../cli/drivers/synth/report.ts';
import { criticRole } from '../../actors/critic/role.ts';
import { runRoleMachine } from '../../runtime/host/host.ts';
import { LlmClient, parseRoleModelConfig } from '../../llm/client/index.ts';
import { natsServerAvailable } from '../../runtime/nats/embedded.ts';
import { getDomain } from '../../domains/registry.ts';
import { expectedOutcome } from '../../actors/scriptwriter/draft.ts';
import type { Envelope } from '../../protocols/envelope.ts';
import type { SynthesisPlan, TaskProposal } from '../../protocols/synthesis.ts';
import type { Task } from '../../protocols/tau2/task.ts';
import { completeTask, goldErrors, ungrounded } from './fixtures/mock-tasks.ts';
import { startTestNats, type TestNats } from '../helpers/nats.ts';

import '../helpers/tau2.ts';

const plan = (p: Partial<SynthesisPlan>): SynthesisPlan => ({ tier: 'easy', toolPatterns: ['write:create_task'], userStyle: 'terse', persona: 'x', goal: 'create a task for a meeting', ...p });

describe('plan non-overlap measure', () => {
  it('scores a reworded copy as overlapping and a different plan as new', () => {
    const e = toolEntities(getDomain('mock'));
    const a = plan({});
    expect(planSimilarity(a, plan({ goal: 'create task for the meeting' }), e)).toBeGreaterThanOrEqual(PLAN_OVERLAP_THRESHOLD);
    const b = plan({ tier: 'hard', toolPatterns: ['write:update_task_status', 'lookup:get_users'], userStyle: 'confused', goal: 'finish all pending work items', taskKind: 'info' });
    expect(planSimilarity(a, b, e)).toBeLessThan(0.3);
    expect(maxSimilarity(b, [a, plan({ goal: 'meeting' })], e)).toBeLessThan(PLAN_OVERLAP_THRESHOLD);
    expect(maxSimilarity(a, [], e)).toBe(0);
  });
});

const env = (id: string, kind: string, data: unknown): Envelope => ({ id, kind, v: 1, from: { role: 'x', instance: 'x' }, sentAt: 0, data });
const prov = (itemId: string, prompt = 10) => ({ runId: 'r', planId: 'p', itemId, traceId: null, roles: {}, tokens: { prompt, completion: 1 } });

describe('funnel accounting', () => {
  it('counts each item once, ignores other runs and duplicates, and knows when the run is done', () => {
    const c = new FunnelCounter('r', 2);
    expect(c.add(env('1', 'synth.task.proposed', { runId: 'r', itemId: 'i0', round: 0 }))).toBe(true);
    expect(c.add(env('1', 'synth.task.proposed', { runId: 'r', itemId: 'i0', round: 0 }))).toBe(false);
    expect(c.add(env('2', 'synth.task.proposed', { runId: 'other', itemId: 'i9', round: 0 }))).toBe(false);
    c.add(env('3', 'synth.item.dropped', { runId: 'r', itemId: 'i1', stage: 'draft', reasons: ['bad json'], provenance: prov('i1') }));
    expect(c.done).toBe(false);
    c.add(env('4', 'synth.failure.reported', { runId: 'r', itemId: 'i0', dialogue: { terminationReason: 'user_stop' }, checkerRun: { reasons: ['x'] }, blame: { blame: 'task', kind: 'k', reason: '' }, provenance: prov('i0', 5) }));
    // A second terminal for the same item (a redelivery with another id) is not counted twice.
    c.add(env('5', 'synth.item.dropped', { runId: 'r', itemId: 'i0', stage: 'critic', reasons: [], provenance: prov('i0') }));
    expect(c.done).toBe(true);
    const s = c.summary();
    expect(s).toMatchObject({ proposed: 1, terminal: 2, dropped: { draft: 1 }, blame: { task: 1 }, dialogueFailed: 1, tokens: { prompt: 15, completion: 2 } });
    expect(s.failures.map((f) => [f.itemId, f.termination, f.checker])).toEqual([['i0', 'user_stop', ['x']]]);
    const svg = funnelSvg(s, 'test <run>');
    expect(svg).toContain('<svg');
    expect(svg).toContain('test &lt;run&gt;');
    expect(svg).toContain('dropped: draft');
    expect(svg).toContain('failed, blame task');
  });
});

describe('critic role verdicts', () => {
  let nats: TestNats;
  let kv: KV;
  const mock = getDomain('mock');
  beforeAll(async () => {
    if (!natsServerAvailable()) throw new Error('nats-server is missing: install it (apt-get install nats-server)');
    nats = await startTestNats();
    kv = await new Kvm(nats.nc).create('troupe_synth_accepted_test');
  });
  afterAll(() => nats?.stop());

  // The model is never asked: the review is switched off, so these are the deterministic verdicts.
  const llm = new LlmClient({ role: 'critic', config: parseRoleModelConfig('critic', { model: 'local' }) });
  const proposal = (task: Task, round = 0, maxRevisions = 1): TaskProposal => ({
    runId: 'r',
    domain: 'mock',
    planId: 'p',
    itemId: `i-${task.id}`,
    round,
    plan: { synthesis: plan({}), evaluation: { rubric: ['x'], failureTaxonomy: ['trajectory:wrong-tool'] }, maxRevisions },
    task,
    exploration: [],
    expected: expectedOutcome(mock, task),
    provenance: prov(`i-${task.id}`),
  });
  const run = async (p: TaskProposal) => {
    const role = criticRole({ domain: getDomain, llm, accepted: kv, review: false });
    return runRoleMachine(role, { message: env(`m-${p.itemId}-${p.round}`, 'synth.task.proposed', p) as Envelope<any>, data: p, delivery: 1, role: { name: 'critic', impl: role.impl, instance: 'c1' } });
  };

  it('asks for a revision, then rejects a task whose gold actions error', async () => {
    const first = await run(proposal(goldErrors, 0, 1));
    expect(first.map((o) => o.kind)).toEqual(['synth.task.revise']);
    const last = await run(proposal(goldErrors, 1, 1));
    expect(last.map((o) => o.kind)).toEqual(['synth.item.dropped']);
    const d = last[0].data as { stage: string; reasons: string[] };
    expect(d.stage).toBe('critic');
    expect(d.reasons.join(' ')).toMatch(/gold-runs: .*task_99 not found/i);
  });

  it('rejects a task the scenario cannot ground', async () => {
    const out = await run(proposal(ungrounded, 0, 0));
    expect(out[0].kind).toBe('synth.item.dropped');
    expect((out[0].data as { reasons: string[] }).reasons.join(' ')).toContain('grounded: not obtainable');
  });

  it('accepts a good task once, then rejects its copy as a near-duplicate', async () => {
    const ok = await run(proposal(completeTask, 0, 0));
    expect(ok.map((o) => o.kind)).toEqual(['synth.task.accepted']);
    const copy = await run(proposal({ ...completeTask, id: 'copy_of_complete' }, 0, 0));
    expect(copy[0].kind).toBe('synth.item.dropped');
    expect((copy[0].data as { reasons: string[] }).reasons.join(' ')).toMatch(/not-duplicate: .*1\.00/);
  });
});
