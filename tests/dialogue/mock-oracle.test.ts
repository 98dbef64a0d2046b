// The scene with the oracle harness as agent and the real mock environment, graded by the real
// evaluator. The user is scripted here (deterministic: asks, then stops once the oracle reports the
// work done), so any failed reward points at the scene, the oracle, the environment or the grader.
import { describe, expect, it } from 'vitest';
import { getDomain } from '../../domains/registry.ts';
import { evaluateSimulation } from '../../domains/evaluator/evaluate.ts';
import { runScene } from '../../actors/scene/machine.ts';
import { findTask, historyFromTask, openTaskEnvironment } from '../../actors/kit/task-env.ts';
import { localEnvPort } from '../../actors/kit/remote.ts';
import { createOracleAgent } from '../../actors/actor/oracle-agent.ts';
import type { UserPort } from '../../actors/kit/ports.ts';
import { DialogueResult } from '../../protocols/dialogue.ts';
import { SimulationRunSchema } from '../../protocols/tau2/results.ts';
import { toSimulationRun } from '../../actors/scene/simulation-run.ts';

import { TAU2_DATA } from '../helpers/tau2.ts';
const DATA = TAU2_DATA;
process.env.TAU2_DATA_DIR = DATA;

/** Asks for help, then stops as soon as the agent's last text says the request was handled. */
const politeUser: UserPort = {
  async nextTurn(req) {
    const lastAgentText = [...req.history].reverse().find((m) => m.role === 'assistant')?.content ?? '';
    const content = lastAgentText.startsWith('Your request has been handled') ? 'Thank you! ###STOP###' : 'Hello, I need help with my tasks.';
    return { message: { role: 'user', content } };
  },
};

describe('oracle harness + real mock environment + evaluator', () => {
  const mock = getDomain('mock');
  const tasks = mock.loadTasks({ split: 'base' });

  it.each(mock.splits().base)('task %s', async (taskId) => {
    const task = findTask(tasks, taskId, 'mock');
    const env = openTaskEnvironment(mock, task);
    const result = await runScene({
      dialogueId: `mock-${taskId}`,
      domain: 'mock',
      taskId,
      agent: createOracleAgent(task),
      user: politeUser,
      env: localEnvPort(env),
      messageHistory: historyFromTask(task),
    });
    expect(() => DialogueResult.parse(result)).not.toThrow();
    expect(result.terminationReason).toBe('user_stop');
    expect(result.messages.filter((m) => m.role === 'tool').every((m) => m.role === 'tool' && !m.error)).toBe(true);

    const info = await evaluateSimulation(
      { task_id: taskId, termination_reason: result.terminationReason, messages: result.messages },
      task,
      (o) => mock.createEnvironment({ solo: o?.solo }),
    );
    // The dialogue and its grade form a valid τ² results entry.
    const run = SimulationRunSchema.parse(toSimulationRun(result, info));
    expect(run).toMatchObject({ id: `mock-${taskId}`, task_id: taskId, termination_reason: 'user_stop', mode: 'half_duplex' });
    expect(run.messages).toHaveLength(result.messages.length);

    if (taskId === 'update_task_with_user_tools') {
      // The user's own part (dismissing the notification) was never done by this scripted user.
      expect(info.reward).toBe(0);
      expect(info.env_assertions?.[0]?.met).toBe(false);
    } else if (taskId === 'update_task_with_history_and_env_assertions') {
      // No gold actions, only an env assertion: a replay-the-gold-actions oracle cannot pass it.
      expect(task.evaluation_criteria?.actions ?? []).toHaveLength(0);
      expect(info.reward).toBe(0);
    } else {
      expect(info.reward).toBe(1);
    }
  });
});
