// Data parallelism over worker_threads: micro-batches are spread over the workers, each returns
// its gradients, and the main thread sums them weighted by each micro-batch's share of the batch's
// loss tokens (so the result equals the token-mean gradient of the whole batch). Trainable weights
// live in SharedArrayBuffers that the optimizer updates and every worker reads.
import { activeBackend, tf, type BackendName } from '../backend/backend.ts';
import { WorkerPool } from '../backend/pool.ts';
import { trainableVariables, type LlamaConfig, type LlamaModel, type TrainMemoryOptions } from '../model/llama.ts';
import type { SurrogateOptions, TokenBatch } from './grpo.ts';
import { accumulate, type SftBatch } from './step.ts';
import type { ModelSpec } from './model-spec.ts';

export type { ModelSpec };

export type MicroBatch = { kind: 'sft'; batch: SftBatch } | { kind: 'grpo'; batch: TokenBatch; opts: SurrogateOptions };

const maskCount = (mb: MicroBatch) => mb.batch.mask.flat().reduce((a, b) => a + b, 0);

export class DataParallel {
  readonly shared = new Map<string, Float32Array>();
  private ready: Promise<(BackendName | undefined)[]>;
  private pool: WorkerPool;

  /** `model` is the main thread's copy (same spec); its trainable weights seed the shared copy. */
  constructor(private model: LlamaModel, spec: ModelSpec, readonly workers: number) {
    for (const [n, v] of trainableVariables(model)) {
      const buf = new Float32Array(new SharedArrayBuffer(v.size * 4));
      buf.set(v.dataSync() as Float32Array);
      this.shared.set(n, buf);
    }
    // The workers run on the main thread's backend (forced there: no silent fallback in a worker).
    const backend = activeBackend();
    this.pool = new WorkerPool(new URL('./grad-worker.ts', import.meta.url), workers, { spec, backend });
    this.ready = Promise.all(Array.from({ length: workers }, (_, i) => this.pool.call<BackendName | undefined>(i, { type: 'ping' })));
  }

  /** The backend each worker runs on (answers once the workers are up). */
  workerBackends(): Promise<(BackendName | undefined)[]> {
    return this.ready;
  }

  /** Copies the main model's trainable weights into shared memory (call after each optimizer step). */
  publish(): void {
    for (const [n, v] of trainableVariables(this.model)) this.shared.get(n)!.set(v.dataSync() as Float32Array);
  }

  /** Token-mean loss and gradients over all micro-batches, computed on the workers. */
  async gradients(microBatches: MicroBatch[]): Promise<{ loss: number; grads: Map<string, Float32Array>; extras: Record<string, number> }> {
    await this.ready;
    const total = microBatches.reduce((s, mb) => s + maskCount(mb), 0);
    const weights = Object.fromEntries(this.shared);
    let grads: Map<string, Float32Array> | undefined;
    let loss = 0;
    const extras: Record<string, number> = {};
    // Round-robin: worker i takes micro-batches i, i+W, …
    const results = await Promise.all(Array.from({ length: this.workers }, async (_, w) => {
      const out: { n: number; r: { loss: number; extras: Record<string, number>; grads: Record<string, Float32Array> } }[] = [];
      for (let k = w; k < microBatches.length; k += this.workers) {
        const mb = microBatches[k];
        const n = maskCount(mb);
        if (!n) continue;
        out.push({ n, r: await this.pool.call(w, { type: 'grads', weights, ...mb }) });
      }
      return out;
    }));
    for (const { n, r } of results.flat()) {
      const wgt = n / total;
      grads = accumulate(grads, new Map(Object.entries(r.grads)), wgt);
      loss += wgt * r.loss;
      for (const [k, v] of Object.entries(r.extras)) extras[k] = (extras[k] ?? 0) + wgt * v;
    }
    return { loss, grads: grads ?? new Map(), extras };
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

void tf;
