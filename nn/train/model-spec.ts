// What a gradient worker rebuilds its model replica from (shared by data-parallel.ts and grad-worker.ts).
import type { LlamaConfig, TrainMemoryOptions } from '../model/llama.ts';

export type ModelSpec = ({ kind: 'gguf'; path: string } | { kind: 'random'; config: LlamaConfig; seed: number }) & {
  lora?: { rank: number; alpha: number; targets?: string[] };
  /** Recomputation / loss-chunking options, as on the main thread's model. */
  train?: TrainMemoryOptions;
};
