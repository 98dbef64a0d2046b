// Every import the GPU bench takes from the learner, in one place. The bench bundles these with
// esbuild (bench/gpu/build.sh), so the model, losses, gradient and AdamW code that runs on the GPU
// is the learner's own.
export { tf } from '../../nn/backend/backend.ts';
export { addLora, disposeModel, initParams, paramCount, trainableVariables, RECOMPUTE_AUTO_TOKENS } from '../../nn/model/llama.ts';
export type { LlamaConfig, LlamaModel, TrainMemoryOptions } from '../../nn/model/llama.ts';
export { computeGradients, grpoLoss, Optimizer, sftLoss, DEFAULT_LOGIT_CHUNK } from '../../nn/train/step.ts';
export type { SftBatch } from '../../nn/train/step.ts';
export { adamwStep, newAdamWState } from '../../nn/train/adamw.ts';
export type { AdamWOptions, AdamWState } from '../../nn/train/adamw.ts';
export type { TokenBatch } from '../../nn/train/grpo.ts';
export { paramShapes } from '../../nn/model/llama.ts';
export { makeRng } from '../../nn/model/sample.ts';
