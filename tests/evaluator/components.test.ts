import { describe, expect, it } from 'vitest';
import { actionMatchesCall, evaluateActions } from '../../domains/evaluator/action-check.ts';
import { checkCommunicate, evaluateCommunicate } from '../../domains/evaluator/communicate-check.ts';
import { evaluateNlAssertions, nlJudgeUserPrompt, parseJudgeAnswer, trajectoryText, type NlJudge } from '../../domains/evaluator/nl-judge.ts';
import { isGradedTermination, prematureTerminationReward } from '../../domains/evaluator/termination.ts';
import { parse, pyFloat } from '../../domains/pycompat/pyjson.ts';
import type { Action, Message } from '../../protocols/tau2/results.ts';

const act = (name: string, args: Record<string, unknown>, compare_args?: string[] | null): Action => ({
  action_id: name, requestor: 'assistant', name, arguments: args, compare_args: compare_args ?? null,
});
const call = (name: string, args: Record<string, unknown>) => ({ id: 'c', name, arguments: args, requestor: 'assistant' as const });

describe('termination', () => {
  it('grades only user_stop and agent_stop', () => {
    expect(isGradedTermination('user_stop')).toBe(true);
    expect(isGradedTermination('agent_stop')).toBe(true);
    for (const r of ['max_steps', 'too_many_errors', 'agent_error', 'user_error', 'timeout', 'infrastructure_error']) {
      expect(isGradedTermination(r)).toBe(false);
    }
    expect(prematureTerminationReward('max_steps')).toMatchObject({ reward: 0, reward_basis: null });
  });
});

describe('action matching', () => {
  it('uses Python equality: 1 == 1.0 == True, "1" != 1', () => {
    expect(actionMatchesCall(act('f', { n: 1 }), call('f', { n: pyFloat(1) }))).toBe(true);
    expect(actionMatchesCall(act('f', { n: 1 }), call('f', { n: true }))).toBe(true);
    expect(actionMatchesCall(act('f', { n: 1 }), call('f', { n: '1' }))).toBe(false);
    expect(actionMatchesCall(act('f', { l: [{ a: 2 }] }), call('f', { l: [{ a: pyFloat(2) }] }))).toBe(true);
  });

  it('compares the call\'s own keys when compare_args is null', () => {
    // the call omits `b`, so only `a` is compared and the extra gold argument is ignored
    expect(actionMatchesCall(act('f', { a: 1, b: 2 }), call('f', { a: 1 }))).toBe(true);
    // the call has an extra key the gold action lacks: {a:1, c:3} != {a:1}
    expect(actionMatchesCall(act('f', { a: 1 }), call('f', { a: 1, c: 3 }))).toBe(false);
    // no arguments at all: a name-only match
    expect(actionMatchesCall(act('f', { a: 1 }), call('f', {}))).toBe(true);
  });

  it('honours compare_args, and [] means name only', () => {
    expect(actionMatchesCall(act('f', { a: 1, b: 2 }, ['a']), call('f', { a: 1, b: 99 }))).toBe(true);
    expect(actionMatchesCall(act('f', { a: 1, b: 2 }, ['b']), call('f', { a: 1, b: 99 }))).toBe(false);
    expect(actionMatchesCall(act('transfer_to_human_agents', { summary: 'x' }, []), call('transfer_to_human_agents', { summary: 'y' }))).toBe(true);
    expect(actionMatchesCall(act('f', {}, []), call('g', {}))).toBe(false);
  });

  it('rewards 1 only when every gold action is matched, from either side, reuse allowed', () => {
    const messages: Message[] = [
      { role: 'assistant', content: null, tool_calls: [call('a', { x: 1 })] },
      { role: 'tool', id: 'c', content: 'ok', requestor: 'assistant', error: false },
      { role: 'user', content: null, tool_calls: [{ ...call('b', {}), requestor: 'user' }] },
      { role: 'tool', id: 'c', content: 'ok', requestor: 'user', error: false },
    ];
    const task = { id: 't', evaluation_criteria: { actions: [act('b', {}), act('a', { x: 1 }), act('a', { x: 1 })] } };
    expect(evaluateActions(task, messages)).toMatchObject({ reward: 1, reward_breakdown: { ACTION: 1 } });
    const miss = { id: 't', evaluation_criteria: { actions: [act('a', { x: 2 }), act('b', {})] } };
    const r = evaluateActions(miss, messages);
    expect(r.reward).toBe(0);
    expect(r.action_checks!.map((c) => c.action_match)).toEqual([false, true]);
    expect(evaluateActions({ id: 't', evaluation_criteria: { actions: [] } }, messages).reward).toBe(1);
  });
});

describe('communicate', () => {
  const msgs: Message[] = [
    { role: 'assistant', content: 'Your refund is $1,004.50 total.' },
    { role: 'user', content: 'the code is 777' },
    { role: 'assistant', content: '   ' },
  ];
  it('is a lowercase substring test with commas removed from the message only', () => {
    const checks = checkCommunicate(msgs, ['1004.50', 'TOTAL', '1,004.50', '777', '004']);
    expect(checks.map((c) => c.met)).toEqual([true, true, false, false, true]);
  });
  it('scores 1 with no communicate_info, else all-or-nothing', () => {
    expect(evaluateCommunicate({ id: 't', evaluation_criteria: {} }, msgs).reward).toBe(1);
    expect(evaluateCommunicate({ id: 't', evaluation_criteria: { communicate_info: ['1004.50'] } }, msgs).reward).toBe(1);
    expect(evaluateCommunicate({ id: 't', evaluation_criteria: { communicate_info: ['1004.50', 'nope'] } }, msgs).reward).toBe(0);
  });
});

describe('NL assertions', () => {
  const msgs: Message[] = [
    { role: 'assistant', content: 'Hi! How can I help you today?' },
    { role: 'assistant', content: null, tool_calls: [call('f', {})] },
    { role: 'tool', id: 'c', content: '{"a": 1}', requestor: 'assistant', error: false },
  ];
  it('flattens every message as role: content, None for missing text', () => {
    expect(trajectoryText(msgs)).toBe('assistant: Hi! How can I help you today?\nassistant: None\ntool: {"a": 1}');
  });
  it('renders the outcomes as a Python list', () => {
    expect(nlJudgeUserPrompt('T', ["agent says it's done", 'x'])).toContain(`["agent says it's done", 'x']`);
  });
  it('parses the JSON answer and rejects fenced or malformed answers', () => {
    const ok = '{"results": [{"expectedOutcome": "a", "reasoning": "r", "metExpectation": true}]}';
    expect(parseJudgeAnswer(ok)).toEqual([{ expectedOutcome: 'a', reasoning: 'r', metExpectation: true }]);
    expect(() => parseJudgeAnswer('```json\n' + ok + '\n```')).toThrow(/not valid JSON/);
    expect(() => parseJudgeAnswer('{"results": [{"expectedOutcome": "a"}]}')).toThrow(/metExpectation/);
  });
  it('rewards all(met) over what the judge returned', async () => {
    const judge = (verdicts: boolean[]): NlJudge => ({
      judge: async (_t, assertions) => verdicts.map((v, i) => ({ expectedOutcome: assertions[i] ?? '?', reasoning: 'r', metExpectation: v })),
    });
    const task = { id: 't', evaluation_criteria: { nl_assertions: ['a', 'b'] } };
    expect((await evaluateNlAssertions(task, msgs, judge([true, true]))).reward).toBe(1);
    expect((await evaluateNlAssertions(task, msgs, judge([true, false]))).reward).toBe(0);
    expect((await evaluateNlAssertions(task, msgs, judge([]))).reward).toBe(1);
    await expect(evaluateNlAssertions(task, msgs, undefined)).rejects.toThrow(/NL judge/);
  });
});

describe('pyjson-parsed arguments keep their float tag', () => {
  it('matches a float-tagged call against an int gold argument', () => {
    const args = parse('{"nonfree_baggages": 1.0}') as Record<string, unknown>;
    expect(actionMatchesCall(act('update_reservation_baggages', { nonfree_baggages: 1 }), call('update_reservation_baggages', args))).toBe(true);
  });
});
