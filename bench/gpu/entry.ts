// Every import the GPU bench takes from the learner, in one place (the parallel refactor moves
// runtime/nn → nn/model, runtime/tf → nn/backend, actors/learner/{step,adamw,grpo}.ts → nn/train:
// only the paths below change). The bench bundles these with esbuild (bench/gpu/build.sh), so the
// model, losses, gradient and AdamW code that runs on the GPU is the learner's own.
export { tf } from '../../runtime/tf/backend.ts';
export { addLora, disposeModel, initParams, paramCount, trainableVariables, RECOMPUTE_AUTO_TOKENS } from '../../runtime/nn/llama.ts';
export type { LlamaConfig, LlamaModel, TrainMemoryOptions } from '../../runtime/nn/llama.ts';
export { computeGradients, grpoLoss, Optimizer, sftLoss, DEFAULT_LOGIT_CHUNK } from '../../actors/learner/step.ts';
export type { SftBatch } from '../../actors/learner/step.ts';
export { adamwStep, newAdamWState } from '../../actors/learner/adamw.ts';
export type { AdamWOptions, AdamWState } from '../../actors/learner/adamw.ts';
export type { TokenBatch } from '../../actors/learner/grpo.ts';
export { paramShapes } from '../../runtime/nn/llama.ts';
export { makeRng } from '../../runtime/nn/sample.ts';
