// Unit tests of the scene machine alone: scripted fake agent / user / environment ports.
import { describe, expect, it } from 'vitest';
import { DialogueResult, GREETING, type AgentTurnReply, type AgentTurnRequest, type Message, type ToolCall, type ToolMessage, type UserTurnRequest } from '../../protocols/dialogue.ts';
import { InfrastructureError, runScene } from '../../actors/scene/machine.ts';
import type { AgentPort, EnvPort, UserPort } from '../../actors/kit/ports.ts';

const usage = (p: number, c: number) => ({ prompt_tokens: p, completion_tokens: c });
const say = (content: string): AgentTurnReply => ({ message: { role: 'assistant', content, usage: usage(10, 2), cost: 0.5 }, stop: false });
const call = (id: string, name: string, args: Record<string, unknown> = {}): ToolCall => ({ id, name, arguments: args, requestor: 'assistant' });
const callTools = (...calls: ToolCall[]): AgentTurnReply => ({ message: { role: 'assistant', content: null, tool_calls: calls, usage: usage(10, 3) }, stop: false });

/** An agent that plays its script; records what it was shown. */
function scriptedAgent(script: (AgentTurnReply | (() => Promise<AgentTurnReply>))[]) {
  const seen: AgentTurnRequest[] = [];
  let i = 0;
  const port: AgentPort = {
    async nextTurn(req) {
      seen.push(req);
      const step = script[Math.min(i++, script.length - 1)];
      return typeof step === 'function' ? step() : structuredClone(step);
    },
  };
  return { port, seen };
}

function scriptedUser(script: (string | ToolCall[])[]) {
  const seen: UserTurnRequest[] = [];
  let i = 0;
  const port: UserPort = {
    async nextTurn(req) {
      seen.push(req);
      const step = script[Math.min(i++, script.length - 1)];
      return typeof step === 'string'
        ? { message: { role: 'user', content: step, usage: usage(5, 1) } }
        : { message: { role: 'user', content: null, tool_calls: step.map((c) => ({ ...c, requestor: 'user' as const })) } };
    },
  };
  return { port, seen };
}

/** An environment answering every call with `ok:<name>`, or an error for names starting with "bad". */
function fakeEnv() {
  const batches: ToolCall[][] = [];
  const port: EnvPort = {
    async execute(calls) {
      batches.push(calls);
      return calls.map(
        (c): ToolMessage => ({
          role: 'tool',
          id: c.id,
          content: c.name.startsWith('bad') ? `Error: Tool '${c.name}' not found.` : `ok:${c.name}`,
          requestor: c.requestor,
          error: c.name.startsWith('bad'),
        }),
      );
    },
  };
  return { port, batches };
}

const base = { dialogueId: 'd1', domain: 'mock', taskId: 't1' };

describe('scene machine', () => {
  it('opens with the greeting, routes tool calls to the environment and back, ends on the user stop token', async () => {
    const agent = scriptedAgent([callTools(call('c1', 'get_users')), say('Done, task created.')]);
    const user = scriptedUser(['Please create a task.', 'Thanks! ###STOP###']);
    const env = fakeEnv();
    const r = await runScene({ ...base, agent: agent.port, user: user.port, env: env.port });

    expect(() => DialogueResult.parse(r)).not.toThrow();
    expect(r.terminationReason).toBe('user_stop');
    expect(r.messages.map((m) => m.role)).toEqual(['assistant', 'user', 'assistant', 'tool', 'assistant', 'user']);
    expect(r.messages[0]).toMatchObject({ role: 'assistant', content: GREETING, cost: 0 });
    expect(r.messages.map((m) => m.turn_idx)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(r.messages[3]).toMatchObject({ role: 'tool', id: 'c1', content: 'ok:get_users', requestor: 'assistant' });
    // user, agent(call), env, agent(text), user(stop) = 5 steps; the greeting is not a step
    expect(r.steps).toBe(5);
    expect(env.batches).toHaveLength(1);
    expect(r.agentUsage).toEqual(usage(20, 5));
    expect(r.userUsage).toEqual(usage(10, 2));
    expect(r.agentCost).toBe(0.5);
    // The user never sees the agent's tool call or its result.
    expect(user.seen[1].history.map((m) => m.role)).toEqual(['assistant', 'user', 'assistant']);
    expect(user.seen[1].history[2].content).toBe('Done, task created.');
  });

  it('keeps the user\'s tool calls on the user channel', async () => {
    const agent = scriptedAgent([say('Sure.'), say('Anything else?')]);
    const user = scriptedUser([[call('u1', 'check_notifications')], 'I saw my notification.', '###STOP###']);
    const env = fakeEnv();
    const r = await runScene({ ...base, agent: agent.port, user: user.port, env: env.port });

    expect(r.terminationReason).toBe('user_stop');
    expect(r.messages.map((m) => m.role)).toEqual(['assistant', 'user', 'tool', 'user', 'assistant', 'user']);
    expect(r.messages[2]).toMatchObject({ role: 'tool', requestor: 'user', id: 'u1' });
    expect(env.batches[0][0].requestor).toBe('user');
    // The tool result went back to the user (second user request sees it) …
    expect(user.seen[1].history.map((m) => m.role)).toEqual(['assistant', 'user', 'tool']);
    // … and the agent saw neither the call nor its result.
    expect(agent.seen[0].history.map((m) => [m.role, m.content])).toEqual([
      ['assistant', GREETING],
      ['user', 'I saw my notification.'],
    ]);
  });

  it('ends with max_steps, but not while a tool batch waits for the environment', async () => {
    const agent = scriptedAgent([callTools(call('c1', 'get_users'))]);
    const user = scriptedUser(['hello']);
    const env = fakeEnv();
    const r = await runScene({ ...base, agent: agent.port, user: user.port, env: env.port, limits: { maxSteps: 2 } });
    expect(r.terminationReason).toBe('max_steps');
    // step 2 was the agent's tool call; the limit waits for the environment's answer (step 3)
    expect(r.steps).toBe(3);
    expect(r.messages.map((m) => m.role)).toEqual(['assistant', 'user', 'assistant', 'tool']);
  });

  it('counts tool errors cumulatively across batches and ends with too_many_errors', async () => {
    const agent = scriptedAgent([callTools(call('c1', 'bad_a')), say('hmm'), callTools(call('c2', 'get_users'), call('c3', 'bad_b'))]);
    const user = scriptedUser(['hi', 'go on']);
    const env = fakeEnv();
    const r = await runScene({ ...base, agent: agent.port, user: user.port, env: env.port, limits: { maxErrors: 2 } });
    expect(r.terminationReason).toBe('too_many_errors');
    expect(r.numErrors).toBe(2);
    expect(r.messages.filter((m) => m.role === 'tool').map((m) => (m as ToolMessage).error)).toEqual([true, false, true]);
  });

  it('resumes a task message_history without a greeting, from its last message', async () => {
    const history: Message[] = [
      { role: 'user', content: 'I need a task.' },
      { role: 'assistant', content: null, tool_calls: [call('call_1', 'create_task', { user_id: 'user_1' })] },
      { role: 'tool', id: 'call_1', content: '{"task_id":"task_2"}', requestor: 'assistant', error: false },
      { role: 'assistant', content: 'Created task_2.' },
    ];
    const agent = scriptedAgent([say('unused')]);
    const user = scriptedUser(['Great, bye ###STOP###']);
    const r = await runScene({ ...base, agent: agent.port, user: user.port, env: fakeEnv().port, messageHistory: history });
    expect(r.messages.some((m) => m.content === GREETING)).toBe(false);
    expect(r.messages).toHaveLength(5);
    expect(agent.seen).toHaveLength(0);
    expect(user.seen[0].history.map((m) => m.content)).toEqual(['I need a task.', 'Created task_2.']);
    expect(r.terminationReason).toBe('user_stop');

    // History ending with the user's text: the agent goes first.
    const agent2 = scriptedAgent([say('Yes?')]);
    const r2 = await runScene({
      ...base,
      agent: agent2.port,
      user: scriptedUser(['###STOP###']).port,
      env: fakeEnv().port,
      messageHistory: history.slice(0, 1),
    });
    expect(agent2.seen).toHaveLength(1);
    expect(r2.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
  });

  it('lets the step limit overwrite a stop made on the last allowed step, as τ² does', async () => {
    const r = await runScene({ ...base, agent: scriptedAgent([say('hi')]).port, user: scriptedUser(['a', 'bye ###STOP###']).port, env: fakeEnv().port, limits: { maxSteps: 3 } });
    // user(1) agent(2) user-stop(3): the stop lands on step 3 = max_steps
    expect(r.steps).toBe(3);
    expect(r.terminationReason).toBe('max_steps');
    const r2 = await runScene({ ...base, agent: scriptedAgent([say('hi')]).port, user: scriptedUser(['a', 'bye ###STOP###']).port, env: fakeEnv().port, limits: { maxSteps: 4 } });
    expect(r2.terminationReason).toBe('user_stop');
  });

  it('treats a history that ends with the user\'s stop token as finished', async () => {
    const agent = scriptedAgent([say('unused')]);
    const r = await runScene({ ...base, agent: agent.port, user: scriptedUser(['x']).port, env: fakeEnv().port, messageHistory: [{ role: 'user', content: 'bye ###STOP###' }] });
    expect(r).toMatchObject({ terminationReason: 'user_stop', steps: 0 });
    expect(agent.seen).toHaveLength(0);
  });

  it('ends with agent_stop when the agent says it is done', async () => {
    const agent = scriptedAgent([{ message: { role: 'assistant', content: '###STOP###' }, stop: true }]);
    const r = await runScene({ ...base, agent: agent.port, user: scriptedUser(['hi']).port, env: fakeEnv().port });
    expect(r.terminationReason).toBe('agent_stop');
    expect(r.messages.map((m) => m.role)).toEqual(['assistant', 'user', 'assistant']);
  });

  it('maps failures to τ² termination reasons', async () => {
    const run = (agentPort: AgentPort, env: EnvPort = fakeEnv().port, user: UserPort = scriptedUser(['hi']).port) =>
      runScene({ ...base, agent: agentPort, user, env });

    const throwing = await run({ nextTurn: async () => { throw new Error('model exploded'); } });
    expect(throwing).toMatchObject({ terminationReason: 'agent_error', error: 'model exploded' });

    const empty = await run(scriptedAgent([{ message: { role: 'assistant', content: '  ' }, stop: false }]).port);
    expect(empty.terminationReason).toBe('agent_error');
    expect(empty.error).toMatch(/neither text nor tool calls/);

    const infra = await run({ nextTurn: async () => { throw new InfrastructureError('no responders'); } });
    expect(infra.terminationReason).toBe('infrastructure_error');

    const badEnv: EnvPort = { execute: async (calls) => calls.map(() => ({ role: 'tool', id: 'wrong', content: 'x', requestor: 'assistant', error: false })) };
    const mismatch = await run(scriptedAgent([callTools(call('c1', 'get_users'))]).port, badEnv);
    expect(mismatch.terminationReason).toBe('infrastructure_error');
    expect(mismatch.error).toMatch(/expected c1/);

    const userFails = await run(scriptedAgent([say('x')]).port, fakeEnv().port, { nextTurn: async () => ({ message: { role: 'user', content: '' } }) });
    expect(userFails.terminationReason).toBe('user_error');
  });

  it('times out a dialogue and a turn, aborting the call in flight', async () => {
    let aborted = 0;
    const hanging: AgentPort = {
      nextTurn: (_req, signal) =>
        new Promise((_, reject) => signal?.addEventListener('abort', () => { aborted++; reject(new Error('aborted')); })),
    };
    const whole = await runScene({ ...base, agent: hanging, user: scriptedUser(['hi']).port, env: fakeEnv().port, limits: { timeoutMs: 50 } });
    expect(whole.terminationReason).toBe('timeout');
    const turn = await runScene({ ...base, agent: hanging, user: scriptedUser(['hi']).port, env: fakeEnv().port, limits: { turnTimeoutMs: 50 } });
    expect(turn.terminationReason).toBe('agent_error');
    expect(turn.error).toMatch(/timed out/);
    expect(aborted).toBe(2);
  });

  it('reports every message through onMessage in log order', async () => {
    const got: Message[] = [];
    const r = await runScene({
      ...base,
      agent: scriptedAgent([callTools(call('c1', 'x')), say('ok')]).port,
      user: scriptedUser(['hi', '###STOP###']).port,
      env: fakeEnv().port,
      onMessage: (m) => got.push(m),
    });
    expect(got).toEqual(r.messages);
  });
});
