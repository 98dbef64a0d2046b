// The learner role's machine: collect → update → publish per step, in order, for the step budget;
// a failing phase ends it in `failed` and the error reaches the caller. Phases are fakes here (unit
// test of the machine); tests/learner/society-grpo.test.ts runs it with the real trainer.
import { describe, expect, it } from 'vitest';
import { runLearnerRole } from '../../actors/learner/role.ts';
import type { Collected, GrpoPhases, GrpoStepMetrics } from '../../actors/learner/grpo-trainer.ts';

function fakePhases(calls: string[], failAt?: string): GrpoPhases {
  const report = { attempts: 1, kept: 1, droppedAllSuccess: 0, droppedAllFailure: 0, droppedStale: 0, short: false, meanRewardDrawn: 0.5 };
  let version = 0;
  return {
    async collect(step) {
      calls.push(`collect ${step}`);
      if (failAt === `collect ${step}`) throw new Error('rollouts broke');
      return { groups: [], report, t0: 0 } as Collected;
    },
    async update(step, c) {
      calls.push(`update ${step}`);
      expect(c.report).toBe(report); // the collected groups reach the update
      version++;
      return { step, policyVersion: version, loss: 0.1, clipFrac: 0, gradNorm: 1, reward: 0.5, filteredFrac: 0, trainTokens: 10, tokensPerSec: 1, seconds: 0, collect: report, skipped: false } as GrpoStepMetrics;
    },
    async publish(m) {
      calls.push(`publish ${m.step} v${m.policyVersion}`);
    },
  };
}

describe('learner role', () => {
  it('runs collect → update → publish for each step, then stops', async () => {
    const calls: string[] = [];
    const states: string[] = [];
    const { metrics } = await runLearnerRole({ steps: 2, phases: fakePhases(calls), onState: (s, step) => states.push(`${s}@${step}`) });
    expect(calls).toEqual(['collect 1', 'update 1', 'publish 1 v1', 'collect 2', 'update 2', 'publish 2 v2']);
    expect(states).toEqual(['collecting@1', 'updating@1', 'publishing@1', 'collecting@2', 'updating@2', 'publishing@2', 'done@2']);
    expect(metrics.map((m) => m.policyVersion)).toEqual([1, 2]);
  });

  it('ends in failed and rethrows when a phase throws; nothing runs after it', async () => {
    const calls: string[] = [];
    const states: string[] = [];
    await expect(runLearnerRole({ steps: 3, phases: fakePhases(calls, 'collect 2'), onState: (s) => states.push(s) })).rejects.toThrow('rollouts broke');
    expect(calls).toEqual(['collect 1', 'update 1', 'publish 1 v1', 'collect 2']);
    expect(states[states.length - 1]).toBe('failed');
  });

  it('zero steps: done at once', async () => {
    const calls: string[] = [];
    expect((await runLearnerRole({ steps: 0, phases: fakePhases(calls) })).metrics).toEqual([]);
    expect(calls).toEqual([]);
  });
});
