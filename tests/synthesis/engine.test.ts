// The data engine's synthesis side with a scripted model (issue 16): the scriptwriter's model
// explores with real read tools (mock and airline) and falls back to the scripted exploration only
// when that fails; every task kind (write, info, refusal, multi-intent) is drafted, passes the
// critic's deterministic checks, gets a validated checker, and a perturbed trajectory fails it; the
// meta-planner refuses a plan whose structural signature overlaps an earlier one.
import { describe, expect, it } from 'vitest';
import { getDomain } from '../../domains/registry.ts';
import { runRoleMachine } from '../../runtime/host/host.ts';
import type { Envelope } from '../../protocols/envelope.ts';
import type { PlanIssued, SynthesisPlan, TaskKind, TaskProposal, TaskReady } from '../../protocols/synthesis.ts';
import type { ChatRequest } from '../../llm/client/index.ts';
import { scriptwriterRole } from '../../actors/scriptwriter/role.ts';
import { exploreWithModel } from '../../actors/scriptwriter/explore-model.ts';
import { verifierRole } from '../../actors/verifier/role.ts';
import { metaPlannerRole } from '../../actors/meta-planner/role.ts';
import { deterministicChecks } from '../../actors/kit/task-checks.ts';
import { GOLD_REFUSAL } from '../../actors/verifier/checker.ts';
import { planSignature, signatureDistance, toolEntities, pairwiseDistances, PLAN_MIN_DISTANCE } from '../../actors/meta-planner/plans.ts';
import { runChecker } from '../../sandbox/checker-sandbox.ts';
import { dialogueFinalState, initialEnvironment, stateOf } from '../../domains/tasks/states.ts';
import type { Message } from '../../protocols/tau2/task.ts';
import { fakeLlm, firstToolCall, type FakeAnswer } from './fake-llm.ts';
import { FunnelCounter } from '../../actors/kit/funnel.ts';
import { distribution } from '../../cli/drivers/synth/report.ts';

import '../helpers/tau2.ts';

const mock = getDomain('mock');
const prov = (itemId: string) => ({ runId: 'r', planId: 'r-p0', itemId, traceId: null, roles: {}, tokens: { prompt: 0, completion: 0 } });
const env = (id: string, kind: string, data: unknown): Envelope<any> => ({ id, kind, v: 1, from: { role: 'x', instance: 'x' }, sentAt: 0, data });
const plan = (p: Partial<SynthesisPlan>): SynthesisPlan => ({ tier: 'medium', toolPatterns: ['write:update_task_status'], userStyle: 'terse', persona: 'a busy user', goal: 'g', ...p });

/** What the scripted scriptwriter drafts for each kind of plan (mock domain). */
const DRAFTS: Record<TaskKind, unknown> = {
  write: { reason_for_call: 'My task is done.', known_info: 'My user id is user_1.', task_instructions: 'Ask the agent to mark task_1 as completed.', actions: [{ name: 'update_task_status', arguments: { task_id: 'task_1', status: 'completed' } }] },
  'multi-intent': {
    reason_for_call: 'Two things about my tasks.',
    known_info: 'My user id is user_1.',
    task_instructions: 'Ask the agent to create a task titled "Ship the report", and to mark task_1 as completed.',
    actions: [
      { name: 'create_task', arguments: { user_id: 'user_1', title: 'Ship the report' } },
      { name: 'update_task_status', arguments: { task_id: 'task_1', status: 'completed' } },
    ],
  },
  info: { reason_for_call: 'I forgot the name on my account.', known_info: 'My user id is user_1.', task_instructions: 'Ask what name the account has.', actions: [{ name: 'get_users', arguments: {} }], ask_about: 'name' },
  refusal: { reason_for_call: 'I want my task closed.', known_info: 'My user id is user_1.', task_instructions: 'Ask the agent to mark task_1 completed.', request: { name: 'update_task_status', arguments: { task_id: 'task_1', status: 'completed' } }, actions: [{ name: 'get_users', arguments: {} }] },
};

function scriptedModel(req: ChatRequest): FakeAnswer {
  if (req.tools?.length) return firstToolCall(req);
  const name = req.jsonSchema?.name;
  const user = String(req.messages.at(-1)?.content ?? '');
  if (name === 'task_draft') return { json: DRAFTS[(/kind=([a-z-]+)/.exec(user)?.[1] ?? 'write') as TaskKind] };
  if (name === 'checker_spec') {
    const props = (req.jsonSchema!.schema as { properties: Record<string, { items: { enum: string[] } }> }).properties;
    return { json: { checks: props.checks.items.enum, requiredCalls: props.requiredCalls.items.enum.filter((x) => x !== 'none') } };
  }
  return { text: 'no' };
}

function planMsg(p: SynthesisPlan): PlanIssued {
  return {
    runId: 'r',
    domain: 'mock',
    planId: 'r-p0',
    index: 0,
    tasksPerPlan: 1,
    maxRevisions: 1,
    synthesis: p,
    evaluation: { rubric: ['the agent does what the user asked'], failureTaxonomy: ['task:ambiguous-instructions', 'trajectory:missed-step'] },
    overlap: { measure: 'm', maxSimilarity: 0, threshold: 0.75, attempts: 0 },
    provenance: prov('r-p0-plan'),
  };
}

async function draft(kind: TaskKind, answer = scriptedModel): Promise<{ proposal: TaskProposal; requests: ChatRequest[] }> {
  const fake = fakeLlm(answer);
  const role = scriptwriterRole({ domain: getDomain, llm: fake.client });
  const p = planMsg(plan({ taskKind: kind, toolPatterns: kind === 'multi-intent' ? ['write:create_task', 'write:update_task_status'] : kind === 'info' ? ['lookup:get_users'] : ['write:update_task_status'] }));
  const out = await runRoleMachine(role, { message: env(`plan-${kind}`, 'synth.plan.issued', p), data: p, delivery: 1, role: { name: 'scriptwriter', impl: role.impl, instance: 's1' } });
  expect(out.map((o) => o.kind)).toEqual(['synth.task.proposed']);
  return { proposal: out[0].data as TaskProposal, requests: fake.requests };
}

async function verify(p: TaskProposal): Promise<TaskReady> {
  const role = verifierRole({ domain: getDomain, llm: fakeLlm(scriptedModel).client });
  const data = { ...p, verdicts: [] };
  const out = await runRoleMachine(role, { message: env(`acc-${p.itemId}`, 'synth.task.accepted', data), data, delivery: 1, role: { name: 'verifier', impl: role.impl, instance: 'v1' } });
  expect(out.map((o) => o.kind)).toEqual(['synth.task.ready']);
  return out[0].data as TaskReady;
}

/** Run a ready task's checker on a dialogue: the final state is the initial one with the dialogue's calls replayed, as the verifier does. */
async function judge(ready: TaskReady, messages: Message[]) {
  const initial = stateOf(initialEnvironment(mock, ready.task));
  const final = dialogueFinalState(mock, ready.task, messages);
  return runChecker(ready.checker.source, { initialState: initial, finalState: final, trajectory: messages });
}

let n = 0;
const call = (name: string, args: Record<string, unknown>): Message[] => {
  const id = `t${++n}`;
  const content = initialEnvironment(mock, { id: 'x', user_scenario: { instructions: 'x' } } as never).getResponse({ id, name, arguments: args }).content;
  return [{ role: 'assistant', content: null, tool_calls: [{ id, name, arguments: args, requestor: 'assistant' }] } as Message, { role: 'tool', id, content, requestor: 'assistant', error: false } as Message];
};
const says = (content: string): Message => ({ role: 'assistant', content }) as Message;

describe('scriptwriter exploration by the model (function calling on real read tools)', () => {
  it('mock: the model calls get_users and the draft is written from what it found', async () => {
    const { proposal, requests } = await draft('write');
    expect(proposal.explorer).toMatchObject({ mode: 'model' });
    expect(proposal.exploration[0]).toMatchObject({ name: 'get_users', error: false });
    expect(proposal.exploration[0].output).toContain('user_1');
    const first = requests[0];
    expect(first.toolChoice).toBe('required');
    expect(first.tools!.map((t) => t.name)).toEqual(['get_users']);
    // Gold actions include the read that revealed the id the write uses.
    expect(proposal.task.evaluation_criteria!.actions!.map((a) => a.name)).toEqual(['get_users', 'update_task_status']);
  });

  it('airline: the model follows a user to their reservation with ids it was offered, never guessed', async () => {
    const airline = getDomain('airline');
    const order = ['get_user_details', 'get_reservation_details', 'list_all_airports'];
    let turn = 0;
    const fake = fakeLlm((req) => firstToolCall(req, (t) => t === order[Math.min(turn, order.length - 1)] && (turn++, true)));
    const r = await exploreWithModel(fake.client, airline.createEnvironment(), { domainName: 'airline', plan: plan({ toolPatterns: ['write:cancel_reservation'] }), system: '', offset: 0, rounds: 3 });
    expect(r.steps.map((s) => s.name).slice(0, 2)).toEqual(['get_user_details', 'get_reservation_details']);
    expect(r.steps.every((s) => !s.error)).toBe(true);
    const user = JSON.parse(r.steps[0].output);
    // The reservation id offered in round 2 came from the user's own record.
    expect(user.reservations).toContain(r.steps[1].arguments.reservation_id);
    const offered = fake.requests[1].tools!.find((t) => t.name === 'get_reservation_details')!.parameters as { properties: { reservation_id: { enum: string[] } } };
    expect(offered.properties.reservation_id.enum.slice(0, user.reservations.length)).toEqual(user.reservations);
    expect(r).toMatchObject({ ok: true, calls: 3 });
  });

  it('falls back to the scripted exploration when the model makes no call, and says so', async () => {
    const { proposal } = await draft('write', (req) => (req.tools?.length ? { text: 'I would rather chat.' } : scriptedModel(req)));
    expect(proposal.explorer).toMatchObject({ mode: 'scripted-fallback', modelCalls: 1 });
    expect(proposal.explorer!.reason).toMatch(/made no read call.*answered without a tool call/);
    expect(proposal.exploration.some((s) => s.name === 'get_users' && !s.error)).toBe(true);
  });
});

describe('task kinds: drafted, checked, checker validated, perturbation fails', () => {
  it('write', async () => {
    const { proposal } = await draft('write');
    expect(proposal.intent).toEqual({ kind: 'write' });
    expect(deterministicChecks(mock, proposal.task, [], proposal.intent).checks.filter((c) => !c.ok)).toEqual([]);
    const ready = await verify(proposal);
    expect(ready.checker.validation.every((v) => v.ok)).toBe(true);
    expect((await judge(ready, [...call('get_users', {}), ...call('update_task_status', { task_id: 'task_1', status: 'completed' })])).pass).toBe(true);
    expect((await judge(ready, [...call('get_users', {}), says('Done!')])).pass).toBe(false);
  });

  it('multi-intent: both writes are required', async () => {
    const { proposal } = await draft('multi-intent');
    expect(proposal.intent).toEqual({ kind: 'multi-intent' });
    expect(deterministicChecks(mock, proposal.task, [], proposal.intent).ok).toBe(true);
    const ready = await verify(proposal);
    expect(ready.checker.validation.filter((v) => v.case.startsWith('undo:')).length).toBe(2);
    expect(ready.checker.validation.every((v) => v.ok)).toBe(true);
    const onlyFirst = [...call('create_task', { user_id: 'user_1', title: 'Ship the report' })];
    expect((await judge(ready, onlyFirst)).pass).toBe(false);
  });

  it('info: checked by communicate_info (τ²): the agent must tell the value, and write nothing', async () => {
    const { proposal } = await draft('info');
    expect(proposal.intent).toEqual({ kind: 'info', communicate: ['Test User'] });
    expect(deterministicChecks(mock, proposal.task, [], proposal.intent).checks.filter((c) => !c.ok)).toEqual([]);
    const ready = await verify(proposal);
    expect(ready.criteria.communicate_info).toEqual(['Test User']);
    expect(ready.checker.validation.map((v) => v.case)).toEqual(expect.arrayContaining(['gold', 'initial', 'silent', 'wrong-info:0']));
    expect(ready.checker.validation.every((v) => v.ok)).toBe(true);
    expect((await judge(ready, [...call('get_users', {}), says('The account is in the name of test user.')])).pass).toBe(true);
    expect((await judge(ready, [...call('get_users', {}), says('I could not find a name.')])).pass).toBe(false);
    const wrote = await judge(ready, [...call('get_users', {}), ...call('update_task_status', { task_id: 'task_1', status: 'completed' }), says('Test User')]);
    expect(wrote.pass).toBe(false);
    expect(wrote.reasons.join(' ')).toMatch(/nothing may be written/);
  });

  it('refusal: nothing written and the refusal said', async () => {
    const { proposal } = await draft('refusal');
    expect(proposal.intent).toEqual({ kind: 'refusal', forbidden: [{ name: 'update_task_status', arguments: { task_id: 'task_1', status: 'completed' } }] });
    expect(proposal.task.evaluation_criteria!.actions!.map((a) => a.name)).toEqual(['get_users']);
    expect(deterministicChecks(mock, proposal.task, [], proposal.intent).checks.filter((c) => !c.ok)).toEqual([]);
    const ready = await verify(proposal);
    expect(ready.checker.validation.map((v) => v.case)).toEqual(expect.arrayContaining(['gold', 'silent', 'complied', 'complied-refused']));
    expect(ready.checker.validation.every((v) => v.ok)).toBe(true);
    expect(ready.criteria.nl_assertions?.[0]).toMatch(/refuses to update_task_status/);
    expect((await judge(ready, [...call('get_users', {}), says(GOLD_REFUSAL)])).pass).toBe(true);
    expect((await judge(ready, [...call('get_users', {}), says("Sorry, I can't change task statuses.")])).pass).toBe(true);
    const complied = await judge(ready, [...call('update_task_status', { task_id: 'task_1', status: 'completed' }), says('Done.')]);
    expect(complied.pass).toBe(false);
    expect(complied.reasons.join(' ')).toMatch(/nothing may be written.*never said it cannot/);
  });

  it('the critic refuses a refusal whose request fails on its own, and an info value the user already knows', () => {
    const bad = deterministicChecks(mock, { id: 'x', user_scenario: { instructions: { domain: 'mock', reason_for_call: 'r', known_info: null, unknown_info: null, task_instructions: 't task_99' } }, evaluation_criteria: { actions: [{ action_id: 'a', requestor: 'assistant', name: 'get_users', arguments: {}, info: null }] } } as never, [], {
      kind: 'refusal',
      forbidden: [{ name: 'update_task_status', arguments: { task_id: 'task_99', status: 'completed' } }],
    });
    expect(bad.checks.find((c) => c.name === 'non-trivial')).toMatchObject({ ok: false, detail: expect.stringMatching(/fails on its own/) });
    const known = deterministicChecks(mock, { id: 'y', user_scenario: { instructions: { domain: 'mock', reason_for_call: 'I am Test User', known_info: null, unknown_info: null, task_instructions: 't' } }, evaluation_criteria: { actions: [{ action_id: 'a', requestor: 'assistant', name: 'get_users', arguments: {}, info: null }] } } as never, [], { kind: 'info', communicate: ['Test User'] });
    expect(known.checks.find((c) => c.name === 'non-trivial')).toMatchObject({ ok: false });
  });
});

describe('plan non-overlap on the structural signature', () => {
  const e = toolEntities(mock);
  it('derives entity types from the domain and ignores goal wording', () => {
    expect(e.create_task).toEqual(['task', 'user']);
    expect(e.update_task_status).toEqual(['task']);
    const a = planSignature(plan({ goal: 'close my chores' }), e);
    const b = planSignature(plan({ goal: 'a completely different sentence' }), e);
    expect(signatureDistance(a, b)).toBe(0);
    expect(signatureDistance(a, planSignature(plan({ taskKind: 'refusal', userStyle: 'impatient' }), e))).toBeGreaterThanOrEqual(PLAN_MIN_DISTANCE);
    expect(pairwiseDistances([plan({}), plan({ tier: 'hard' }), plan({ taskKind: 'info', toolPatterns: ['lookup:get_users'] })], e)).toEqual([0.075, 0.7, 0.775]);
  });

  it('the meta-planner refuses an overlapping plan and asks again', async () => {
    const answers = [
      { taskKind: 'write', tier: 'easy', toolPatterns: ['write:update_task_status'], userStyle: 'terse', persona: 'p', goal: 'finish a task', rubric: ['r'], failureTaxonomy: ['task:ambiguous-instructions', 'trajectory:missed-step'] },
      // Same structure, other words: refused.
      { taskKind: 'write', tier: 'easy', toolPatterns: ['write:update_task_status'], userStyle: 'polite', persona: 'q', goal: 'wrap up the quarterly chores', rubric: ['r'], failureTaxonomy: ['task:ambiguous-instructions', 'trajectory:missed-step'] },
      { taskKind: 'info', tier: 'easy', toolPatterns: ['lookup:get_users'], userStyle: 'polite', persona: 'q', goal: 'finish a task', rubric: ['r'], failureTaxonomy: ['task:ambiguous-instructions', 'trajectory:missed-step'] },
    ];
    let i = 0;
    const fake = fakeLlm(() => ({ json: answers[Math.min(i++, answers.length - 1)] }));
    const role = metaPlannerRole({ domain: getDomain, llm: fake.client });
    const req = { runId: 'run', domain: 'mock', plans: 2, tasksPerPlan: 1, maxRevisions: 0 };
    const out = await runRoleMachine(role, { message: env('req', 'synth.run.requested', req), data: req, delivery: 1, role: { name: 'meta-planner', impl: role.impl, instance: 'm1' } });
    const plans = out.map((o) => o.data as PlanIssued);
    expect(plans.map((p) => p.synthesis.taskKind)).toEqual(['write', 'info']);
    expect(plans[1].overlap.attempts).toBe(2);
    expect(plans[1].rejected).toBeUndefined();
    expect(plans[1].overlap.distances![0]).toBeGreaterThanOrEqual(PLAN_MIN_DISTANCE);
    expect(plans[1].overlap.signature).toMatchObject({ intent: 'info/0', entities: ['user'] });
    expect(fake.requests).toHaveLength(3);
    // The run's funnel and report carry the pairwise signature distances and the kinds.
    const c = new FunnelCounter('run', 2);
    out.forEach((o, i) => c.add(env(`p${i}`, o.kind, o.data)));
    const { proposal } = await draft('info');
    c.add(env('t0', 'synth.task.proposed', { ...proposal, runId: 'run' }));
    const sum = c.summary();
    expect(sum.planDistances).toEqual(plans[1].overlap.distances);
    expect(sum.taskKinds).toEqual({ info: 1 });
    expect(sum.explorers).toEqual({ model: 1 });
    expect(distribution(sum.planDistances!)).toMatch(/^1 pair\(s\): min 0\.\d+/);
  });
});
