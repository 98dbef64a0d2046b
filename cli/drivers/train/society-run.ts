// Everything `troupe train grpo` needs for rollouts through the society ([rollouts] source =
// "society"): the bus (a given NATS server or an embedded one), the model server(s) serving the
// policy (given ones, or one started here on the learner's starting weights), the environment /
// agent / user services (unless the society runs them), the rollout source, the publish settings
// that keep the servers on the current policy, and the bus the learner reports its steps on.
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { LearnPolicyPublished, LearnStepCompleted, type LearnStep, type PolicyPublished } from '../../../protocols/learner.ts';
import { Bus } from '../../../runtime/nats/bus.ts';
import { connectNats, type NatsSettings } from '../../../runtime/nats/connect.ts';
import { startEmbeddedNats, type EmbeddedNats } from '../../../runtime/nats/embedded.ts';
import { ensureStreams } from '../../../runtime/nats/streams.ts';
import { startModelServer, type RunningModelServer } from '../../../llm/server/server.ts';
import { stopLocalModelServer } from '../../../llm/server/embedded.ts';
import { exportGguf } from '../../../nn/model/export.ts';
import type { GgufFile } from '../../../nn/model/gguf-read.ts';
import type { LlamaModel } from '../../../nn/model/llama.ts';
import { loadChatTokenizer, type ChatTokenizer } from '../../../nn/model/tokenizer.ts';
import type { TrainConfig } from '../../../actors/learner/config.ts';
import { natsRefBase, publishNatsSettings, type PublishConfig, type PublishRecord } from '../../../actors/learner/publish.ts';
import { loadRlTasks } from '../../../actors/learner/rl-tasks.ts';
import { SocietyRolloutSource } from '../../../actors/learner/society-source.ts';
import { playRemoteScene } from '../../../actors/scene/play.ts';
import { startRolloutServices } from './society-services.ts';
import type { GrpoStepMetrics } from '../../../actors/learner/grpo-trainer.ts';

export interface SocietyRun {
  source: SocietyRolloutSource;
  nc: NatsConnection;
  /** Publish settings that reach every model server the agent uses (the run's [publish], completed). */
  publish: PublishConfig;
  /** False: the servers run other weights than the learner's start, so publish before the first collect. */
  serversCurrent: boolean;
  modelServers: string[];
  reportStep(m: LearnStep): Promise<void>;
  reportPublish(p: PolicyPublished): Promise<void>;
  close(): Promise<void>;
}

export interface SocietyRunOptions {
  cfg: TrainConfig;
  model: LlamaModel;
  source: GgufFile;
  dir: string;
  startVersion: number;
  say: (line: string) => void;
}

export async function openSocietyRun(o: SocietyRunOptions): Promise<SocietyRun> {
  const r = o.cfg.rollouts!;
  if (!r.tasks) throw new Error('rollouts.tasks: society rollouts need an RL export file (troupe export rl → rl_tasks.jsonl)');
  const tasks = loadRlTasks(r.tasks);
  const cleanups: (() => Promise<unknown>)[] = [];
  const close = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };
  try {
    let settings: NatsSettings;
    if (r.nats === 'embedded') {
      const nats: EmbeddedNats = await startEmbeddedNats(join(o.dir, 'nats'));
      cleanups.push(() => nats.stop());
      settings = { url: nats.url, user: nats.user, pass: nats.pass };
      o.say(`[train grpo] embedded NATS at ${nats.url}`);
    } else {
      settings = publishNatsSettings({ nats: r.nats, bucket: 'x', every: 1, dtype: 'F16', modelServers: [], keep: 0 });
    }
    let nc: NatsConnection;
    try {
      nc = await connectNats({ ...settings, name: `troupe-learner-${process.pid}` });
    } catch (e) {
      throw new Error(`rollouts: cannot connect to NATS at ${settings.url}: ${(e as Error).message}`);
    }
    cleanups.push(() => nc.close());
    await ensureStreams(nc);

    let servers = [...r.modelServers];
    let serversCurrent = false;
    if (!servers.length) {
      // No server given: serve the learner's starting weights from this process.
      const path = join(o.dir, 'policy-start.f16.gguf');
      exportGguf(o.model, path, { dtype: 'F16', source: o.source, name: 'troupe-grpo' });
      const server: RunningModelServer = await startModelServer({ model: path, port: 0, host: '127.0.0.1', parallel: r.concurrency, unref: true });
      cleanups.push(() => server.close());
      servers = [server.url];
      serversCurrent = true;
      o.say(`[train grpo] model server for the policy at ${server.url}`);
    }
    const base = o.cfg.publish ?? { bucket: 'troupe_artifacts', every: 1, dtype: 'F16' as const, modelServers: [], keep: 2 };
    const publish: PublishConfig = { ...base, nats: base.nats ?? natsRefBase(settings), modelServers: [...new Set([...base.modelServers, ...servers])] };
    if (publish.every > o.cfg.grpo.maxStaleness + 1) {
      o.say(`[train grpo] note: publish.every = ${publish.every} > grpo.maxStaleness + 1 = ${o.cfg.grpo.maxStaleness + 1}: the learner publishes early whenever the servers' policy would be too stale for the next group`);
    }

    const tokenizer: ChatTokenizer = await loadChatTokenizer(o.cfg.model.gguf);
    cleanups.push(() => tokenizer.dispose());
    if (r.services === 'local') {
      const services = await startRolloutServices(nc, {
        tasks,
        modelServer: servers[0],
        temperature: r.temperature,
        maxTokens: r.agentMaxTokens,
        user: r.user === 'scripted' ? { kind: 'scripted' } : { kind: 'llm', model: r.userModel as never, opening: r.userOpening },
        agentMayStop: r.agentMayStop,
      });
      cleanups.push(() => services.stop());
      cleanups.push(() => stopLocalModelServer()); // an LLM user on the "local" model started one
    }
    mkdirSync(o.dir, { recursive: true });
    const rolloutLog = join(o.dir, 'rollouts.jsonl');
    const source = new SocietyRolloutSource({
      play: playRemoteScene,
      nc, tasks, tokenizer, modelServers: servers,
      groupSize: r.groupSize ?? o.cfg.grpo.groupSize,
      concurrency: r.concurrency,
      maxSteps: r.maxSteps,
      maxErrors: r.maxErrors,
      baseVersion: o.startVersion,
      maxSeqLen: o.cfg.train.maxSeqLen,
      staleness: { maxStaleness: o.cfg.grpo.maxStaleness },
      seed: o.cfg.train.seed,
      rpcTimeoutMs: r.rpcTimeoutMs,
      reward: r.reward,
      onRollout: (x) => {
        appendFileSync(rolloutLog, JSON.stringify({ ...x, result: undefined }) + '\n');
        o.say(`[train grpo]   rollout ${x.dialogueId}: reward ${x.reward} (${x.termination}, checker ${x.checker}) v${x.policyVersion} ${x.tokens} tokens (${x.agentTokens} agent) ${x.seconds.toFixed(1)} s`);
      },
    });
    const bus = new Bus(nc, { role: 'learner', instance: `learner-${process.pid}`, impl: 'learner@1' });
    const report = async (what: string, f: () => Promise<unknown>) => {
      try {
        await f();
      } catch (e) {
        o.say(`[train grpo] reporting ${what} on NATS failed: ${(e as Error).message}`);
      }
    };
    o.say(`[train grpo] society rollouts: ${tasks.length} task(s) from ${r.tasks}, groups of ${r.groupSize ?? o.cfg.grpo.groupSize}, ${r.concurrency} at once, services ${r.services}, agent on ${servers[0]}`);
    return {
      source, nc, publish, serversCurrent, modelServers: servers,
      reportStep: (m) => report('a step', () => bus.publish(LearnStepCompleted, m)),
      reportPublish: (p) => report('a publish', () => bus.publish(LearnPolicyPublished, p)),
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}

const num = (x: number) => (Number.isFinite(x) ? x : null);

/** A GRPO step's metrics as the `learn.step.completed` message. */
export function learnStepMessage(runId: string, totalSteps: number, step: number, m: GrpoStepMetrics): LearnStep {
  const c = m.collect;
  return {
    runId, mode: 'grpo', step, totalSteps, policyVersion: m.policyVersion,
    loss: num(m.loss), reward: num(m.reward), clipFrac: num(m.clipFrac), gradNorm: num(m.gradNorm), filteredFrac: num(m.filteredFrac),
    groups: { attempts: c.attempts, kept: c.kept, droppedAllSuccess: c.droppedAllSuccess, droppedAllFailure: c.droppedAllFailure, droppedStale: c.droppedStale, short: c.short },
    trainTokens: m.trainTokens, tokensPerSec: Number.isFinite(m.tokensPerSec) ? m.tokensPerSec : 0, seconds: m.seconds, skipped: m.skipped,
  };
}

/** A publish record as the `learn.policy.published` message. */
export function policyPublishedMessage(runId: string, r: PublishRecord): PolicyPublished {
  return {
    runId, step: r.step, policyVersion: r.policyVersion, ok: r.ok, ref: r.ref, sha256: r.sha256, bytes: r.bytes, error: r.error,
    servers: r.servers.map((s) => ({ url: s.url, ok: s.ok, ...(s.error ? { error: s.error } : {}) })),
  };
}
