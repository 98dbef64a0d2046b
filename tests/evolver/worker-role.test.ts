// The evolver as a hosted role: `troupe worker --roles evolver` joins a running society (real
// nats-server, the synthesis roles hosted here with the scripted model, tests/evolver/scripted-llm.ts)
// and, on `evolver.run.requested`, runs one round against it: a production run it submits over NATS,
// the failures collected from the stream, a parameter candidate, two validation arms, the decision.
// The setup is params-e2e's round 1: the critic asks for one revision of every draft but the run
// allows none, so the rule proposes params.critic maxRevisions 0 → 2, which passes more → promoted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bus } from '../../runtime/nats/bus.ts';
import { getValue, openInstructions, setEntry } from '../../runtime/instructions/index.ts';
import { EvolverRoundCompleted, EvolverRunCompleted, EvolverRunRequested, type EvolverRound, type EvolverRunRequest, type EvolverRunResult } from '../../protocols/evolver.ts';
import { SynthRoleParamsSchema } from '../../protocols/synthesis.ts';
import { collect, type TestNats } from '../helpers/nats.ts';
import { startScriptedSociety, type ScriptedSociety } from '../fixtures/scripted-society.ts';
import { startWorker, type TestWorker } from '../fixtures/worker.ts';
import { PLANS } from './fixtures/plans.ts';

const CRITIC = 'You are the critic. You review drafted tasks.\nREVISE-ONCE: ask for one revision of every first draft.\nAnswer with JSON only.';

let soc: ScriptedSociety | undefined;
let nats: TestNats;
let worker: TestWorker | undefined;
const workerLog = () => worker?.log() ?? '';

beforeAll(async () => {
  soc = await startScriptedSociety();
  nats = soc.nats;
  await setEntry(soc.env.kv, 'critic', CRITIC, { author: 'test', rationale: 'a critic that always wants one revision' });
  worker = await startWorker(nats, 'evolver', { TROUPE_EVOLVER_MODEL: 'scripted', TROUPE_EVOLVER_BASE_URL: soc.llm.baseURL });
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  await soc?.stop();
});

const request = (r: Partial<EvolverRunRequest> & Pick<EvolverRunRequest, 'sessionId' | 'domain'>) => EvolverRunRequested.schema.parse(r) as EvolverRunRequest;

describe('troupe worker --roles evolver', () => {
  it('runs a session of one round in the society it joined and reports it on the bus', async () => {
    const bus = new Bus(nats.nc, { role: 'test', instance: 'test' });
    await bus.publish(EvolverRunRequested, request({ sessionId: 'evw', domain: 'mock', rounds: 1, plans: 3, tasksPerPlan: 1, validationSize: 3, maxRevisions: 0, seed: 11, timeoutMs: 120_000, fixedPlans: PLANS, samePlans: true, kinds: ['params'] }));
    const done = await collect<EvolverRunResult>(nats.nc, EvolverRunCompleted.subject, (x) => x.length >= 1, { timeoutMs: 200_000 });
    expect(done.length, workerLog().slice(-3000)).toBe(1);
    const result = done[0].envelope;
    expect(result.from.role).toBe('evolver');
    expect(result.data.error, workerLog().slice(-3000)).toBeUndefined();
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
