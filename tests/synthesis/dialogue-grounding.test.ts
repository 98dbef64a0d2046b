// The verifier's grounding of played dialogues (checkDialogueGrounding, and the verifier role failing a
// checker-passing dialogue whose agent wrote what nobody said), and the user simulator's `scenario`
// opening that lets a small user model state its task.
import { describe, expect, it } from 'vitest';
import { getDomain } from '../../domains/registry.ts';
import { runRoleMachine } from '../../runtime/host/host.ts';
import type { Envelope } from '../../protocols/envelope.ts';
import type { DialoguePlayed, TaskReady } from '../../protocols/synthesis.ts';
import type { Message } from '../../protocols/tau2/task.ts';
import { GREETING } from '../../protocols/dialogue.ts';
import { checkDialogueGrounding } from '../../actors/kit/task-checks.ts';
import { verifierRole } from '../../actors/verifier/role.ts';
import { createTaskUser, scenarioOpening } from '../../actors/user-simulator/for-task.ts';
import { userOpeningFromEnv } from '../../actors/user-simulator/role.ts';
import type { ChatModel, ChatRequest } from '../../actors/kit/ports.ts';
import { initialEnvironment } from '../../domains/tasks/states.ts';
import { createAndComplete } from './fixtures/mock-tasks.ts';
import { fakeLlm } from './fake-llm.ts';
import '../helpers/tau2.ts';

const mock = getDomain('mock');
const isWrite = (t: string) => mock.createEnvironment().isMutatingTool(t);
const user = (content: string) => ({ role: 'user', content }) as Message;
let n = 0;
/** An agent call and its real mock-domain result. */
function call(name: string, args: Record<string, unknown>, env = initialEnvironment(mock, createAndComplete)): Message[] {
  const id = `c${++n}`;
  const content = env.getResponse({ id, name, arguments: args }).content;
  return [{ role: 'assistant', content: null, tool_calls: [{ id, name, arguments: args, requestor: 'assistant' }] } as Message, { role: 'tool', id, content, requestor: 'assistant', error: false } as Message];
}

describe('dialogue grounding (pure)', () => {
  it('a literal the user said before the write is grounded, case-insensitively; one nobody said is named', () => {
    const said = [{ role: 'assistant', content: GREETING } as Message, user('Please create a task titled "ship the REPORT" for user_1.'), ...call('create_task', { user_id: 'user_1', title: 'Ship the report' })];
    expect(checkDialogueGrounding(said, isWrite)).toEqual({ ungrounded: [], checked: 2 });
    const unsaid = [{ role: 'assistant', content: GREETING } as Message, user("I'm here to help with any project."), ...call('create_task', { user_id: 'user_1', title: 'Ship the report' })];
    expect(checkDialogueGrounding(unsaid, isWrite).ungrounded).toEqual(['create_task.user_id="user_1"', 'create_task.title="Ship the report"']);
  });

  it('a value returned by an earlier tool call grounds a write; one said only after the write does not', () => {
    const env = initialEnvironment(mock, createAndComplete);
    const viaTool = [user('Mark my first task done, I am user_1.'), ...call('get_users', {}, env), ...call('update_task_status', { task_id: 'task_1', status: 'completed' }, env)];
    // task_1 comes from get_users' result; `status` is a choice among the enum's values when marked so.
    expect(checkDialogueGrounding(viaTool, isWrite, (t, p) => t === 'update_task_status' && p === 'status')).toEqual({ ungrounded: [], checked: 1 });
    expect(checkDialogueGrounding(viaTool, isWrite).ungrounded).toEqual(['update_task_status.status="completed"']);
    const late = [user('hello'), ...call('update_task_status', { task_id: 'task_1', status: 'completed' }, env), user('task_1, completed')];
    expect(checkDialogueGrounding(late, isWrite).ungrounded).toEqual(['update_task_status.task_id="task_1"', 'update_task_status.status="completed"']);
  });

  it('reads are not checked; numbers are, and the empty string is not', () => {
    const m = [user('hi'), ...call('get_users', {})];
    expect(checkDialogueGrounding(m, isWrite)).toEqual({ ungrounded: [], checked: 0 });
    const nums = [user('set it to 42'), { role: 'assistant', content: null, tool_calls: [{ id: 'x', name: 'create_task', arguments: { user_id: 'user_1', title: '', priority: 42, n: 7 }, requestor: 'assistant' }] } as Message];
    expect(checkDialogueGrounding(nums, isWrite).ungrounded).toEqual(['create_task.user_id="user_1"', 'create_task.n="7"']);
  });
});

function envelope(kind: string, data: unknown): Envelope {
  return { id: `m-${kind}`, kind, ts: new Date(0).toISOString(), from: { role: 'test', impl: 'test', instance: 't' }, data } as unknown as Envelope;
}

describe('the verifier fails a checker-passing dialogue that is not grounded', () => {
  async function ready(): Promise<TaskReady> {
    const role = verifierRole({ domain: getDomain, llm: fakeLlm(() => ({ json: { checks: [], requiredCalls: [] } })).client });
    const prov = { runId: 'r', itemId: 'i0', roles: {}, tokens: { prompt: 0, completion: 0 } };
    const plan = { synthesis: { goal: 'create and complete a task' }, evaluation: { rubric: [], failureTaxonomy: [] } };
    const data = { runId: 'r', planId: 'p', itemId: 'i0', domain: 'mock', plan, task: createAndComplete, exploration: [], verdicts: [], provenance: prov } as never;
    const out = await runRoleMachine(role, { message: envelope('synth.task.accepted', data), data, delivery: 1, role: { name: 'verifier', impl: role.impl, instance: 'v1' } });
    expect(out.map((o) => o.kind)).toEqual(['synth.task.ready']);
    return out[0].data as TaskReady;
  }
  async function judge(t: TaskReady, messages: Message[], grounding?: 'off') {
    const role = verifierRole({ domain: getDomain, llm: fakeLlm(() => ({ json: { checks: [], requiredCalls: [] } })).client, ...(grounding ? { dialogueGrounding: grounding } : {}) });
    const data: DialoguePlayed = { ...t, dialogue: { dialogueId: 'd', terminationReason: 'user_stop', messages, steps: messages.length, agentTokens: { prompt: 0, completion: 0 }, userTokens: { prompt: 0, completion: 0 }, error: null } };
    const out = await runRoleMachine(role, { message: envelope('synth.dialogue.played', data), data, delivery: 1, role: { name: 'verifier', impl: role.impl, instance: 'v1' } });
    return out[0] as { kind: string; data: { checkerRun?: { pass: boolean; reasons: string[] } } };
  }
  const gold = (opening: string) => {
    const env = initialEnvironment(mock, createAndComplete);
    return [{ role: 'assistant', content: GREETING } as Message, user(opening), ...call('create_task', { user_id: 'user_1', title: 'Ship the report' }, env), ...call('update_task_status', { task_id: 'task_2', status: 'completed' }, env), { role: 'assistant', content: 'Done.' } as Message, user('Thanks ###STOP###')];
  };

  it('grounded: a dataset record; ungrounded: a failed dialogue naming the values, though the checker passed', async () => {
    const t = await ready();
    const ok = await judge(t, gold('I am user_1. Create a task titled "Ship the report", then mark it completed.'));
    expect(ok.kind).toBe('synth.dataset.record');
    const bad = await judge(t, gold("I'm here to help with any project you're working on."));
    expect(bad.kind).toBe('synth.dialogue.failed');
    expect(bad.data.checkerRun!.pass).toBe(false);
    expect(bad.data.checkerRun!.reasons.join(' ')).toContain('ungrounded: the agent wrote create_task.user_id="user_1", create_task.title="Ship the report"');
    // With grounding off the checker alone decides (the old behaviour).
    expect((await judge(t, gold("I'm here to help."), 'off')).kind).toBe('synth.dataset.record');
  });
});

describe("the user simulator's scenario opening", () => {
  const recording = () => {
    const requests: ChatRequest[] = [];
    const model: ChatModel = { async complete(req) { requests.push(req as ChatRequest); return { content: 'model turn', toolCalls: [], usage: { promptTokens: 1, completionTokens: 1 } } as never; } };
    return { model, requests };
  };

  it('first turn: the reason for call and known info verbatim, without asking the model; later turns: the model', async () => {
    const { model, requests } = recording();
    const u = createTaskUser(mock, createAndComplete, model, { opening: 'scenario' });
    const first = await u.nextTurn({ dialogueId: 'd', domain: 'mock', history: [{ role: 'assistant', content: GREETING }] as never });
    expect(first.message).toEqual({ role: 'user', content: 'I need help with my task list. You are user_1.' });
    expect(requests).toHaveLength(0);
    const second = await u.nextTurn({ dialogueId: 'd', domain: 'mock', history: [{ role: 'assistant', content: GREETING }, first.message, { role: 'assistant', content: 'Sure, what title?' }] as never });
    expect(second.message.content).toBe('model turn');
    expect(requests).toHaveLength(1);
  });

  it('the default `model` opening asks the model from the first turn', async () => {
    const { model, requests } = recording();
    await createTaskUser(mock, createAndComplete, model).nextTurn({ dialogueId: 'd', domain: 'mock', history: [{ role: 'assistant', content: GREETING }] as never });
    expect(requests).toHaveLength(1);
  });

  it('unstructured instructions (τ² mock) are said whole; an unknown TROUPE_USER_OPENING is refused', () => {
    expect(scenarioOpening({ user_scenario: { instructions: "  Create a task called 'Important Meeting' for user_1. " } } as never)).toBe("Create a task called 'Important Meeting' for user_1.");
    expect(userOpeningFromEnv({ TROUPE_USER_OPENING: 'scenario' })).toBe('scenario');
    expect(userOpeningFromEnv({})).toBe('model');
    expect(() => userOpeningFromEnv({ TROUPE_USER_OPENING: 'first' })).toThrow(/TROUPE_USER_OPENING: "first" is not one of model, scenario/);
  });
});
