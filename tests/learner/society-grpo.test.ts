// GRPO through the society: `troupe train grpo` with [rollouts] source = "society" plays G dialogues
// per task over NATS (agent, user simulator and environment services; the agent answers from a real
// `troupe model serve` process serving the published policy), rewards each with the task's checker in
// the sandbox, trains on the agent's tokens only, publishes the new policy and the server reloads it.
//
// The policy is a tiny random Llama with the default model's tokenizer and chat template (llama.cpp
// serves it in milliseconds). The task comes from the RL export code (mock domain). Its checker is a
// plumbing checker, not a learning target: it passes when the length of the agent's first reply is
// even, so groups of a random policy are mixed and an update happens (tests/learner/grpo-learns.test.ts
// is the "reward goes up" test). The user simulator is the scripted TEST HARNESS (it never ends the
// dialogue; max steps does), keeping the test inside its time budget.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTrainConfig } from '../../actors/learner/config.ts';
import { runTraining } from '../../cli/drivers/train/train-run.ts';
import { rolloutReward, SocietyRolloutSource, servedPolicyVersion } from '../../actors/learner/society-source.ts';
import { playRemoteScene } from '../../actors/scene/play.ts';
import { startRolloutServices } from '../../cli/drivers/train/society-services.ts';
import { loadRlTasks } from '../../actors/learner/rl-tasks.ts';
import { rlTask } from '../../cli/drivers/synth/export.ts';
import { getDomain } from '../../domains/registry.ts';
import { runChecker } from '../../sandbox/checker-sandbox.ts';
import { readGguf } from '../../nn/model/gguf-read.ts';
import { configFromGguf } from '../../nn/model/load-gguf.ts';
import { initParams } from '../../nn/model/llama.ts';
import { exportGguf } from '../../nn/model/export.ts';
import { initBackend } from '../../nn/backend/backend.ts';
import { loadChatTokenizer } from '../../nn/model/tokenizer.ts';
import { LearnStepCompleted, type LearnStep } from '../../protocols/learner.ts';
import type { DatasetRecord } from '../../protocols/synthesis.ts';
import type { Envelope } from '../../protocols/envelope.ts';
import type { Message } from '../../protocols/dialogue.ts';
import { completeTask } from '../synthesis/fixtures/mock-tasks.ts';
import { startServeCli, type ServeProcess } from '../llm/serve-cli.ts';
import { defaultModelFile } from '../helpers/model.ts';
import { collect, startTestNats, type TestNats } from '../helpers/nats.ts';
import '../helpers/tau2.ts';
import { setEnv } from '../helpers/env.ts';

const CHECKER = `function check(initialState, finalState, trajectory) {
  const replies = trajectory.filter((m) => m.role === 'assistant');
  const first = replies[1]; // replies[0] is the scene's greeting
  if (!first) return { pass: false, reasons: ['the agent never replied'] };
  const text = (first.content || '') + JSON.stringify(first.tool_calls || []);
  return { pass: text.length % 2 === 0, reasons: ['first reply is ' + text.length + ' characters'] };
}`;

/** A reply as the model server renders it back: text, then each call in its tags. */
function replyText(m: Message): string {
  const calls = m.role === 'assistant' ? (m.tool_calls ?? []) : [];
  return [m.content ?? '', ...calls.map((c) => `<tool_call>${JSON.stringify({ name: c.name, arguments: c.arguments })}</tool_call>`)].filter((x) => x !== '').join('\n');
}

const G = 4;
const dir = mkdtempSync(join(tmpdir(), 'troupe-society-grpo-'));
const tinyPath = join(dir, 'tiny.f16.gguf');
const tasksPath = join(dir, 'rl_tasks.jsonl');
let restoreEnv: (() => void) | undefined;
let nats: TestNats;
let serve: ServeProcess;

beforeAll(async () => {
  await initBackend();
  // A tiny random policy with the default model's tokenizer and template, as the model server loads it.
  const source = readGguf(defaultModelFile());
  const cfg = { ...configFromGguf(source), dim: 16, nLayers: 1, nHeads: 2, nKvHeads: 1, headDim: 8, ffnDim: 32, contextLength: 2048, tiedEmbeddings: true };
  exportGguf({ config: cfg, params: initParams(cfg, 7) }, tinyPath, { dtype: 'F16', source, name: 'tiny' });
  // One RL task, written by the export code (`troupe export rl`).
  const record = { domain: 'mock', task: completeTask, criteria: completeTask.evaluation_criteria, checker: { source: CHECKER }, provenance: { test: 'society-grpo' } } as unknown as DatasetRecord;
  writeFileSync(tasksPath, JSON.stringify(rlTask(record, getDomain('mock'))) + '\n');
  nats = await startTestNats();
  serve = await startServeCli(['--model', tinyPath, '--parallel', String(G), '--ctx-size', '2048'], { TROUPE_HOME: join(dir, 'home') });
  restoreEnv = setEnv({ TROUPE_NATS_USER: nats.settings.user!, TROUPE_NATS_PASS: nats.settings.pass! });
}, 60_000);

afterAll(async () => {
  await serve?.stop();
  await nats?.stop();
  rmSync(dir, { recursive: true, force: true });
  restoreEnv?.();
});

describe('GRPO through the society', () => {
  it('a group: G dialogues over NATS, checker rewards, masks on the agent\'s tokens only', async () => {
    const tasks = loadRlTasks(tasksPath);
    const tok = await loadChatTokenizer(tinyPath);
    const services = await startRolloutServices(nats.nc, { tasks, modelServer: serve.url, temperature: 1, maxTokens: 12, user: { kind: 'scripted' } });
    try {
      const infos: Parameters<NonNullable<ConstructorParameters<typeof SocietyRolloutSource>[0]['onRollout']>>[0][] = [];
      const src = new SocietyRolloutSource({
      play: playRemoteScene, nc: nats.nc, tasks, tokenizer: tok, modelServers: [serve.url], groupSize: G, concurrency: G, maxSteps: 4, maxSeqLen: 4096, baseVersion: 5, onRollout: (x) => infos.push(x) });
      const g = await src.nextGroup(5);
      expect(g.taskId).toBe(completeTask.id);
      expect(g.rollouts).toHaveLength(G);
      expect(new Set(infos.map((x) => x.dialogueId)).size).toBe(G);
      for (const [i, r] of g.rollouts.entries()) {
        const { result } = infos.find((x) => x.dialogueId.endsWith(`-${i}-${completeTask.id}`))!;
        expect(result.terminationReason).toBe('max_steps');
        expect(r.policyVersion).toBe(5); // the server runs the file it started with: the base version
        // The reward is the checker's verdict on this dialogue.
        const v = await runChecker(CHECKER, { initialState: null, finalState: null, trajectory: result.messages });
        expect(r.reward).toBe(v.pass ? 1 : 0);
        // Marked tokens are exactly the agent's generated replies (not the greeting, not the user's).
        const agentReplies = result.messages.filter((m, k) => k > 0 && m.role === 'assistant');
        expect(agentReplies.length).toBeGreaterThan(0);
        // Marked tokens are exactly the ids the server sampled for those replies (raw_data.sampled),
        // over every training sequence of the rollout (split where a later prompt re-renders a reply,
        // e.g. one cut by max_tokens gets an end-of-turn token the model never sampled).
        const sampled = agentReplies.map((m) => ((m as { raw_data?: unknown }).raw_data as { sampled: { token_ids: number[]; logprobs: number[] } }).sampled);
        const seqs = [r, ...(r.more ?? [])];
        expect(seqs.flatMap((q) => q.tokens.filter((_, k) => q.agentMask[k] === 1))).toEqual(sampled.flatMap((x) => x.token_ids));
        expect(seqs.flatMap((q) => (q.oldLogProbs ?? []).filter((_, k) => q.agentMask[k] === 1))).toEqual(sampled.flatMap((x) => x.logprobs));
        expect(tok.detokenize(sampled.flatMap((x) => x.token_ids)).replace(/<\|im_end\|>/g, '')).toBe(agentReplies.map(replyText).join(''));
        expect(r.agentMask.filter((m) => m === 1).length).toBeLessThan(r.tokens.length / 4);
      }
      expect(src.stats).toMatchObject({ groups: 1, dialogues: G, infraRetries: 0, checkerErrors: 0 });

      // reward "checker-and-ended": a dialogue cut at max_steps earns 0 even when its checker passes (τ²'s gate).
      const gated: typeof infos = [];
      const src2 = new SocietyRolloutSource({
        play: playRemoteScene, nc: nats.nc, tasks, tokenizer: tok, modelServers: [serve.url], groupSize: G, concurrency: G, maxSteps: 4, maxSeqLen: 4096, baseVersion: 5, seed: 11, reward: 'checker-and-ended', onRollout: (x) => gated.push(x) });
      const g2 = await src2.nextGroup(5);
      for (const x of gated) expect(x.result.terminationReason).toBe('max_steps');
      expect(g2.rollouts.map((r) => r.reward)).toEqual(new Array(G).fill(0));
      expect(rolloutReward(true, 'max_steps', 'checker')).toBe(1);
      expect(rolloutReward(true, 'max_steps', 'checker-and-ended')).toBe(0);
      expect(rolloutReward(true, 'agent_stop', 'checker-and-ended')).toBe(1);
      expect(rolloutReward(true, 'user_stop', 'checker-and-ended')).toBe(1);
      expect(rolloutReward(false, 'user_stop', 'checker-and-ended')).toBe(0);
    } finally {
      await services.stop();
      await tok.dispose();
    }
  }, 60_000);

  it('troupe train grpo: two steps; the server reloads each new policy and rollouts record its version', async () => {
    const out = join(dir, 'run');
    const cfg = parseTrainConfig(`[model]\ngguf = "${tinyPath}"\n[train]\nsteps = 2\nmicroBatch = 1\nlr = 0.01\nmaxSeqLen = 2048\n[grpo]\ngroupSize = ${G}\ngroupsPerStep = 1\nmaxAttempts = 4\nmaxStaleness = 0\n[rollouts]\nsource = "society"\nnats = "${nats.settings.url}"\ntasks = "${tasksPath}"\nconcurrency = ${G}\nmaxSteps = 4\nmodelServers = ["${serve.url}"]\nuser = "scripted"\nagentMaxTokens = 12\n[output]\ndir = "${out}"\nexport = []\ncheckpointEvery = 0\n[publish]\nbucket = "policies"\nname = "agent"\nevery = 1\nkeep = 1\n`, 'society.toml');
    const r = await runTraining('grpo', cfg, { quiet: true });
    const rows = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const steps = rows.filter((x) => x.event !== 'publish');
    const pubs = rows.filter((x) => x.event === 'publish');
    // Each step drew mixed groups (or the step was skipped); only an update advances the version.
    expect(steps).toHaveLength(2);
    for (const s of steps) expect(s.skipped).toBe(false);
    expect(steps.map((s) => s.policyVersion)).toEqual([1, 2]);
    // v0 (the starting weights, before the first rollout), then one per step; every reload succeeded.
    expect(pubs.map((p) => p.publishedVersion)).toEqual([0, 1, 2]);
    for (const p of pubs) expect(p.publish.servers[0]).toMatchObject({ url: serve.url, ok: true });
    expect(new Set(pubs.map((p) => p.publish.sha256)).size).toBe(3); // each update changed the weights
    for (const s of steps) expect(s.loss).not.toBe(0);
    // Rollouts of step 1 ran on v0, those of step 2 on the v1 the server reloaded after step 1.
    const rollouts = readFileSync(join(out, 'rollouts.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(rollouts.length).toBe(steps.reduce((n, s) => n + s.attempts * G, 0));
    const firstStepRollouts = steps[0].attempts * G;
    expect(new Set(rollouts.slice(0, firstStepRollouts).map((x) => x.policyVersion))).toEqual(new Set([0]));
    expect(new Set(rollouts.slice(firstStepRollouts).map((x) => x.policyVersion))).toEqual(new Set([1]));
    expect(await servedPolicyVersion(serve.url)).toBe(2);
    expect(r.summary.rollouts).toBe(rollouts.length);
    // The learner reported each step on the bus.
    const got = await collect<LearnStep>(nats.nc, LearnStepCompleted.subject, (x) => x.length >= 2, { timeoutMs: 10_000 });
    expect(got.map((x: { envelope: Envelope<LearnStep> }) => [x.envelope.data.step, x.envelope.data.policyVersion])).toEqual([[1, 1], [2, 2]]);
    expect(got[0].envelope.from.role).toBe('learner');
  }, 90_000);
});
