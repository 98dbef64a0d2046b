// User-model SFT on the user's own view: the SFT export writes both views of a dialogue, and
// `user-sft` trains exactly what the user simulator produced — its turns and its own tool calls
// (τ² telecom is dual-control: the user operates the phone) — in the context it saw (its scenario as
// the system prompt, the agent's words as user turns, its tool results), never the agent's tool calls.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getDomain } from '../../domains/registry.ts';
import { sftExample } from '../../cli/drivers/synth/export.ts';
import { loadChatTokenizer, type ChatTokenizer } from '../../nn/model/tokenizer.ts';
import { parseSftJsonl, toExamples } from '../../nn/train/sft-data.ts';
import { buildAgentSystemPrompt } from '../../actors/kit/agent-prompt.ts';
import type { DatasetRecord } from '../../protocols/synthesis.ts';
import type { Message } from '../../protocols/dialogue.ts';
import { defaultModelFile } from '../helpers/model.ts';

let tok: ChatTokenizer;
beforeAll(async () => { tok = await loadChatTokenizer(defaultModelFile()); }, 60_000);
afterAll(async () => { await tok?.dispose(); });

describe('user-model SFT on the user view (telecom, dual control)', () => {
  it('export writes both views; user-sft trains exactly the user turns and user tool calls', () => {
    const domain = getDomain('telecom');
    const task = domain.loadTasks()[0];
    const env = domain.createEnvironment();
    const messages: Message[] = [
      { role: 'assistant', content: 'Hi! How can I help you today?' },
      { role: 'user', content: 'My mobile data is not working.' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'a1', name: 'get_customer_by_phone', arguments: { phone_number: '555-123-2002' }, requestor: 'assistant' }] },
      { role: 'tool', id: 'a1', content: '{"customer_id": "C1001"}', requestor: 'assistant', error: false },
      { role: 'assistant', content: 'Please check your status bar and tell me what it shows.' },
      { role: 'user', content: null, tool_calls: [{ id: 'u1', name: 'check_status_bar', arguments: {}, requestor: 'user' }] },
      { role: 'tool', id: 'u1', content: 'Status Bar: No Signal', requestor: 'user', error: false },
      { role: 'user', content: 'It says no signal.' },
      { role: 'assistant', content: 'Please turn airplane mode off.' },
      { role: 'user', content: '###STOP###' },
    ] as Message[];
    const record = {
      recordId: 'run/1', runId: 'run', domain: 'telecom', task,
      dialogue: { messages }, agentSystemPrompt: buildAgentSystemPrompt(domain.policy()), agentTools: env.agentToolSchemas(), provenance: {},
    } as unknown as DatasetRecord;
    const line = JSON.stringify(sftExample(record, domain));
    const [d] = parseSftJsonl(line, 'sft.jsonl');
    // Both views are in the line.
    expect(d.messages[0].role).toBe('system');
    expect(d.userView).toBeDefined();
    expect(d.userSystem).toBe(d.userView!.messages[0].content);
    const ins = task.user_scenario.instructions;
    expect(d.userSystem).toContain(typeof ins === 'string' ? ins : ins.reason_for_call); // the task's own scenario
    expect(d.userView!.tools.map((t) => t.function.name)).toContain('check_status_bar');
    expect(d.userView!.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user', 'assistant', 'tool', 'assistant', 'user', 'assistant']);

    const { examples, skipped } = toExamples([d], tok, 'user-sft', 16384);
    expect(skipped).toBe(0);
    const [ex] = examples;
    const trained = ex.tokens.filter((_, i) => ex.mask[i]);
    const expected = [
      ...tok.tokenize('My mobile data is not working.'), tok.eosId,
      ...tok.tokenize('<tool_call>{"name":"check_status_bar","arguments":{}}</tool_call>'), tok.eosId,
      ...tok.tokenize('It says no signal.'), tok.eosId,
      ...tok.tokenize('###STOP###'), tok.eosId,
    ];
    expect(trained).toEqual(expected);
    // The context: the user's tool result is there (untrained); the agent's tool call and its result are not.
    const text = tok.detokenize(ex.tokens);
    expect(text).toContain('Status Bar: No Signal');
    expect(text).not.toContain('get_customer_by_phone');
    expect(text).not.toContain('C1001');
    expect(text).toContain('check_status_bar'); // offered in the user's tools block

    // The agent view of the same line trains the agent's turns, not the user's.
    const agent = toExamples([d], tok, 'sft', 16384).examples[0];
    const agentText = tok.detokenize(agent.tokens.filter((_, i) => agent.mask[i]));
    expect(agentText).toContain('get_customer_by_phone');
    expect(agentText).not.toContain('It says no signal.');

    // A dialogue longer than train.maxSeqLen is an error naming both lengths, never cut.
    expect(() => toExamples([d], tok, 'user-sft', 100)).toThrow(new RegExp(`is ${ex.tokens.length} tokens, longer than train.maxSeqLen = 100`));
  }, 60_000);
});
