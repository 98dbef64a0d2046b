// Unit tests of the pure parts of the dialogue roles: prompts, role flipping, channel views,
// stop tokens, chat conversion, the LLM agent / user simulator over a fake chat model, the oracle.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { GREETING, type Message, type ToolSchema } from '../../protocols/dialogue.ts';
import { agentView, isUserStop, nextRole, userView } from '../../actors/kit/views.ts';
import { fromChatToolCall, messageFromReply } from '../../actors/kit/chat.ts';
import type { ChatModel, ChatRequest } from '../../actors/kit/ports.ts';
import { buildUserSystemPrompt, loadUserGuidelines, pyStrip } from '../../actors/user-simulator/prompt.ts';
import { flipForUser } from '../../actors/user-simulator/flip.ts';
import { createUserSimulator } from '../../actors/user-simulator/simulator.ts';
import { buildAgentSystemPrompt } from '../../actors/kit/agent-prompt.ts';
import { createLlmAgent, toAgentChat } from '../../actors/kit/agent.ts';
import { createOracleAgent, nextOracleStep, oracleScript, ORACLE_FOLLOW_UP } from '../../actors/actor/oracle-agent.ts';

import { TAU2_DATA } from '../helpers/tau2.ts';
const DATA = TAU2_DATA;

// A trajectory touching every channel: agent tool call + result, user tool call + result, text both ways.
const traj: Message[] = [
  { role: 'assistant', content: GREETING },
  { role: 'user', content: null, tool_calls: [{ id: 'u1', name: 'check_notifications', arguments: {}, requestor: 'user' }] },
  { role: 'tool', id: 'u1', content: '[notif]', requestor: 'user', error: false },
  { role: 'user', content: 'Please close task_1.' },
  { role: 'assistant', content: 'Looking.', tool_calls: [{ id: 'a1', name: 'update_task_status', arguments: { task_id: 'task_1', status: 'completed' }, requestor: 'assistant' }] },
  { role: 'tool', id: 'a1', content: '{"status":"completed"}', requestor: 'assistant', error: false },
  { role: 'assistant', content: 'Done.' },
];

describe('channel views and routing', () => {
  it('shows each side only its own channel', () => {
    expect(agentView(traj).map((m) => m.role + ':' + (m.role === 'tool' ? m.id : m.content))).toEqual([
      `assistant:${GREETING}`, 'user:Please close task_1.', 'assistant:Looking.', 'tool:a1', 'assistant:Done.',
    ]);
    expect(userView(traj).map((m) => m.role + ':' + (m.role === 'tool' ? m.id : m.content))).toEqual([
      `assistant:${GREETING}`, 'user:null', 'tool:u1', 'user:Please close task_1.', 'assistant:Done.',
    ]);
  });

  it('routes text to the other side, tool calls to the environment, results back to the caller', () => {
    expect(traj.map(nextRole)).toEqual(['user', 'env', 'user', 'agent', 'env', 'agent', 'user']);
  });

  it('detects the three stop tokens anywhere in the text', () => {
    for (const t of ['###STOP###', 'ok ###TRANSFER###', '###OUT-OF-SCOPE### bye']) expect(isUserStop({ role: 'user', content: t })).toBe(true);
    for (const t of ['STOP', '##STOP##', null]) expect(isUserStop({ role: 'user', content: t })).toBe(false);
  });
});

describe('user simulator prompt and role flip', () => {
  const scenario =
    "Persona:\n\tProfessional and direct communicator who writes in a clear and concise style\nInstructions:\n\tYou are a team member who needs to create a task for an upcoming meeting. Your goal is to create a task to track this important meeting. Create a new task called 'Important Meeting' for user_1.";

  it('matches the reference assembly byte for byte (golden hashes from the reference algorithm)', () => {
    const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
    const withTools = buildUserSystemPrompt(loadUserGuidelines(true, DATA), scenario);
    expect(withTools.length).toBe(3067);
    expect(sha(withTools)).toBe('5df0a5b32cc3f4d05871034d34a627a45a576a55ce4d0b32f5b6b37c4861fe92');
    const plain = buildUserSystemPrompt(loadUserGuidelines(false, DATA), scenario);
    expect(sha(plain)).toBe('660ef486b6cd1a5fb666bd8feaeff604f97f7bac2a22a23efa9db9661e32c194');
    expect(withTools).toMatch(/^# User Simulation Guidelines/);
    expect(withTools.endsWith(`${scenario}\n</scenario>`)).toBe(true);
  });

  it('fills the persona placeholder and strips like Python', () => {
    expect(buildUserSystemPrompt('  A <PERSONA_GUIDELINES> B\n', 'S', 'calm')).toBe('A calm B\n\n\n<scenario>\nS\n</scenario>');
    expect(pyStrip('\ufeff x \n')).toBe('\ufeff x'); // Python does not treat U+FEFF as space
  });

  it('names the missing guidelines file in its error', () => {
    expect(() => loadUserGuidelines(false, '/nonexistent')).toThrow(/simulation_guidelines\.md/);
  });

  it('flips roles: agent text → user, own messages → assistant, own tool results → tool', () => {
    expect(flipForUser(userView(traj))).toEqual([
      { role: 'user', content: GREETING },
      { role: 'assistant', content: null, tool_calls: [{ id: 'u1', type: 'function', function: { name: 'check_notifications', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'u1', content: '[notif]' },
      { role: 'assistant', content: 'Please close task_1.' },
      { role: 'user', content: 'Done.' },
    ]);
  });
});

/** A chat model that records requests and answers from a script. */
function fakeModel(replies: { content: string | null; calls?: { name: string; args: string }[] }[]) {
  const requests: ChatRequest[] = [];
  let i = 0;
  const model: ChatModel = {
    async complete(req) {
      requests.push(req);
      const r = replies[i++];
      return {
        content: r.content,
        toolCalls: (r.calls ?? []).map((c, k) => ({ id: `x${k}`, type: 'function' as const, function: { name: c.name, arguments: c.args } })),
        usage: { prompt_tokens: 7, completion_tokens: 3 },
      };
    },
  };
  return { model, requests };
}

const tools: ToolSchema[] = [{ type: 'function', function: { name: 'get_users', parameters: { type: 'object', properties: {} } } }];

describe('LLM agent and user simulator over a chat model', () => {
  it('agent: policy prompt in tags, its own view as chat, tools offered, tool-call reply', async () => {
    const { model, requests } = fakeModel([{ content: null, calls: [{ name: 'get_users', args: '{"a":1}' }] }]);
    const agent = createLlmAgent({ model, systemPrompt: buildAgentSystemPrompt('Be nice.'), tools });
    const reply = await agent.nextTurn({ dialogueId: 'd', domain: 'mock', history: agentView(traj), seed: 3 });
    expect(requests[0].messages[0]).toEqual({ role: 'system', content: expect.stringMatching(/^<instructions>\n[\s\S]+\n<\/instructions>\n<policy>\nBe nice.\n<\/policy>$/) });
    expect(requests[0].messages.slice(1)).toEqual(toAgentChat(agentView(traj)));
    expect(requests[0].tools).toEqual(tools);
    expect(requests[0].seed).toBe(3);
    expect(requests[0].dialogueId).toBe('d');
    expect(reply.stop).toBe(false);
    expect(reply.message).toMatchObject({ role: 'assistant', tool_calls: [{ id: 'x0', name: 'get_users', arguments: { a: 1 }, requestor: 'assistant' }], usage: { prompt_tokens: 7, completion_tokens: 3 } });
  });

  it('agent: ###STOP### ends the dialogue only with mayStop (τ²\'s LLM agent cannot stop), and never on a tool call', async () => {
    const replies = () => fakeModel([{ content: 'All done. ###STOP###' }, { content: 'Anything else?' }, { content: '###STOP###', calls: [{ name: 'get_users', args: '{}' }] }]).model;
    const req = { dialogueId: 'd', domain: 'mock', history: agentView(traj) };
    const tau2 = createLlmAgent({ model: replies(), systemPrompt: 'S', tools });
    expect((await tau2.nextTurn(req)).stop).toBe(false);
    const solo = createLlmAgent({ model: replies(), systemPrompt: 'S', tools, mayStop: true });
    const first = await solo.nextTurn(req);
    expect(first.stop).toBe(true);
    expect(first.message.content).toBe('All done. ###STOP###');
    expect((await solo.nextTurn(req)).stop).toBe(false);
    expect((await solo.nextTurn(req)).stop).toBe(false);
  });

  it('user simulator: system prompt then flipped history; tool calls are the user\'s', async () => {
    const { model, requests } = fakeModel([{ content: 'Thanks ###STOP###' }, { content: null, calls: [{ name: 'check_notifications', args: '' }] }]);
    const user = createUserSimulator({ model, systemPrompt: 'SYS', tools });
    const r1 = await user.nextTurn({ dialogueId: 'd', domain: 'mock', history: userView(traj) });
    expect(requests[0].messages[0]).toEqual({ role: 'system', content: 'SYS' });
    expect(requests[0].messages.slice(1)).toEqual(flipForUser(userView(traj)));
    expect(isUserStop(r1.message)).toBe(true);
    const r2 = await user.nextTurn({ dialogueId: 'd', domain: 'mock', history: [] });
    expect(r2.message.tool_calls?.[0]).toMatchObject({ name: 'check_notifications', arguments: {}, requestor: 'user' });
    // No tools: none offered to the model.
    const bare = fakeModel([{ content: 'hi' }]);
    await createUserSimulator({ model: bare.model, systemPrompt: 'S' }).nextTurn({ dialogueId: 'd', domain: 'airline', history: [] });
    expect(bare.requests[0].tools).toBeUndefined();
  });

  it('rejects tool arguments that are not a JSON object, naming the tool', () => {
    const c = (args: string) => ({ id: 'i', type: 'function' as const, function: { name: 'f', arguments: args } });
    expect(() => fromChatToolCall(c('{oops'), 'assistant')).toThrow(/f has arguments that are not valid JSON/);
    expect(() => fromChatToolCall(c('[1]'), 'assistant')).toThrow(/not a JSON object/);
    expect(messageFromReply({ content: 'hi', toolCalls: [], usage: { prompt_tokens: 1, completion_tokens: 1 } }, 'user')).toMatchObject({ role: 'user', content: 'hi', tool_calls: null, cost: 0 });
  });
});

describe('oracle agent (test harness)', () => {
  const task = {
    id: 't',
    evaluation_criteria: {
      actions: [
        { action_id: 'a', name: 'create_task', arguments: { user_id: 'user_1', title: 'X' } },
        { action_id: 'b', requestor: 'user' as const, name: 'toggle_airplane_mode', arguments: {} },
      ],
      communicate_info: ['1,004 dollars'],
    },
  };

  it('scripts gold actions, a closing message with the info (commas removed), follow-ups, then stop', () => {
    const s = oracleScript(task, 1);
    expect(s.map((x) => x.kind)).toEqual(['call', 'say', 'say', 'say', 'stop']);
    expect(s[1]).toEqual({ kind: 'say', text: 'Please do this on your side: toggle_airplane_mode()' });
    expect(s[2]).toEqual({ kind: 'say', text: 'Your request has been handled. 1004 dollars' });
    expect(s[3]).toEqual({ kind: 'say', text: ORACLE_FOLLOW_UP });
  });

  it('plays its script across turns from the history alone', async () => {
    const oracle = createOracleAgent(task, { patience: 0 });
    const history: Message[] = [{ role: 'assistant', content: GREETING }, { role: 'user', content: 'hi' }];
    const kinds: string[] = [];
    for (let turn = 0; turn < 4; turn++) {
      const r = await oracle.nextTurn({ dialogueId: 'd', domain: 'mock', history });
      history.push(r.message);
      kinds.push(r.stop ? 'stop' : r.message.tool_calls ? `call:${r.message.tool_calls[0].name}` : 'say');
      if (r.message.tool_calls) history.push({ role: 'tool', id: r.message.tool_calls[0].id, content: '{}', requestor: 'assistant', error: false });
    }
    expect(kinds).toEqual(['call:create_task', 'say', 'say', 'stop']);
    expect(nextOracleStep(history)).toBe(4);
    expect(history[2]).toMatchObject({ tool_calls: [{ id: 'oracle-0', arguments: { user_id: 'user_1', title: 'X' } }], raw_data: { oracle: { step: 0 } } });
  });
});

describe('tool-call arguments keep Python number types', () => {
  it('decodes 1.0 as a tagged float and 1 as an int', async () => {
    const { isPyFloat } = await import('../../domains/pycompat/pyjson.ts');
    const call = fromChatToolCall({ id: 'i', type: 'function', function: { name: 'f', arguments: '{"a": 1.0, "b": 1, "c": [2.5]}' } }, 'assistant');
    expect(isPyFloat(call.arguments.a)).toBe(true);
    expect(isPyFloat(call.arguments.b)).toBe(false);
    expect(call.arguments.b).toBe(1);
    expect(isPyFloat((call.arguments.c as unknown[])[0])).toBe(true);
  });
});
