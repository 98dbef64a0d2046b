// The environment component on the mock domain: strict vs lenient replay, skipped reads and
// unknown tools, and the DB comparison agreeing with τ²'s hash.
import { describe, expect, it } from 'vitest';
import { getDomain } from '../../domains/registry.ts';
import { evaluateEnvironment } from '../../domains/evaluator/env-check.ts';
import { sameDump } from '../../domains/evaluator/same-dump.ts';
import { hashValue } from '../../domains/core/db.ts';
import { PyFloat, deepCopy } from '../../domains/pycompat/pyjson.ts';
import { ReplayMismatchError } from '../../domains/core/environment.ts';
import type { Message } from '../../protocols/tau2/results.ts';

const mock = getDomain('mock');
const makeEnv = (o?: { solo?: boolean }) => mock.createEnvironment(o);
const task = mock.loadTasks({ split: 'base' }).find((t) => t.id === 'update_task_1')!; // update_task_status(task_1, completed)

function trajectory(recorded: string, extra: Message[] = []): Message[] {
  const call = { id: 'c1', name: 'update_task_status', arguments: { task_id: 'task_1', status: 'completed' }, requestor: 'assistant' as const };
  return [
    { role: 'assistant', content: 'Hi! How can I help you today?' },
    ...extra,
    { role: 'assistant', content: null, tool_calls: [call] },
    { role: 'tool', id: 'c1', content: recorded, requestor: 'assistant', error: false },
    { role: 'user', content: '###STOP###' },
  ];
}

describe('environment check', () => {
  const env = makeEnv();
  const real = env.getResponse({ id: 'c1', name: 'update_task_status', arguments: { task_id: 'task_1', status: 'completed' }, requestor: 'assistant' }).content;

  it('matches the gold DB when the trajectory makes the gold write', () => {
    expect(evaluateEnvironment(makeEnv, task, trajectory(real))).toMatchObject({ reward: 1, db_check: { db_match: true, db_reward: 1 } });
  });

  it('strict replay throws on a recorded write output that differs; lenient counts it and grades the state', () => {
    const tampered = trajectory('{"task_id": "task_1", "status": "something else"}');
    expect(() => evaluateEnvironment(makeEnv, task, tampered, { mode: 'strict' })).toThrow(ReplayMismatchError);
    const lenient = evaluateEnvironment(makeEnv, task, tampered, { mode: 'lenient' });
    expect(lenient.reward).toBe(1);
    expect(lenient.info).toMatchObject({ replay_mismatches: 1, replay_mismatch_tools: ['update_task_status'] });
  });

  it('skips reads and hallucinated tools during replay, even with odd recorded outputs', () => {
    const extra: Message[] = [
      { role: 'assistant', content: null, tool_calls: [{ id: 'r1', name: 'get_users', arguments: {}, requestor: 'assistant' }] },
      { role: 'tool', id: 'r1', content: 'not what get_users returns', requestor: 'assistant', error: false },
      { role: 'assistant', content: null, tool_calls: [{ id: 'h1', name: 'delete_everything', arguments: {}, requestor: 'assistant' }] },
      { role: 'tool', id: 'h1', content: "Error: Tool 'delete_everything' not found.", requestor: 'assistant', error: true },
    ];
    expect(evaluateEnvironment(makeEnv, task, trajectory(real, extra), { mode: 'strict' }).reward).toBe(1);
  });

  it('rejects a tool message that answers no call', () => {
    const bad: Message[] = [{ role: 'tool', id: 'x', content: 'orphan', requestor: 'assistant', error: false }];
    expect(() => evaluateEnvironment(makeEnv, task, bad)).toThrow(/Tool message not expected/);
  });
});

describe('DB equality agrees with τ²\'s hash', () => {
  const base = makeEnv().agentDbDump() as Record<string, unknown>;
  // [name, mutation, whether τ²'s hashes would still be equal]
  const variants: [string, (d: any) => void][] = [
    ['unchanged', () => {}],
    ['int instead of float', (d) => (d.tasks.task_1.extra = 1)],
    ['float instead of int', (d) => (d.tasks.task_1.extra = new PyFloat(1))],
    ['bool instead of int', (d) => (d.tasks.task_1.extra = true)],
    ['string instead of int', (d) => (d.tasks.task_1.extra = '1')],
    ['list order', (d) => d.users.user_1.tasks.reverse().push('x', 'y')],
    ['key order only', (d) => { const t = d.tasks.task_1; const copy = { ...t }; for (const k of Object.keys(t)) delete t[k]; Object.assign(t, Object.fromEntries(Object.entries(copy).reverse())); }],
    ['null vs missing', (d) => (d.tasks.task_1.description = null)],
  ];
  for (const [name, mutate] of variants) {
    it(name, () => {
      const a = deepCopy(base);
      const b = makeEnv().agentDbDump() as any;
      if (name === 'int instead of float' || name === 'bool instead of int' || name === 'string instead of int') (a as any).tasks.task_1.extra = new PyFloat(1);
      mutate(b);
      const sameHash = hashValue(a) === hashValue(b);
      expect(sameDump(a, b)).toBe(sameHash);
      expect(sameHash).toBe(name === 'unchanged' || name === 'key order only');
    });
  }
});
