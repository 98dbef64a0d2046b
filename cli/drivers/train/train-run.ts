// One training run of the learner, for any mode: build the model, run the trainer with progress
// lines, the JSONL metrics log, checkpoints and weight exports, then write the run report.
// The CLI (`troupe train`) and the learner role both call runTraining.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describeDevice, initBackend } from '../../../nn/backend/backend.ts';
import { readGguf, type GgufFile } from '../../../nn/model/gguf-read.ts';
import { loadGgufModel, configFromGguf } from '../../../nn/model/load-gguf.ts';
import { addLora, initParams, paramCount, trainableVariables, type LlamaConfig, type LlamaModel } from '../../../nn/model/llama.ts';
import { exportGguf, saveModelSafetensors } from '../../../nn/model/export.ts';
import { loadChatTokenizer } from '../../../nn/model/tokenizer.ts';
import { runsDir } from '../../../runtime/config/paths.ts';
import type { TrainConfig } from '../../../actors/learner/config.ts';
import { optimizerPlacement, type AdamWOptions } from '../../../nn/train/adamw.ts';
import { RunLog } from './run-log.ts';
import { hasCheckpoint, loadCheckpoint, saveCheckpoint } from '../../../nn/train/checkpoint.ts';
import { Optimizer } from '../../../nn/train/step.ts';
import { DataParallel, type ModelSpec } from '../../../nn/train/data-parallel.ts';
import { loadSftJsonl, toExamples, type SftMode } from '../../../nn/train/sft-data.ts';
import { runSft } from '../../../nn/train/sft-trainer.ts';
import { assertGrpoTrained, runGrpo } from '../../../actors/learner/grpo-trainer.ts';
import { ToyRolloutSource, toyConfig, toyPassRate, toyTasks } from '../../../nn/train/toy-task.ts';
import { PolicyPublisher } from '../../../actors/learner/publish.ts';
import { learnStepMessage, openSocietyRun, policyPublishedMessage } from './society-run.ts';

export type TrainMode = SftMode | 'grpo';

export interface RunOptions {
  resume?: boolean;
  quiet?: boolean;
}

export interface RunResult {
  dir: string;
  report: string;
  exports: string[];
  summary: Record<string, unknown>;
}

function buildModel(cfg: TrainConfig, mode: TrainMode, source: GgufFile | undefined): LlamaModel {
  const toy = mode === 'grpo' && cfg.rollouts?.source !== 'society';
  if (cfg.model.random || (toy && !source)) {
    const r = cfg.model.random;
    const vocab = r?.vocabSize ?? (toy ? toyConfig(cfg.grpo.toy.K).vocabSize : source ? configFromGguf(source).vocabSize : undefined);
    if (!vocab) throw new Error('model.random needs vocabSize when there is no GGUF to take the tokenizer from');
    const c: LlamaConfig = r ? { vocabSize: vocab, dim: r.dim, nLayers: r.nLayers, nHeads: r.nHeads, nKvHeads: r.nKvHeads, headDim: r.headDim, ffnDim: r.ffnDim, ropeBase: r.ropeBase, normEps: r.normEps, tiedEmbeddings: true, contextLength: r.contextLength } : toyConfig(cfg.grpo.toy.K);
    if (c.nHeads % c.nKvHeads) throw new Error('model.random: nHeads must be a multiple of nKvHeads');
    return { config: c, params: initParams(c, r?.seed ?? 1) };
  }
  if (!source) throw new Error('no model: set model.gguf or model.random');
  return loadGgufModel(source.path);
}

export async function runTraining(mode: TrainMode, cfg: TrainConfig, opts: RunOptions = {}): Promise<RunResult> {
  if (mode === 'grpo' && cfg.rollouts?.source === 'society' && cfg.model.random?.vocabSize) throw new Error('rollouts.source = "society" needs the GGUF\'s tokenizer: leave model.random.vocabSize unset');
  const backend = await initBackend(cfg.train.backend === 'auto' ? undefined : cfg.train.backend);
  const dir = cfg.output.dir ?? join(runsDir(), `train-${mode}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  mkdirSync(dir, { recursive: true });
  const log = new RunLog(dir, opts.quiet);
  const say = (s: string) => { if (!opts.quiet) console.log(s); };

  const society = mode === 'grpo' && cfg.rollouts?.source === 'society';
  const toyGrpo = mode === 'grpo' && !society;
  const needGguf = !toyGrpo; // the toy task has its own vocabulary
  if (needGguf && !existsSync(cfg.model.gguf)) throw new Error(`model GGUF not found: ${cfg.model.gguf} (run "troupe model pull" or set model.gguf)`);
  const source = needGguf ? readGguf(cfg.model.gguf) : undefined;
  const model = buildModel(cfg, mode, source);
  if (cfg.model.lora) addLora(model, cfg.model.lora.rank, cfg.model.lora.alpha, cfg.model.lora.targets);
  model.train = { recompute: cfg.train.recompute, logitChunk: cfg.train.logitChunk, attnChunk: cfg.train.attnChunk };
  const nTrain = [...trainableVariables(model).values()].reduce((s, v) => s + v.size, 0);
  say(`[train ${mode}] backend=${backend.name}${backend.forced ? ' (forced)' : ''} params=${paramCount(model.config)} trainable=${nTrain}${cfg.model.lora ? ` (LoRA r=${cfg.model.lora.rank})` : ''} run dir=${dir}`);

  const adamOpts: AdamWOptions = { lr: cfg.train.lr, beta1: cfg.train.beta1, beta2: cfg.train.beta2, eps: cfg.train.eps, weightDecay: cfg.train.weightDecay, maxGradNorm: cfg.train.maxGradNorm };
  const ckptDir = join(dir, 'checkpoint');
  let startStep = 0, startVersion = 0;
  // Where AdamW runs (device tensors or a host master copy): decided once, logged, in the report.
  const placement = optimizerPlacement(backend.name, cfg.train.workers > 1);
  say(`[train ${mode}] optimizer on the ${placement.placement} (${placement.reason})`);
  let optimizer = new Optimizer(model, adamOpts, undefined, placement.placement);
  if (opts.resume && hasCheckpoint(ckptDir)) {
    const { state, adam } = loadCheckpoint(ckptDir, model, mode);
    optimizer = new Optimizer(model, adamOpts, adam, placement.placement);
    startStep = state.step;
    startVersion = state.policyVersion;
    log.loadPrevious(startStep);
    say(`[train ${mode}] resumed from step ${startStep} (policy version ${startVersion})`);
  }

  const exports: string[] = [];
  const exportWeights = (tag: string) => {
    for (const f of cfg.output.export) {
      const p = join(dir, `weights-${tag}.${f === 'safetensors' ? 'safetensors' : `${f.slice(5)}.gguf`}`);
      if (f === 'safetensors') saveModelSafetensors(model, p);
      else exportGguf(model, p, { dtype: f === 'gguf-f16' ? 'F16' : f === 'gguf-q8_0' ? 'Q8_0' : 'F32', source, name: `troupe-${mode}` });
      exports.push(p);
    }
  };
  // Society rollouts: bus, model servers, services, rollout source; the policy must reach the servers.
  const soc = society ? await openSocietyRun({ cfg, model, source: source!, dir, startVersion, say }) : undefined;
  if (soc) cfg = { ...cfg, publish: soc.publish };
  const runId = dir.split('/').filter(Boolean).pop() ?? 'train';
  // Publishing to NATS + model server reload (publish section); a failure is logged, training goes on.
  let publisher: PolicyPublisher | undefined;
  try {
    publisher = cfg.publish ? await PolicyPublisher.open(cfg.publish, cfg.publish.name ?? mode, source) : undefined;
  } catch (e) {
    await soc?.close();
    throw e;
  }
  let lastPublished = -1;
  const published: { version: number; ok: boolean }[] = [];
  const publishNow = async (step: number, version: number) => {
    if (!publisher || lastPublished === step) return;
    lastPublished = step;
    const r = await publisher.publish(model, step, version);
    published.push({ version, ok: r.ok && !r.error && r.servers.every((x) => x.ok) });
    await soc?.reportPublish(policyPublishedMessage(runId, r));
    const servers = r.servers.map((x) => `${x.url} ${x.ok ? 'reloaded' : `FAILED (${x.error})`}`).join('; ');
    log.record({ step, event: 'publish', publishedVersion: version, publish: { ...r, servers: r.servers.map(({ url, ok, status, error, ms }) => ({ url, ok, status, error, ms })) } },
      r.ok ? `[train ${mode}] published v${version} (step ${step}, ${((r.bytes ?? 0) / 1e6).toFixed(1)} MB) as ${r.ref}${servers ? `; ${servers}` : ''}${r.error ? `; ${r.error}` : ''}` : `[train ${mode}] publishing v${version} (step ${step}) FAILED: ${r.error}`);
  };
  // SFT has no policy versions of its own; its published version is the step.
  const periodic = async (step: number, version: number, publishVersion = version) => {
    if (cfg.output.checkpointEvery && step % cfg.output.checkpointEvery === 0) saveCheckpoint(ckptDir, model, await optimizer.checkpointState(), { mode, step, policyVersion: version });
    if (cfg.output.exportEvery && step % cfg.output.exportEvery === 0) exportWeights(`step${step}`);
    if (cfg.publish && step % cfg.publish.every === 0) await publishNow(step, publishVersion);
  };

  let dataParallel: DataParallel | undefined;
  if (cfg.train.workers > 1) {
    const spec: ModelSpec = model.params.size && source && !cfg.model.random
      ? { kind: 'gguf', path: source.path, lora: cfg.model.lora, train: model.train }
      : { kind: 'random', config: model.config, seed: cfg.model.random?.seed ?? 1, lora: cfg.model.lora, train: model.train };
    dataParallel = new DataParallel(model, spec, cfg.train.workers);
    say(`[train ${mode}] gradients on ${cfg.train.workers} worker threads`);
  }
  const summary: Record<string, unknown> = { mode, workers: cfg.train.workers, backend: backend.name, optimizer: placement.placement, parameters: paramCount(model.config), trainable: nTrain };
  // Why a faster backend was not used (auto choice), so a slow run explains itself in its report.
  if (backend.skipped.length) summary.backendSkipped = backend.skipped.join('; ');
  if (backend.forced) summary.backendForced = true;
  // GPU only when TensorFlow listed one; tfjs-node-gpu without a GPU says it fell back to the CPU.
  summary.backendDevice = describeDevice(backend);
  const t0 = performance.now();
  let lastStep = startStep, lastVersion = startVersion;
  try {
    if (mode === 'sft' || mode === 'user-sft') {
      if (!cfg.data) throw new Error(`${mode} needs data.path (a JSONL of OpenAI-format dialogues)`);
      const tok = await loadChatTokenizer(cfg.model.gguf);
      const { examples, skipped } = toExamples(loadSftJsonl(cfg.data.path), tok, mode, cfg.train.maxSeqLen);
      await tok.dispose();
      say(`[train ${mode}] ${examples.length} examples (${skipped} without trained tokens skipped)`);
      Object.assign(summary, { examples: examples.length, skipped });
      const { metrics } = await runSft(model, examples, { steps: cfg.train.steps, batchSize: cfg.train.batchSize, microBatch: cfg.train.microBatch, sharePrefix: cfg.train.sharePrefix, padId: source ? Number(source.metadata.get('tokenizer.ggml.padding_token_id') ?? 0) : 0, seed: cfg.train.seed, adam: adamOpts }, {
        optimizer, startStep, dataParallel,
        onStep: async (m) => {
          log.record({ ...m }, `[train ${mode}] step ${m.step}/${cfg.train.steps} epoch ${m.epoch} loss ${m.loss.toFixed(4)} |g| ${m.gradNorm.toFixed(3)} ${m.tokensPerSec.toFixed(0)} tok/s`);
          lastStep = m.step;
          await periodic(m.step, 0, m.step);
        },
      });
      if (metrics.length) Object.assign(summary, { firstLoss: metrics[0].loss, finalLoss: metrics[metrics.length - 1].loss });
    } else {
      const tasks = toyTasks(cfg.grpo.toy.K, cfg.grpo.toy.shift);
      const before = soc ? undefined : toyPassRate(model, tasks);
      if (soc && !soc.serversCurrent) {
        // The servers must run the learner's starting weights before the first rollout.
        await publishNow(startStep, startVersion);
        if (!published[published.length - 1]?.ok) throw new Error(`the model servers could not load the starting policy v${startVersion} (see ${join(dir, 'metrics.jsonl')})`);
      }
      // No group is played on a policy the staleness limit would drop: publish first (society-source.ts).
      if (soc) soc.source.ensureFresh = (version) => publishNow(lastStep, version);
      const src = soc ? soc.source : new ToyRolloutSource(model, tasks, cfg.grpo.groupSize, cfg.train.seed);
    // KL reference: a frozen copy of the starting weights (only built when the KL term is on).
    const refModel = cfg.grpo.klCoef > 0 ? buildModel(cfg, mode, source) : undefined;
      const { metrics } = await runGrpo(model, src, {
        steps: cfg.train.steps - startStep, groupsPerStep: cfg.grpo.groupsPerStep, maxAttempts: cfg.grpo.maxAttempts, maxStaleness: cfg.grpo.maxStaleness,
        clipEps: cfg.grpo.clipEps, behaviourCap: cfg.grpo.behaviourCap, klCoef: cfg.grpo.klCoef, dropAllSuccess: cfg.grpo.dropAllSuccess, dropAllFailure: cfg.grpo.dropAllFailure, microBatch: cfg.train.microBatch, sharePrefix: cfg.train.sharePrefix, adam: adamOpts,
      }, {
        optimizer, startVersion, dataParallel, refModel,
        onStep: async (m) => {
          const step = startStep + m.step;
          const c = m.collect;
          log.record({ ...m, step, collect: undefined, attempts: c.attempts, droppedAllSuccess: c.droppedAllSuccess, droppedAllFailure: c.droppedAllFailure, droppedStale: c.droppedStale, short: c.short },
            `[train grpo] step ${step}/${cfg.train.steps} v${m.policyVersion} reward ${m.reward.toFixed(3)} loss ${Number.isNaN(m.loss) ? '-' : m.loss.toFixed(4)} clip ${m.clipFrac.toFixed(2)} filtered ${c.attempts - c.kept}/${c.attempts}${c.short ? ' (short batch)' : ''}${m.skipped ? ` (skipped: ${m.skipReason ?? 'no informative group'})` : ''}`);
          lastStep = step; lastVersion = m.policyVersion;
          await periodic(step, m.policyVersion);
          await soc?.reportStep(learnStepMessage(runId, cfg.train.steps, step, m));
        },
        onState: soc ? (state, step) => say(`[train grpo] learner: ${state} (step ${startStep + step})`) : undefined,
      });
      if (soc) Object.assign(summary, { rollouts: soc.source.stats.dialogues, rewardFirst: metrics[0]?.reward, rewardLast: metrics[metrics.length - 1]?.reward, terminations: JSON.stringify(soc.source.stats.terminations), checkerErrors: soc.source.stats.checkerErrors, splitSequences: soc.source.stats.split, unsampledTurns: soc.source.stats.unsampledTurns });
      else Object.assign(summary, { passRateBefore: before, passRateAfter: toyPassRate(model, tasks) });
      Object.assign(summary, { stepsSkipped: metrics.filter((m) => m.skipped).length, groupsFiltered: metrics.reduce((s, m) => s + m.collect.attempts - m.collect.kept, 0) });
      assertGrpoTrained(metrics);
    }
    if (publisher) await publishNow(lastStep, mode === 'grpo' ? lastVersion : lastStep); // the final policy, unless just published
  } finally {
    await dataParallel?.close();
    await publisher?.close();
    await soc?.close();
  }
  if (publisher) summary.published = published.map((p) => `v${p.version}${p.ok ? '' : ' (failed)'}`).join(', ');
  summary.steps = lastStep;
  summary.seconds = (performance.now() - t0) / 1000;
  saveCheckpoint(ckptDir, model, await optimizer.checkpointState(), { mode, step: lastStep, policyVersion: lastVersion });
  exportWeights('final');
  summary.exports = exports.map((p) => p.slice(dir.length + 1)).join(', ');
  const report = log.writeReport(`troupe train ${mode}`, summary, [
    { file: 'loss.svg', title: 'loss', yLabel: 'loss', keys: ['loss'] },
    { file: 'reward.svg', title: 'reward (mean over drawn rollouts)', yLabel: 'reward', keys: ['reward'] },
    { file: 'filtered.svg', title: 'fraction of groups filtered', yLabel: 'fraction', keys: ['filteredFrac'] },
    { file: 'tokens-per-sec.svg', title: 'training tokens/s', yLabel: 'tokens/s', keys: ['tokensPerSec'] },
  ]);
  say(`[train ${mode}] done: ${JSON.stringify(summary)}\n[train ${mode}] report: ${report}`);
  return { dir, report, exports, summary };
}
