// Every one of the 2,285 generated telecom tasks (the `full` split) is solved by its own reference
// actions: their env assertions (service, mobile data, speed, MMS, refuel amount, overdue bill)
// hold on the device state our simulation reaches. This exercises every fault combination the
// τ² task generator injects.
import { describe, expect, it } from 'vitest';
import { telecomDomain } from '../../domains/telecom/index.ts';
import { goldTrajectory } from '../../domains/evaluator/gold-trajectory.ts';
import { evaluateSimulation } from '../../domains/evaluator/evaluate.ts';

describe('telecom full split', () => {
  it('all 2285 tasks grade to 1 on their gold path (strict replay)', async () => {
    const makeEnv = (o?: { solo?: boolean }) => telecomDomain.createEnvironment(o);
    const tasks = telecomDomain.loadTasks({ split: 'full' });
    expect(tasks).toHaveLength(2285);
    const failures: string[] = [];
    for (const [i, task] of tasks.entries()) {
      const r = await evaluateSimulation({ task_id: task.id, termination_reason: 'user_stop', messages: goldTrajectory(task, makeEnv) }, task, makeEnv, { mode: 'strict' });
      if (r.reward !== 1) failures.push(task.id);
      if (i % 200 === 0) await new Promise((res) => setImmediate(res));
    }
    expect(failures).toEqual([]);
  }, 120_000);
});
