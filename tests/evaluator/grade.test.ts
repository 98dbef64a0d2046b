// Re-grading stored trajectories end to end: build a τ² results file by hand (gold, empty, one
// wrong write, cut off by the step limit), write it, read it back, grade it, and run the CLI on it.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { getDomain } from '../../domains/registry.ts';
import { goldTrajectory, GREETING, stamp } from '../../domains/evaluator/gold-trajectory.ts';
import { gradeResults } from '../../domains/evaluator/grade.ts';
import { gradeCommand } from '../../cli/tau2-grade.ts';
import { readResultsFile, writeResultsFile } from '../../domains/evaluator/results-io.ts';
import { pyFloat } from '../../domains/pycompat/pyjson.ts';
import { ResultsSchema, type Message, type Results, type SimulationRun } from '../../protocols/tau2/results.ts';

const airline = getDomain('airline');
const makeEnv = (o?: { solo?: boolean }) => airline.createEnvironment(o);
// Task 19: the reference cancels reservation Z7GOZK (a DB-graded write).
const task = airline.loadTasks({ split: 'base' }).find((t) => t.id === '19')!;

function sim(id: string, messages: Message[], termination_reason: SimulationRun['termination_reason']): SimulationRun {
  return {
    id,
    task_id: task.id,
    timestamp: stamp(0),
    start_time: stamp(0),
    end_time: stamp(1000),
    duration: 1.0,
    termination_reason,
    agent_cost: 0.01,
    user_cost: 0.002,
    reward_info: { reward: 1, info: { note: 'stale, to be replaced by re-grading' } },
    messages,
    trial: 0,
    seed: 626729,
    mode: 'half_duplex',
  };
}

function handBuiltResults(): Results {
  const gold = goldTrajectory(task, makeEnv);
  const empty: Message[] = [
    { role: 'assistant', content: GREETING, timestamp: stamp(0) },
    { role: 'user', content: 'never mind ###STOP###', timestamp: stamp(1) },
  ];
  // Same conversation, but the agent cancels another reservation than the one asked for.
  const wrongCall = { id: 'w1', name: 'cancel_reservation', arguments: { reservation_id: 'K1NW8N' }, requestor: 'assistant' as const };
  const env = makeEnv();
  const out = env.getResponse(wrongCall);
  const wrong: Message[] = [
    { role: 'assistant', content: GREETING, timestamp: stamp(0) },
    { role: 'assistant', content: null, tool_calls: [wrongCall], timestamp: stamp(1) },
    { role: 'tool', id: 'w1', content: out.content, requestor: 'assistant', error: out.error, timestamp: stamp(2) },
    { role: 'user', content: '###STOP###', timestamp: stamp(3) },
  ];
  return {
    timestamp: stamp(0),
    info: {
      git_commit: 'test',
      num_trials: 1,
      max_steps: 200,
      max_errors: 10,
      user_info: { implementation: 'user_simulator', llm: 'test-user', llm_args: { temperature: pyFloat(0) }, global_simulation_guidelines: null },
      agent_info: { implementation: 'llm_agent', llm: 'test-agent', llm_args: { temperature: pyFloat(0) } },
      environment_info: { domain_name: 'airline', policy: airline.policy(), tool_defs: null },
      seed: 300,
      text_streaming_config: null,
    },
    tasks: [task],
    simulations: [
      sim('gold', gold, 'user_stop'),
      sim('empty', empty, 'user_stop'),
      sim('wrong-write', wrong, 'user_stop'),
      sim('cut-off', gold, 'max_steps'),
    ],
  };
}

describe('grading stored trajectories', () => {
  const dir = mkdtempSync(join(tmpdir(), 'troupe-grade-'));
  const file = join(dir, 'results.json');

  it('writes a results file that reads back and validates', () => {
    writeResultsFile(file, handBuiltResults());
    const raw = JSON.parse(readFileSync(file, 'utf8'));
    expect(ResultsSchema.safeParse(raw).success).toBe(true);
    expect(Object.keys(raw)).toEqual(['timestamp', 'info', 'tasks', 'simulations']);
    expect(raw.simulations[0].messages.map((m: { turn_idx: number }) => m.turn_idx)).toEqual(raw.simulations[0].messages.map((_: unknown, i: number) => i));
    // a Python float (temperature=0.0) keeps its `.0` in the file
    expect(readFileSync(file, 'utf8')).toContain('"temperature": 0.0');
    const back = readResultsFile(file);
    expect(back.simulations.map((s) => s.id)).toEqual(['gold', 'empty', 'wrong-write', 'cut-off']);
  });

  it('gives gold 1, and empty, one wrong write and a step-limit cut-off 0', async () => {
    const report = await gradeResults(readResultsFile(file), airline);
    const byId = Object.fromEntries(report.graded.map((g) => [g.sim.id, g.reward]));
    expect(byId.gold.reward).toBe(1);
    expect(byId.gold.db_check).toEqual({ db_match: true, db_reward: 1 });
    expect(byId.empty.reward).toBe(0);
    expect(byId.empty.db_check?.db_match).toBe(false);
    expect(byId['wrong-write'].reward).toBe(0);
    expect(byId['wrong-write'].db_check?.db_match).toBe(false);
    expect(byId['wrong-write'].action_checks?.[0].action_match).toBe(false);
    expect(byId['cut-off']).toMatchObject({ reward: 0, reward_basis: null });
    expect(String(byId['cut-off'].info?.note)).toContain('max_steps');
    expect(report.metrics.pass_hat_ks[1]).toBeCloseTo(0.25);
    expect(report.metrics.max_k).toBe(4);
  });

  it('runs as `troupe tau2 grade FILE --out F`, printing pass^k and writing new rewards', async () => {
    const out = join(dir, 'regraded.json');
    const logs: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...a) => void logs.push(a.join(' ')));
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await gradeCommand([file, '--out', out])).toBe(0);
    } finally {
      log.mockRestore();
      err.mockRestore();
    }
    const text = logs.join('\n');
    expect(text).toMatch(/pass\^1\s+25\.00%/);
    expect(text).toMatch(/pass\^4\s+0\.00%/);
    const regraded = readResultsFile(out);
    expect(regraded.simulations.map((s) => s.reward_info?.reward)).toEqual([1, 0, 0, 0]);
    expect(await gradeCommand([])).toBe(2);
  });
});
