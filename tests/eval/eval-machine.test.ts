// The eval run's machine (cli/drivers/eval/machine.ts) as one unit, with scripted effects: which
// results it records, retries, drops or gives up on, and when it stops. (The runner with the real bus,
// services and scene host is tested in eval-society.test.ts and eval-e2e.test.ts.)
import { describe, expect, it } from 'vitest';
import { createActor, toPromise } from 'xstate';
import { evalMachine, type EvalEffects, type EvalEvent } from '../../cli/drivers/eval/machine.ts';
import type { PlannedSimulation } from '../../cli/drivers/eval/plan.ts';
import type { DialogueResult } from '../../protocols/dialogue.ts';
import type { SimulationRun } from '../../protocols/tau2/results.ts';

const plan: PlannedSimulation[] = [
  { taskId: 'a', trial: 0, seed: 1 },
  { taskId: 'b', trial: 0, seed: 2 },
];

function result(dialogueId: string, over: Partial<DialogueResult> = {}): DialogueResult {
  const [, taskId] = dialogueId.split('/');
  const now = new Date(0).toISOString();
  return { dialogueId, domain: 'mock', taskId, trial: 0, seed: 1, terminationReason: 'agent_stop', messages: [], steps: 0, numErrors: 0, startTime: now, endTime: now, durationMs: 0, agentCost: 0, userCost: 0, agentUsage: { prompt_tokens: 0, completion_tokens: 0 }, userUsage: { prompt_tokens: 0, completion_tokens: 0 }, ...over };
}

/** Effects that answer each request with what `answer` says (an event, or nothing: the dialogue never ends). */
function scripted(answer: (dialogueId: string, attempt: number) => EvalEvent | EvalEvent[] | undefined, grade: (r: DialogueResult) => number | Error = () => 1) {
  let send!: (e: EvalEvent) => void;
  const requested: string[] = [];
  const recorded: SimulationRun[] = [];
  const effects: EvalEffects = {
    start: async () => {},
    async request(p, attempt) {
      const id = `run/${p.taskId}/t${p.trial}/a${attempt}`;
      requested.push(id);
      const e = answer(id, attempt);
      for (const x of e ? (Array.isArray(e) ? e : [e]) : []) setTimeout(() => send(x), 1);
      return id;
    },
    listen(s) {
      send = s;
      setTimeout(() => send({ type: 'listening' }), 1);
      return () => {};
    },
    async grade(r) {
      const g = grade(r);
      if (g instanceof Error) throw g;
      return { reward: g } as never;
    },
    deterministicGradingError: (e) => /needs an NL judge/.test((e as Error).message),
    recorded: async (sim) => void recorded.push(sim),
    toSimulation: (r, reward) => ({ task_id: r.taskId, trial: r.trial, termination_reason: r.terminationReason, reward_info: reward, error: r.error }) as never,
    emptyResult: (id, p) => result(id, { taskId: p.taskId, terminationReason: 'infrastructure_error' }),
    close: async () => {},
    log: () => {},
  };
  return { effects, requested, recorded };
}

const run = (effects: EvalEffects, deadlineMs?: number) => {
  const actor = createActor(evalMachine, { input: { plan, maxAttempts: 3, deadlineMs, effects } });
  const out = toPromise(actor);
  actor.start();
  return out;
};

describe('the eval machine', () => {
  it('grades and records each planned simulation once; copies and other runs\' results are dropped', async () => {
    const s = scripted((id) => [{ type: 'completed', result: result(id) }, { type: 'completed', result: result(id) }, { type: 'completed', result: result('other/x/t0/a1') }]);
    const out = await run(s.effects);
    expect(out).toMatchObject({ ran: 2, reRequested: 0, unfinished: 0 });
    expect(s.recorded.map((x) => [x.task_id, x.reward_info?.reward])).toEqual([['a', 1], ['b', 1]]);
  });

  it('records an infrastructure_error as it is (the scene already retried it)', async () => {
    const s = scripted((id) => ({ type: 'completed', result: result(id, { terminationReason: 'infrastructure_error', error: 'env down' }) }));
    const out = await run(s.effects);
    expect(out).toMatchObject({ ran: 2, reRequested: 0 });
    expect(s.recorded.every((x) => x.termination_reason === 'infrastructure_error' && x.reward_info === null)).toBe(true);
  });

  it('re-requests a rerun role error and a dead letter under new ids, then gives up as infrastructure_error', async () => {
    const s = scripted((id, attempt) =>
      id.includes('/a/') ? { type: 'completed', result: result(id, { terminationReason: 'agent_error', error: 'bad call (invalid_json)' }) } : attempt < 2 ? { type: 'deadLettered', dialogueId: id, reason: 'poison' } : { type: 'completed', result: result(id) },
    );
    const out = await run(s.effects);
    expect(out).toMatchObject({ ran: 2, reRequested: 3, unfinished: 0 });
    expect(s.requested.filter((x) => x.includes('/a/'))).toEqual(['run/a/t0/a1', 'run/a/t0/a2', 'run/a/t0/a3']);
    expect(s.requested.filter((x) => x.includes('/b/'))).toEqual(['run/b/t0/a1', 'run/b/t0/a2']);
    const a = s.recorded.find((x) => x.task_id === 'a')!;
    expect(a).toMatchObject({ termination_reason: 'infrastructure_error', error: 'agent_error: bad call (invalid_json)' });
    expect(s.recorded.find((x) => x.task_id === 'b')!.reward_info).toEqual({ reward: 1 });
  });

  it('does not re-run a grading failure that repeats every time', async () => {
    const s = scripted((id) => ({ type: 'completed', result: result(id) }), (r) => (r.taskId === 'a' ? new Error('task a needs an NL judge') : 1));
    const out = await run(s.effects);
    expect(out).toMatchObject({ ran: 2, reRequested: 0 });
    expect(s.recorded.find((x) => x.task_id === 'a')).toMatchObject({ termination_reason: 'infrastructure_error', error: 'grading: Error: task a needs an NL judge' });
  });

  it('stops at the deadline with the unfinished count', async () => {
    const s = scripted((id) => (id.includes('/a/') ? { type: 'completed', result: result(id) } : undefined));
    const out = await run(s.effects, 200);
    expect(out).toMatchObject({ ran: 1, unfinished: 1 });
    expect(out.error).toBeUndefined();
  });
});
