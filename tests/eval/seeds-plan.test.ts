// Units of the eval runner: τ² trial seeds (CPython's Mersenne Twister), the plan of what is left to
// run, resume checks, and the pass^k report.
import { describe, expect, it } from 'vitest';
import { PyRandom, trialSeeds } from '../../cli/drivers/eval/seeds.ts';
import { checkResumable, planSimulations } from '../../cli/drivers/eval/plan.ts';
import { passKTable, perTaskOutcomes, runningPass1 } from '../../cli/drivers/eval/report.ts';
import { runInfo, simulationRun, buildResults } from '../../domains/evaluator/results-builder.ts';
import type { SimulationRun } from '../../protocols/tau2/results.ts';
import type { Task } from '../../protocols/tau2/task.ts';

describe('trial seeds', () => {
  it('match Python random.seed(S); randint(0, 1_000_000) × K', () => {
    // Values printed by CPython 3 for the same calls.
    expect(trialSeeds(300, 4)).toEqual([626729, 373753, 361454, 1567]);
    expect(trialSeeds(0, 3)).toEqual([885440, 403958, 794772]);
    expect(trialSeeds(2 ** 40 + 7, 3)).toEqual([643515, 783626, 854501]); // a two-word seed key
  });
  it('getrandbits over 32 bits and randint over a wide range follow CPython', () => {
    const r = new PyRandom(300);
    expect(r.getrandbits(70)).toBe(412403516705228363586n);
    expect(r.getrandbits(33)).toBe(4155335167n);
    expect(r.randint(5, 2 ** 40)).toBe(380063848421);
  });
});

const task = (id: string) => ({ id }) as unknown as Task;
const sim = (taskId: string, trial: number, reward: number, termination = 'user_stop'): SimulationRun =>
  simulationRun({
    taskId,
    trial,
    messages: [],
    terminationReason: termination as SimulationRun['termination_reason'],
    start: new Date(0),
    end: new Date(1000),
    rewardInfo: termination === 'infrastructure_error' ? null : { reward },
  });

describe('plan', () => {
  it('lists every (task, trial) not finished, with the trial seeds, infrastructure errors excluded from "finished"', () => {
    const plan = planSimulations([task('a'), task('b')], 2, 300, [sim('a', 0, 1), sim('b', 1, 0)]);
    expect(plan).toEqual([
      { taskId: 'a', trial: 1, seed: 373753 },
      { taskId: 'b', trial: 0, seed: 626729 },
    ]);
  });
  it('refuses to resume into a file from another domain or seed', () => {
    const results = buildResults(runInfo({ domain: 'mock', policy: '', agentModel: 'm', userModel: 'u', seed: 300 }), [], []);
    expect(() => checkResumable(results, { domain: 'airline', seed: 300, trials: 1 }, 'x.json')).toThrow(/domain mock ≠ airline/);
    expect(() => checkResumable(results, { domain: 'mock', seed: 1, trials: 1 }, 'x.json')).toThrow(/seed 300 ≠ 1/);
    expect(() => checkResumable(results, { domain: 'mock', seed: 300, trials: 3 }, 'x.json')).not.toThrow();
  });
});

describe('report', () => {
  it('prints pass^1..K with infrastructure errors excluded, and per-task outcomes', () => {
    const sims = [sim('a', 0, 1), sim('a', 1, 0), sim('b', 0, 1), sim('b', 1, 1), sim('c', 0, 0, 'infrastructure_error')];
    const table = passKTable(sims);
    expect(table).toMatch(/^1 +0\.7500$/m); // (1/2 + 1) / 2
    expect(table).toMatch(/^2 +0\.5000$/m); // (0 + 1) / 2
    expect(table).toMatch(/1 infrastructure error\(s\) excluded/);
    expect(perTaskOutcomes(sims)).toMatch(/^a  1\/2 /m);
    expect(perTaskOutcomes(sims)).toMatch(/^c  0\/0  t0:infra/m);
    expect(runningPass1(sims)).toBeCloseTo(0.75);
  });
});
