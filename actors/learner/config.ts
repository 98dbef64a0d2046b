// Configuration of a training run (`troupe train <mode> --config FILE`, TOML or JSON).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { z } from 'zod';
import { modelsDir } from '../../runtime/config/paths.ts';
import type { BackendName } from '../../nn/backend/backend.ts';

export const DEFAULT_MODEL = 'SmolLM2-135M-Instruct.Q4_1.gguf';

const RandomModel = z.object({
  dim: z.number().int().positive(),
  nLayers: z.number().int().positive(),
  nHeads: z.number().int().positive(),
  nKvHeads: z.number().int().positive(),
  headDim: z.number().int().positive().refine((n) => n % 2 === 0, 'headDim must be even (RoPE pairs)'),
  ffnDim: z.number().int().positive(),
  ropeBase: z.number().positive().default(10000),
  normEps: z.number().positive().default(1e-5),
  contextLength: z.number().int().positive().default(2048),
  vocabSize: z.number().int().positive().optional(),
  seed: z.number().int().default(1),
}).strict();

export const TrainConfig = z.object({
  model: z.object({
    /** GGUF to start from (and whose tokenizer and chat template to use). Default: the default local model. */
    gguf: z.string().default(join(modelsDir(), DEFAULT_MODEL)),
    /** Start from random weights of this shape instead (tokenizer still from `gguf` unless vocabSize is set). */
    random: RandomModel.optional(),
    lora: z.object({ rank: z.number().int().positive(), alpha: z.number().positive(), targets: z.array(z.string()).optional() }).strict().optional(),
  }).strict().prefault({}),
  data: z.object({ path: z.string() }).strict().optional(),
  train: z.object({
    steps: z.number().int().positive().default(100),
    batchSize: z.number().int().positive().default(8),
    microBatch: z.number().int().positive().default(4),
    /** A sequence longer than this is an error naming both lengths (never cut: a cut dialogue trains the wrong thing). */
    maxSeqLen: z.number().int().positive().default(16384),
    lr: z.number().positive().default(5e-6),
    beta1: z.number().default(0.9),
    beta2: z.number().default(0.999),
    eps: z.number().default(1e-8),
    weightDecay: z.number().min(0).default(0),
    maxGradNorm: z.number().min(0).default(1),
    seed: z.number().int().default(1),
    /** Data-parallel worker threads computing gradients (1 = in the main thread). */
    workers: z.number().int().min(1).default(1),
    /** Recompute each block's activations in the backward pass (memory for ~1/3 more compute);
     *  "auto": when a micro-batch holds ≥ 512 tokens. */
    recompute: z.union([z.boolean(), z.literal('auto')]).default('auto'),
    /** Rows of the output head per chunk in the loss (0 = whole logits at once, the old path). */
    logitChunk: z.number().int().min(0).default(256),
    /** TensorFlow.js backend: "auto" = TROUPE_TF_BACKEND or the best that loads (nn/backend/backend.ts);
     *  a named one is forced, and failing to load it is an error. */
    backend: z.enum(['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const satisfies readonly ('auto' | BackendName)[]).default('auto'),
    /** Query rows of attention per chunk (0 = the whole T×T scores at once, the old path). */
    attnChunk: z.number().int().min(0).default(256),
    /** Rows sharing at least this many leading untrained tokens (system prompt + tools) run that prefix once (0 = off). */
    sharePrefix: z.number().int().min(0).default(64),
  }).strict().prefault({}),
  grpo: z.object({
    /** Where rollouts come from when there is no [rollouts] section: the in-process toy task. */
    source: z.enum(['toy']).default('toy'),
    groupSize: z.number().int().min(2).default(8),
    groupsPerStep: z.number().int().positive().default(16),
    maxAttempts: z.number().int().positive().default(64),
    maxStaleness: z.number().int().min(0).default(2),
    clipEps: z.number().positive().default(0.4),
    /** Cap of the behaviour importance weight π_prox/π_behav of the decoupled objective. */
    behaviourCap: z.number().positive().default(5),
    klCoef: z.number().min(0).default(0),
    dropAllSuccess: z.boolean().default(true),
    dropAllFailure: z.boolean().default(true),
    toy: z.object({ K: z.number().int().min(2).default(4), shift: z.number().int().default(1) }).strict().prefault({}),
  }).strict().prefault({}),
  /** Where GRPO rollouts come from: the in-process toy task (default) or dialogues through the society. */
  rollouts: z.object({
    source: z.enum(['toy', 'society']).default('toy'),
    /** NATS URL of the society (credentials in the URL or TROUPE_NATS_USER/_PASS/_TOKEN), or "embedded" to start one. */
    nats: z.string().default('embedded'),
    /** RL export (`troupe export rl`: rl_tasks.jsonl) — tasks with their checkers. */
    tasks: z.string().optional(),
    /** Dialogues per task (default: grpo.groupSize). */
    groupSize: z.number().int().min(2).optional(),
    /** Dialogues played at once. */
    concurrency: z.number().int().positive().default(4),
    /** τ² max_steps of one dialogue (agent, user and environment turns). */
    maxSteps: z.number().int().positive().default(30),
    maxErrors: z.number().int().positive().optional(),
    /** Model servers (http://host:port) serving the policy; the agent calls the first. None: one is started in this process. */
    modelServers: z.array(z.string().url()).default([]),
    /** "local": start the environment, agent and user services in this process; "external": the society runs them. */
    services: z.enum(['local', 'external']).default('local'),
    /** The agent's sampling temperature and reply budget (local services). */
    temperature: z.number().min(0).max(2).default(1),
    agentMaxTokens: z.number().int().positive().default(256),
    /** The user simulator of local services: "llm" (user.model) or "scripted" (TEST HARNESS: never ends the dialogue). */
    user: z.enum(['llm', 'scripted']).default('llm'),
    userModel: z.record(z.string(), z.unknown()).default({ model: 'local', temperature: 0 }),
    /** How the LLM user opens each rollout: `model` (τ²) or `scenario` (its first turn states the task; see UserOpening). */
    userOpening: z.enum(['model', 'scenario']).default('model'),
    /** The agent ends a rollout by saying ###STOP### (`agent_stop`, τ²'s solo-mode rule); default false, as τ². */
    agentMayStop: z.boolean().default(false),
    /** `checker`: the checker's verdict; `checker-and-ended`: and the dialogue ended as τ² grades it (user/agent stop). */
    reward: z.enum(['checker', 'checker-and-ended']).default('checker'),
    /** Wait for one agent/user/env call before it counts as an infrastructure error. */
    rpcTimeoutMs: z.number().int().positive().default(120_000),
  }).strict().optional(),
  output: z.object({
    dir: z.string().optional(),
    /** Export weights every N steps (0 = only at the end). */
    exportEvery: z.number().int().min(0).default(0),
    export: z.array(z.enum(['safetensors', 'gguf-f16', 'gguf-f32', 'gguf-q8_0'])).default(['safetensors', 'gguf-f16']),
    checkpointEvery: z.number().int().min(0).default(50),
  }).strict().prefault({}),
  /** Publish the policy to the NATS object store every N steps and have model servers reload it. */
  publish: z.object({
    /** NATS URL; default TROUPE_NATS_URL. Credentials come from the URL or TROUPE_NATS_USER/_PASS/_TOKEN. */
    nats: z.string().optional(),
    bucket: z.string().regex(/^[A-Za-z0-9_-]+$/, 'bucket: letters, digits, "_" and "-" only').default('troupe_artifacts'),
    /** Object name prefix; objects are PREFIX/vVERSION-stepSTEP.f16.gguf. Default: the mode (sft, user-sft, grpo). */
    name: z.string().optional(),
    every: z.number().int().positive().default(10),
    dtype: z.enum(['F16', 'F32', 'Q8_0']).default('F16'),
    /** Model server base URLs (http://host:port) to POST /admin/reload to after each publish. */
    modelServers: z.array(z.string().url()).default([]),
    /** Published objects kept under the prefix (older ones are deleted); 0 keeps all. */
    keep: z.number().int().min(0).default(2),
  }).strict().optional(),
}).strict();

export type TrainConfig = z.infer<typeof TrainConfig>;

export function parseTrainConfig(text: string, source: string): TrainConfig {
  let raw: unknown;
  try {
    raw = source.endsWith('.json') ? JSON.parse(text) : parseToml(text);
  } catch (e) {
    throw new Error(`${source}: cannot parse (${(e as Error).message})`);
  }
  const r = TrainConfig.safeParse(raw);
  if (!r.success) throw new Error(`${source}: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  return r.data;
}

export function loadTrainConfig(path: string): TrainConfig {
  return parseTrainConfig(readFileSync(path, 'utf8'), path);
}
