import { describe, expect, it } from 'vitest';
import { orderMessages, parseResults, toPythonJson } from '../../domains/evaluator/results-io.ts';
import { PyFloat } from '../../domains/pycompat/pyjson.ts';
import { flattenMessages, allToolCalls } from '../../domains/evaluator/messages.ts';
import type { Message } from '../../protocols/tau2/results.ts';

const minimal = (sims: unknown[]) =>
  JSON.stringify({
    timestamp: '2026-01-01T00:00:00',
    info: {
      git_commit: 'x', num_trials: 1, max_steps: 200, max_errors: 10,
      user_info: { implementation: 'user_simulator' }, agent_info: { implementation: 'llm_agent' },
      environment_info: { domain_name: 'mock', policy: 'p' },
    },
    tasks: [{ id: 't1', user_scenario: { instructions: 'x' } }],
    simulations: sims,
  });

const simJson = (extra: Record<string, unknown> = {}) => ({
  id: 's1', task_id: 't1', timestamp: 't', start_time: 't', end_time: 't', duration: 1.5,
  termination_reason: 'user_stop', messages: [], ...extra,
});

describe('results files', () => {
  it('keeps Python float tags in tool-call arguments through parse and write', () => {
    const text = minimal([
      simJson({
        messages: [
          { role: 'assistant', content: null, tool_calls: [{ id: 'a', name: 'f', arguments: { n: 1.0, m: 1 } }] },
          { role: 'tool', id: 'a', content: 'ok' },
        ],
      }),
    ]).replace('"n":1,', '"n":1.0,'); // JSON.stringify cannot write a float 1.0 itself
    expect(text).toContain('"n":1.0,');
    const r = parseResults(text);
    const args = allToolCalls(r.simulations[0].messages)[0].arguments;
    expect(args.n).toBeInstanceOf(PyFloat);
    expect(args.m).toBe(1);
    const out = toPythonJson(r);
    expect(out).toContain('"n": 1.0');
    expect(out).toContain('"m": 1');
    // pydantic defaults are applied on read
    const tool = r.simulations[0].messages[1] as { requestor: string; error: boolean };
    expect(tool).toMatchObject({ requestor: 'assistant', error: false });
    expect(r.simulations[0].mode).toBe('half_duplex');
  });

  it('rejects a file that is not τ² results, naming the field', () => {
    expect(() => parseResults('{', 'x.json')).toThrow(/x\.json.*invalid JSON/);
    expect(() => parseResults(minimal([simJson({ termination_reason: 'bored' })]), 'x.json')).toThrow(/termination_reason/);
    expect(() => parseResults(minimal([{ ...simJson(), duration: undefined }]), 'x.json')).toThrow(/duration/);
  });

  it('orders messages by timestamp and renumbers turn_idx', () => {
    const msgs: Message[] = [
      { role: 'user', content: 'b', timestamp: '2026-01-01T00:00:02', turn_idx: 7 },
      { role: 'assistant', content: 'a', timestamp: '2026-01-01T00:00:01', turn_idx: 3 },
      { role: 'assistant', content: 'c', timestamp: '2026-01-01T00:00:02', turn_idx: 0 },
    ];
    const out = orderMessages(msgs);
    expect(out.map((m) => m.content)).toEqual(['a', 'b', 'c']);
    expect(out.map((m) => m.turn_idx)).toEqual([0, 1, 2]);
  });

  it('flattens grouped tool results in order', () => {
    const msgs = [
      { role: 'assistant', content: null, tool_calls: [{ id: 'a', name: 'f', arguments: {}, requestor: 'assistant' }, { id: 'b', name: 'g', arguments: {}, requestor: 'assistant' }] },
      { role: 'tool', tool_messages: [{ role: 'tool', id: 'a', content: '1', requestor: 'assistant', error: false }, { role: 'tool', id: 'b', content: '2', requestor: 'assistant', error: false }] },
    ] as Message[];
    expect(flattenMessages(msgs).map((m) => (m as { id?: string }).id ?? m.role)).toEqual(['assistant', 'a', 'b']);
  });
});

describe('results builder', () => {
  it('builds a file the schema accepts, with τ² defaults', async () => {
    const { runInfo, simulationRun, buildResults, isoNow } = await import('../../domains/evaluator/results-builder.ts');
    const { ResultsSchema } = await import('../../protocols/tau2/results.ts');
    const info = runInfo({ domain: 'mock', policy: 'p', agentModel: 'a', userModel: 'u' });
    expect(info).toMatchObject({ max_steps: 200, max_errors: 10, seed: 300, num_trials: 1 });
    const start = new Date(2026, 0, 1, 12, 0, 0, 5);
    const sim = simulationRun({ taskId: 't1', messages: [], terminationReason: 'user_stop', start, end: new Date(start.getTime() + 1500) });
    expect(sim.duration).toBe(1.5);
    expect(sim.start_time).toBe('2026-01-01T12:00:00.005000');
    expect(isoNow()).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
    expect(ResultsSchema.safeParse(buildResults(info, [{ id: 't1' }], [sim])).success).toBe(true);
  });
});

describe('results key order', () => {
  it('writes dict keys in Python order, integer-like keys included', () => {
    const text = minimal([simJson({ messages: [{ role: 'assistant', content: null, tool_calls: [{ id: 'a', name: 'f', arguments: { z: 1, '10': 2, '2': 3 } }] }, { role: 'tool', id: 'a', content: 'ok' }] })])
      .replace('{"2":3,"10":2,"z":1}', '{"z":1,"10":2,"2":3}');
    expect(text).toContain('{"z":1,"10":2,"2":3}');
    const out = toPythonJson(parseResults(text));
    expect(out.indexOf('"z": 1')).toBeLessThan(out.indexOf('"10": 2'));
    expect(out.indexOf('"10": 2')).toBeLessThan(out.indexOf('"2": 3'));
  });
});
