// A trivially learnable verifiable task for tests and benches: the prompt is a digit, the agent
// must answer with a fixed function of it, and the checker gives reward 1 for the right token.
// Vocabulary: 0 = BOS/pad, 1 = EOS, 2.. = digits.
import { tf } from '../backend/backend.ts';
import { forward, type LlamaConfig, type LlamaModel } from '../model/llama.ts';
import { makeRng, sample } from '../model/sample.ts';
import type { RolloutGroup, RolloutSource } from './grpo.ts';

export const TOY_BOS = 0;
export const TOY_EOS = 1;
export const TOY_DIGIT0 = 2;

export interface ToyTask {
  id: string;
  digit: number;
  answer: number; // token id expected
}

/** Tasks "answer (d + shift) mod K" for digits d in `digits`. */
export function toyTasks(K: number, shift: number, digits: number[] = [...Array(K).keys()]): ToyTask[] {
  return digits.map((d) => ({ id: `toy-${d}`, digit: d, answer: TOY_DIGIT0 + ((d + shift) % K) }));
}

export function toyConfig(K: number, over: Partial<LlamaConfig> = {}): LlamaConfig {
  return { vocabSize: TOY_DIGIT0 + K, dim: 16, nLayers: 1, nHeads: 2, nKvHeads: 1, headDim: 8, ffnDim: 32, ropeBase: 10000, normEps: 1e-5, tiedEmbeddings: true, contextLength: 8, ...over };
}

export const toyPrompt = (t: ToyTask) => [TOY_BOS, TOY_DIGIT0 + t.digit];

/** Exact expected reward at temperature 1: mean over tasks of p(answer | prompt). */
export function toyExpectedReward(model: LlamaModel, tasks: ToyTask[]): number {
  return tf.tidy(() => {
    const prompts = tasks.map(toyPrompt);
    const logits = forward(model, tf.tensor2d(prompts.flat(), [prompts.length, 2], 'int32'));
    const V = logits.shape[1];
    const probs = tf.softmax(logits.reshape([prompts.length, 2, V]).slice([0, 1, 0], [prompts.length, 1, V]).reshape([prompts.length, V])).arraySync() as number[][];
    return tasks.reduce((s, t, i) => s + probs[i][t.answer], 0) / tasks.length;
  });
}

/** Greedy pass rate over tasks. */
export function toyPassRate(model: LlamaModel, tasks: ToyTask[]): number {
  const { tokens } = sample(model, tasks.map(toyPrompt), 1, () => 0, 0);
  return tasks.filter((t, i) => tokens[i][0] === t.answer).length / tasks.length;
}

/** In-process rollout source: G samples of the current model per task, scored by the checker. */
export class ToyRolloutSource implements RolloutSource {
  private rng: () => number;
  constructor(private model: LlamaModel, private tasks: ToyTask[], private groupSize: number, seed = 1) {
    this.rng = makeRng(seed);
  }
  async nextGroup(policyVersion: number): Promise<RolloutGroup> {
    const task = this.tasks[Math.floor(this.rng() * this.tasks.length)];
    const prompt = toyPrompt(task);
    const { tokens, logProbs } = sample(this.model, Array.from({ length: this.groupSize }, () => prompt), 1, this.rng, 1);
    return {
      taskId: task.id,
      rollouts: tokens.map((gen, i) => ({
        tokens: [...prompt, ...gen],
        agentMask: [0, 0, ...gen.map(() => 1)],
        oldLogProbs: [0, 0, ...logProbs[i]],
        reward: gen[0] === task.answer ? 1 : 0,
        policyVersion,
      })),
    };
  }
}
