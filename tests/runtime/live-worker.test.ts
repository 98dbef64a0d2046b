// `troupe worker` hosting a synthesis role (the critic, built by its module's createRole from the
// worker's NATS connection, model from TROUPE_CRITIC_MODEL / _BASE_URL): each item runs with the
// instructions and params revisions current when it starts, and an item whose run names override
// keys reads those. Real nats-server, KV, worker and host; the model is a scripted endpoint that
// records what each review was given.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KV } from '@nats-io/kv';
import type { Subscription } from '@nats-io/transport-node';
import { natsServerAvailable } from '../../runtime/nats/embedded.ts';
import { Worker } from '../../runtime/host/worker.ts';
import { Bus } from '../../runtime/nats/bus.ts';
import { getInstructions, instructionsHistory, openInstructions, putValue, setInstructions } from '../../runtime/instructions/index.ts';
import { DEFAULT_INSTRUCTIONS } from '../../actors/kit/instructions.ts';
import { decodeEnvelope } from '../../protocols/envelope.ts';
import { SynthRoleParamsSchema, TaskAccepted, TaskProposed, type RunOverrides, type TaskProposal, type TaskReviewed } from '../../protocols/synthesis.ts';
import { getDomain } from '../../domains/registry.ts';
import { expectedOutcome } from '../../actors/scriptwriter/draft.ts';
import { completeTask } from '../synthesis/fixtures/mock-tasks.ts';
import { startTestNats, type TestNats } from '../helpers/nats.ts';

import '../helpers/tau2.ts';
import { setEnv } from '../helpers/env.ts';
import { TEST_ROLES } from '../fixtures/roles/catalog.ts';

const reviews: { system: string; maxTokens?: number }[] = [];
let server: Server;
let nats: TestNats;
let kv: KV;
let worker: Worker;
let sub: Subscription;
const accepted = new Map<string, TaskReviewed>();
let restoreEnv: (() => void) | undefined;

beforeAll(async () => {
  if (!natsServerAvailable()) throw new Error('nats-server is missing: install it (apt-get install nats-server)');
  server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const body = JSON.parse(raw);
      reviews.push({ system: body.messages[0].content, maxTokens: body.max_tokens });
      res.setHeader('content-type', 'application/json');
      const content = JSON.stringify({ reasons: ['fine'], verdict: 'accept' });
      res.end(JSON.stringify({ id: 'x', object: 'chat.completion', created: 0, model: 'scripted', choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content } }], usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  restoreEnv = setEnv({ TROUPE_CRITIC_MODEL: 'scripted', TROUPE_CRITIC_BASE_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1` });
  nats = await startTestNats();
  kv = await openInstructions(nats.nc);
  sub = nats.nc.subscribe(TaskAccepted.subject);
  void (async () => {
    for await (const m of sub) {
      const v = decodeEnvelope(m.data);
      if (v.ok) accepted.set((v.envelope.data as TaskReviewed).itemId, v.envelope.data as TaskReviewed);
    }
  })();
});

afterAll(async () => {
  sub?.unsubscribe();
  await worker?.drainAll();
  await nats?.stop();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  restoreEnv?.();
});

const mock = getDomain('mock');
/** A good draft of a validation run (so repeating the same task is never a near-duplicate). */
function proposal(itemId: string, overrides?: RunOverrides): TaskProposal {
  return {
    runId: 'w',
    domain: 'mock',
    planId: 'w-p0',
    itemId,
    round: 0,
    plan: { synthesis: { tier: 'easy', toolPatterns: ['write:update_task_status'], userStyle: 'terse', persona: 'x', goal: 'complete the task' }, evaluation: { rubric: ['x'], failureTaxonomy: ['trajectory:wrong-tool'] }, maxRevisions: 0 },
    task: completeTask,
    exploration: [],
    expected: expectedOutcome(mock, completeTask),
    provenance: { runId: 'w', planId: 'w-p0', itemId, traceId: null, roles: {}, tokens: { prompt: 0, completion: 0 }, validation: true, ...(overrides ? { overrides } : {}) },
  };
}

async function review(itemId: string, overrides?: RunOverrides): Promise<TaskReviewed> {
  await new Bus(nats.nc, { role: 'feeder', instance: 'f' }).publish(TaskProposed, proposal(itemId, overrides), { key: itemId });
  for (let i = 0; i < 200 && !accepted.has(itemId); i++) await new Promise((r) => setTimeout(r, 25));
  const got = accepted.get(itemId);
  if (!got) throw new Error(`${itemId}: not accepted within 5 s`);
  return got;
}

describe('troupe worker hosting a synthesis role', () => {
  it('builds the critic from its module and picks up instructions, params and override keys per item', async () => {
    const r1 = await setInstructions(kv, 'critic', 'WORKER CRITIC 1', { author: 'test' });
    worker = new Worker({ catalog: TEST_ROLES, nc: nats.nc, roles: [{ role: 'critic', instance: 'critic-w' }], log: () => {} });
    await worker.start();
    expect(worker.instances.get('critic-w')!.host.role.impl).toBe('critic@1');

    const a = await review('w-p0-t0');
    expect(a.provenance.roles.critic).toMatchObject({ model: 'scripted', instructionsKey: 'critic', instructionsRevision: r1.revision, paramsRevision: null });
    expect(reviews.at(-1)!.system).toBe('WORKER CRITIC 1');

    const r2 = await setInstructions(kv, 'critic', 'WORKER CRITIC 2', { author: 'test' });
    const p1 = await putValue(kv, 'params.critic', SynthRoleParamsSchema, { maxTokens: 55 }, { author: 'test' });
    // The registry shows the revision the next item will start with (no restart).
    for (let i = 0; i < 100 && worker.instances.get('critic-w')!.instructionsRevision !== r2.revision; i++) await new Promise((r) => setTimeout(r, 20));
    const b = await review('w-p0-t1');
    expect(b.provenance.roles.critic).toMatchObject({ instructionsRevision: r2.revision, paramsRevision: p1.revision });
    expect(reviews.at(-1)).toEqual({ system: 'WORKER CRITIC 2', maxTokens: 55 });

    const cand = await setInstructions(kv, 'candidate.critic', 'CANDIDATE', { author: 'evolver/test' });
    const c = await review('w-p0-t2', { instructions: { critic: 'candidate.critic' } });
    expect(c.provenance.roles.critic).toMatchObject({ instructionsKey: 'candidate.critic', instructionsRevision: cand.revision, paramsRevision: p1.revision });
    expect(reviews.at(-1)!.system).toBe('CANDIDATE');
  }, 30_000);

  it('seeds a role\'s default instructions once when its key was never written, and never overwrites one', async () => {
    const criticBefore = (await instructionsHistory(kv, 'critic')).length;
    const workers = [0, 1].map((i) => new Worker({ catalog: TEST_ROLES, nc: nats.nc, roles: [{ role: 'verifier', instance: `verifier-w${i}` }, { role: 'critic', instance: `critic-s${i}` }], log: () => {} }));
    try {
      await Promise.all(workers.map((w) => w.start()));
      const seeded = await getInstructions(kv, 'verifier');
      expect(seeded).toMatchObject({ text: DEFAULT_INSTRUCTIONS.verifier, author: 'troupe worker (role default)' });
      // Two workers started at once wrote one revision between them.
      expect(await instructionsHistory(kv, 'verifier')).toHaveLength(1);
      expect(workers.map((w) => [...w.instances.values()].find((e) => e.spec.role === 'verifier')!.instructionsRevision)).toEqual([seeded!.revision, seeded!.revision]);
      // The critic already had instructions: left alone.
      expect(await instructionsHistory(kv, 'critic')).toHaveLength(criticBefore);
    } finally {
      await Promise.all(workers.map((w) => w.drainAll()));
    }
  }, 30_000);
});
