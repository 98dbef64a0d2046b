// The evolver as a hosted role: `troupe worker --roles evolver` joins a running society (real
// nats-server, the synthesis roles hosted here with the scripted model, tests/evolver/scripted-llm.ts)
// and, on `evolver.run.requested`, runs one round against it: a production run it submits over NATS,
// the failures collected from the stream, a parameter candidate, two validation arms, the decision.
// The setup is params-e2e's round 1: the critic asks for one revision of every draft but the run
// allows none, so the rule proposes params.critic maxRevisions 0 → 2, which passes more → promoted.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { natsServerAvailable } from '../../runtime/nats/embedded.ts';
import { RolesConfigSchema, startSynthSociety, type SynthSociety } from '../../cli/drivers/synth/society.ts';
import { Bus } from '../../runtime/nats/bus.ts';
import { listInstances, openRegistry } from '../../runtime/registry/registry.ts';
import { getValue, openInstructions, setEntry } from '../../runtime/instructions/index.ts';
import { EvolverRoundCompleted, EvolverRunCompleted, EvolverRunRequested, type EvolverRound, type EvolverRunRequest, type EvolverRunResult } from '../../protocols/evolver.ts';
import { SynthRoleParamsSchema } from '../../protocols/synthesis.ts';
import { collect, startTestNats, type TestNats } from '../helpers/nats.ts';
import { TAU2_DATA } from '../helpers/tau2.ts';
import { startScriptedLlm, type ScriptedLlm } from './scripted-llm.ts';
import { PLANS } from './fixtures/plans.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'troupe.js');
const CRITIC = 'You are the critic. You review drafted tasks.\nREVISE-ONCE: ask for one revision of every first draft.\nAnswer with JSON only.';

let nats: TestNats;
let llm: ScriptedLlm;
let society: SynthSociety;
let worker: ChildProcess | undefined;
let workerLog = '';

beforeAll(async () => {
  if (!natsServerAvailable()) throw new Error('nats-server is missing: install it (apt-get install nats-server)');
  nats = await startTestNats();
  llm = await startScriptedLlm();
  const config = RolesConfigSchema.parse({ actor: 'oracle', userOpening: 'scenario', criticReview: 'llm', maxRevisions: 0, maxSteps: 12, models: { default: { model: 'scripted', baseURL: llm.baseURL, maxRetries: 0 } } });
  society = await startSynthSociety({ nc: nats.nc, config, log: () => {} });
  await setEntry(await openInstructions(nats.nc), 'critic', CRITIC, { author: 'test', rationale: 'a critic that always wants one revision' });
  worker = spawn(process.execPath, [BIN, 'worker', '--roles', 'evolver'], {
    env: { ...process.env, TAU2_DATA_DIR: TAU2_DATA, TROUPE_NATS_URL: nats.settings.url, TROUPE_NATS_USER: nats.settings.user, TROUPE_NATS_PASS: nats.settings.pass, TROUPE_EVOLVER_MODEL: 'scripted', TROUPE_EVOLVER_BASE_URL: llm.baseURL, TROUPE_TRACING: 'off' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  worker.stdout!.on('data', (b) => (workerLog += b));
  worker.stderr!.on('data', (b) => (workerLog += b));
  const registry = await openRegistry(nats.nc);
  for (let i = 0; i < 600; i++) {
    if ((await listInstances(registry)).some((r) => r.role === 'evolver' && r.state === 'ready')) return;
    if (worker.exitCode !== null) throw new Error(`troupe worker exited with ${worker.exitCode}: ${workerLog}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the evolver never registered: ${workerLog}`);
}, 120_000);

afterAll(async () => {
  if (worker && worker.exitCode === null) {
    const exited = new Promise((r) => worker!.once('exit', r));
    worker.kill('SIGTERM');
    await exited;
  }
  await society?.stop();
  await llm?.close();
  await nats?.stop();
});

const request = (r: Partial<EvolverRunRequest> & Pick<EvolverRunRequest, 'sessionId' | 'domain'>) => EvolverRunRequested.schema.parse(r) as EvolverRunRequest;

describe('troupe worker --roles evolver', () => {
  it('runs a session of one round in the society it joined and reports it on the bus', async () => {
    const bus = new Bus(nats.nc, { role: 'test', instance: 'test' });
    await bus.publish(EvolverRunRequested, request({ sessionId: 'evw', domain: 'mock', rounds: 1, plans: 3, tasksPerPlan: 1, validationSize: 3, maxRevisions: 0, seed: 11, timeoutMs: 120_000, fixedPlans: PLANS, samePlans: true, kinds: ['params'] }));
    const done = await collect<EvolverRunResult>(nats.nc, EvolverRunCompleted.subject, (x) => x.length >= 1, { timeoutMs: 200_000 });
    expect(done.length, workerLog.slice(-3000)).toBe(1);
    const result = done[0].envelope;
    expect(result.from.role).toBe('evolver');
    expect(result.data.error, workerLog.slice(-3000)).toBeUndefined();
    expect(result.data.rounds.map((r) => [r.round, r.target, r.kind, r.outcome])).toEqual([[1, 'critic', 'params', 'promote']]);
    // The round went out on the bus as it ended, and the promotion is live in the society's bucket.
    const rounds = await collect<EvolverRound>(nats.nc, EvolverRoundCompleted.subject, (x) => x.length >= 1, { timeoutMs: 10_000 });
    expect(rounds.map((r) => [r.envelope.data.sessionId, r.envelope.data.productionRunId, r.envelope.data.outcome])).toEqual([['evw', 'evw-r1', 'promote']]);
    expect((await getValue(await openInstructions(nats.nc), 'params.critic', SynthRoleParamsSchema))!.value).toEqual({ maxRevisions: 2 });
  }, 240_000);

  it('refuses a request it cannot run, saying why, without retrying it', async () => {
    const bus = new Bus(nats.nc, { role: 'test', instance: 'test' });
    await bus.publish(EvolverRunRequested, request({ sessionId: 'evw-bad', domain: 'mock', roles: ['actor'] }));
    const done = await collect<EvolverRunResult>(nats.nc, EvolverRunCompleted.subject, (x) => x.some((e) => e.envelope.data.sessionId === 'evw-bad'), { timeoutMs: 30_000 });
    const bad = done.filter((e) => e.envelope.data.sessionId === 'evw-bad');
    expect(bad).toHaveLength(1);
    expect(bad[0].envelope.data).toMatchObject({ rounds: [], error: expect.stringMatching(/refused: "actor" is not a role the evolver rewrites/) });
  }, 60_000);
});
