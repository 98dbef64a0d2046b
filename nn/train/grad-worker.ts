// Worker thread of the data-parallel learner: holds its own copy of the model on its own TF.js
// backend, reads the current trainable weights from shared memory before each request, and returns
// the gradients of one micro-batch.
import { parentPort, workerData } from 'node:worker_threads';
import { activeBackend, initBackend, tf, type BackendName } from '../backend/backend.ts';
import { serveRequests } from '../backend/pool.ts';
import { loadGgufModel } from '../model/load-gguf.ts';
import { addLora, initParams, trainableVariables, type LlamaModel } from '../model/llama.ts';
import { computeGradients, grpoLoss, sftLoss, type SftBatch } from './step.ts';
import type { ModelSpec } from './model-spec.ts';
import type { TokenBatch } from './grpo.ts';

const { spec, backend } = workerData as { spec: ModelSpec; backend?: BackendName };
process.env.TROUPE_QUIET_BACKEND = '1';
await initBackend(backend);
let model: LlamaModel;
if (spec.kind === 'gguf') model = loadGgufModel(spec.path);
else model = { config: spec.config, params: initParams(spec.config, spec.seed) };
if (spec.lora) addLora(model, spec.lora.rank, spec.lora.alpha, spec.lora.targets);
model.train = spec.train;
const vars = trainableVariables(model);

serveRequests(parentPort!, async (req) => {
  if (req.type === 'ping') return { value: activeBackend() };
  if (req.type !== 'grads') throw new Error(`unknown request ${String(req.type)}`);
  // Pull the current weights from the shared master copy.
  const shared = req.weights as Record<string, Float32Array>;
  for (const [n, v] of vars) {
    const src = shared[n];
    if (!src) throw new Error(`no shared weights for ${n}`);
    tf.tidy(() => v.assign(tf.tensor(src, v.shape)));
  }
  const r = req.kind === 'sft'
    ? await computeGradients(model, () => ({ loss: sftLoss(model, req.batch as SftBatch) }))
    : await computeGradients(model, () => {
        const { loss, clipFrac, behaviourWeight } = grpoLoss(model, req.batch as TokenBatch, req.opts as { clipEps: number; klCoef?: number; behaviourCap?: number });
        return { loss, extras: { clipFrac, behaviourWeight } };
      });
  const grads: Record<string, Float32Array> = {};
  const transfer: ArrayBuffer[] = [];
  for (const [n, g] of r.grads) { grads[n] = g; transfer.push(g.buffer as ArrayBuffer); }
  return { value: { loss: r.loss, extras: r.extras, grads }, transfer };
});
