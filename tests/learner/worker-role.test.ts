// The learner as a hosted role: `troupe worker --roles learner` joins a running society (real
// nats-server) and, on `learn.run.requested`, runs the GRPO run the message describes — rollouts
// through the society's bus (environment, the actor and the user simulator as hosted role machines,
// the agent answering from a model server on the learner's starting weights), checker rewards, one
// update — reports each step (`learn.step.completed`) and the run (`learn.run.completed`).
// Tiny random policy with the default model's tokenizer, one mock task with the plumbing checker of
// society-grpo.test.ts (reply length parity: mixed groups), the scripted user harness.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { natsServerAvailable } from '../../runtime/nats/embedded.ts';
import { Bus } from '../../runtime/nats/bus.ts';
import { startWorker, type TestWorker } from '../fixtures/worker.ts';
import { LearnRunCompleted, LearnRunRequested, LearnStepCompleted, type LearnRunResult, type LearnStep } from '../../protocols/learner.ts';
import type { DatasetRecord } from '../../protocols/synthesis.ts';
import { rlTask } from '../../cli/drivers/synth/export.ts';
import { getDomain } from '../../domains/registry.ts';
import { readGguf } from '../../nn/model/gguf-read.ts';
import { configFromGguf } from '../../nn/model/load-gguf.ts';
import { initParams } from '../../nn/model/llama.ts';
import { exportGguf } from '../../nn/model/export.ts';
import { initBackend } from '../../nn/backend/backend.ts';
import { completeTask } from '../synthesis/fixtures/mock-tasks.ts';
import { defaultModelFile } from '../helpers/model.ts';
import { collect, startTestNats, type TestNats } from '../helpers/nats.ts';

const CHECKER = `function check(initialState, finalState, trajectory) {
  const replies = trajectory.filter((m) => m.role === 'assistant');
  const first = replies[1];
  if (!first) return { pass: false, reasons: ['the agent never replied'] };
  const text = (first.content || '') + JSON.stringify(first.tool_calls || []);
  return { pass: text.length % 2 === 0, reasons: ['first reply is ' + text.length + ' characters'] };
}`;
const G = 4;
const dir = mkdtempSync(join(tmpdir(), 'troupe-learner-worker-'));
const tinyPath = join(dir, 'tiny.f16.gguf');
const tasksPath = join(dir, 'rl_tasks.jsonl');
let nats: TestNats;
let worker: TestWorker | undefined;
const workerLog = () => worker?.log() ?? '';

beforeAll(async () => {
  if (!natsServerAvailable()) throw new Error('nats-server is missing: install it (apt-get install nats-server)');
  await initBackend();
  const source = readGguf(defaultModelFile());
  const cfg = { ...configFromGguf(source), dim: 16, nLayers: 1, nHeads: 2, nKvHeads: 1, headDim: 8, ffnDim: 32, contextLength: 2048, tiedEmbeddings: true };
  exportGguf({ config: cfg, params: initParams(cfg, 7) }, tinyPath, { dtype: 'F16', source, name: 'tiny' });
  const record = { domain: 'mock', task: completeTask, criteria: completeTask.evaluation_criteria, checker: { source: CHECKER }, provenance: { test: 'learner-worker' } } as unknown as DatasetRecord;
  writeFileSync(tasksPath, JSON.stringify(rlTask(record, getDomain('mock'))) + '\n');
  nats = await startTestNats();
  worker = await startWorker(nats, 'learner', { TROUPE_HOME: join(dir, 'home') });
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  await nats?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('troupe worker --roles learner', () => {
  it('runs one GRPO step with rollouts through the society it joined, and reports it on the bus', async () => {
    const out = join(dir, 'run');
    const config = {
      model: { gguf: tinyPath },
      train: { steps: 1, microBatch: 1, lr: 0.01, maxSeqLen: 2048 },
      grpo: { groupSize: G, groupsPerStep: 1, maxAttempts: 4, maxStaleness: 0 },
      // No `nats`: the rollouts go through the society the learner lives in.
      rollouts: { source: 'society', tasks: tasksPath, concurrency: G, maxSteps: 4, user: 'scripted', agentMaxTokens: 12 },
      output: { dir: out, export: [], checkpointEvery: 0 },
    };
    await new Bus(nats.nc, { role: 'test', instance: 'test' }).publish(LearnRunRequested, { runId: 'lw1', mode: 'grpo', config });
    const done = await collect<LearnRunResult>(nats.nc, LearnRunCompleted.subject, (x) => x.length >= 1, { timeoutMs: 240_000 });
    expect(done.length, workerLog().slice(-3000)).toBe(1);
    const r = done[0].envelope;
    expect(r.from.role).toBe('learner');
    expect(r.data, workerLog().slice(-3000)).toMatchObject({ runId: 'lw1', mode: 'grpo', ok: true, dir: out });
    expect(r.data.summary).toMatchObject({ steps: 1 });
    expect(existsSync(join(out, 'report.md'))).toBe(true);
    // G dialogues per drawn group, played over the bus and rewarded by the checker.
    const rows = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const step = rows.find((x) => x.event !== 'publish');
    expect(r.data.summary!.rollouts).toBe(step.attempts * G);
    const rollouts = readFileSync(join(out, 'rollouts.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(rollouts.every((x: { termination: string }) => x.termination === 'max_steps')).toBe(true);
    const steps = await collect<LearnStep>(nats.nc, LearnStepCompleted.subject, (x) => x.length >= 1, { timeoutMs: 10_000 });
    expect(steps.map((s) => [s.envelope.data.step, s.envelope.data.totalSteps])).toEqual([[1, 1]]);
  }, 300_000);

  it('refuses a configuration it cannot run, saying why', async () => {
    await new Bus(nats.nc, { role: 'test', instance: 'test' }).publish(LearnRunRequested, { runId: 'lw-bad', mode: 'grpo', config: { train: { steps: 0 } } });
    const done = await collect<LearnRunResult>(nats.nc, LearnRunCompleted.subject, (x) => x.some((e) => e.envelope.data.runId === 'lw-bad'), { timeoutMs: 30_000 });
    const bad = done.filter((e) => e.envelope.data.runId === 'lw-bad');
    expect(bad).toHaveLength(1);
    expect(bad[0].envelope.data).toMatchObject({ ok: false, error: expect.stringMatching(/^refused: config: train\.steps/) });
  }, 60_000);
});
