// In-process rollout source for single-turn verifiable tasks: G samples of the current model per
// task prompt, each scored by the task's checker. Used by benches and tests; multi-turn rollouts
// through the society implement the same RolloutSource interface.
import type { LlamaModel } from '../../nn/model/llama.ts';
import { makeRng, sample } from '../../nn/model/sample.ts';
import type { RolloutGroup, RolloutSource } from '../../nn/train/grpo.ts';

export interface PromptTask {
  id: string;
  prompt: number[];
  /** Reward of a generated continuation (the checker). */
  check(generated: number[]): number;
}

export class PromptRolloutSource implements RolloutSource {
  private rng: () => number;
  drawn = 0;
  constructor(private model: LlamaModel, private tasks: PromptTask[], private groupSize: number, private maxNew: number, private stopId?: number, seed = 1, private temperature = 1) {
    if (!tasks.length) throw new Error('PromptRolloutSource: no tasks');
    this.rng = makeRng(seed);
  }
  async nextGroup(policyVersion: number): Promise<RolloutGroup> {
    const task = this.tasks[Math.floor(this.rng() * this.tasks.length)];
    this.drawn++;
    const { tokens, logProbs } = sample(this.model, Array.from({ length: this.groupSize }, () => task.prompt), this.maxNew, this.rng, this.temperature, this.stopId);
    return {
      taskId: task.id,
      rollouts: tokens.map((gen, i) => ({
        tokens: [...task.prompt, ...gen],
        agentMask: [...task.prompt.map(() => 0), ...gen.map(() => 1)],
        oldLogProbs: [...task.prompt.map(() => 0), ...logProbs[i]],
        reward: task.check(gen),
        policyVersion,
      })),
    };
  }
}

/** Greedy pass rate: fraction of tasks whose greedy continuation the checker accepts. */
export function greedyPassRate(model: LlamaModel, tasks: PromptTask[], maxNew: number, stopId?: number): number {
  let pass = 0;
  // Batch prompts of equal length together.
  const byLen = new Map<number, PromptTask[]>();
  for (const t of tasks) byLen.set(t.prompt.length, [...(byLen.get(t.prompt.length) ?? []), t]);
  for (const group of byLen.values()) {
    const { tokens } = sample(model, group.map((t) => t.prompt), maxNew, () => 0, 0, stopId);
    group.forEach((t, i) => { if (t.check(tokens[i]) >= 1) pass++; });
  }
  return pass / tasks.length;
}
