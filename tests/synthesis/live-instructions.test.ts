// Live instructions and workflow parameters in the data society: a real nats-server, the real KV
// bucket, the real hosts and roles of `startSynthSociety`; only the model is a scripted
// OpenAI-compatible endpoint (a real model would add minutes and nothing to what is checked here),
// which records what each call was given (system prompt, sampling) and can hold a call open.
// Checked through the revisions stamped in each item's provenance:
//   - a KV write mid-run is used by the next item, while an item already in flight keeps its revision;
//   - the same for `params.<role>` (critic votes, sampling), and an invalid value fails the item with
//     an error naming key and revision until it is fixed (never a silent default);
//   - a run with overrides reads `candidate.critic` / another params key while a concurrent normal run
//     reads the role's own keys; a validation run leaves no accepted signature and no dataset record.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kvm, type KV } from '@nats-io/kv';
import type { Subscription } from '@nats-io/transport-node';
import { natsServerAvailable } from '../../runtime/nats/embedded.ts';
import { RolesConfigSchema, followRun, startSynthSociety, type SynthSociety } from '../../cli/drivers/synth/society.ts';
import { readDataset } from '../../actors/dataset/role.ts';
import { DEFAULT_INSTRUCTIONS } from '../../actors/kit/instructions.ts';
import { decodeEnvelope } from '../../protocols/envelope.ts';
import { MESSAGE_PREFIX } from '../../protocols/subjects.ts';
import { ACCEPTED_TASKS_BUCKET, PlanLibrarySchema, SynthRoleParamsSchema, type SynthRunRequest, type TaskReviewed } from '../../protocols/synthesis.ts';
import { getInstructions, openInstructions, putValue, setInstructions } from '../../runtime/instructions/index.ts';
import { z } from 'zod';
import { startTestNats, type TestNats } from '../helpers/nats.ts';

import '../helpers/tau2.ts';

// ---------------------------------------------------------------------------------------------
// The scripted endpoint

interface Call {
  name: string | null;
  system: string;
  user: string;
  temperature?: number;
  maxTokens?: number;
  seed?: number;
  /** For a draft: the title the endpoint wrote into it. */
  title?: string;
}

const calls: Call[] = [];
let titles = 0;
/** When set, the next critic review is held open until `release` is called. */
let holdNext: { arrived: () => void; release: Promise<void> } | null = null;

type Schema = { properties?: Record<string, Schema>; items?: Schema; enum?: string[] };

function answer(call: Call, name: string | null, body: { messages: { role: string; content: string }[]; response_format?: { json_schema?: { schema: Schema } } }): string {
  const schema = body.response_format?.json_schema?.schema;
  switch (name) {
    case 'task_draft': {
      // A distinct title per draft, so no task is a near-duplicate of an earlier one.
      const title = `Review item ${++titles}`;
      call.title = title;
      const users = schema?.properties?.actions?.items?.properties?.arguments?.properties?.user_id?.enum;
      return JSON.stringify({
        reason_for_call: 'I need a new task on my list.',
        known_info: 'You are user_1.',
        task_instructions: `Ask the agent to create a task titled "${title}".`,
        actions: [{ name: 'create_task', arguments: { user_id: users?.find((u) => /^user_\d/.test(u)) ?? 'user_1', title } }],
      });
    }
    case 'plan': {
      const p = schema?.properties ?? {};
      return JSON.stringify({
        tier: p.tier?.enum?.[0] ?? 'easy',
        toolPatterns: ['write:create_task'],
        userStyle: p.userStyle?.enum?.[0] ?? 'terse',
        persona: 'a planner',
        goal: 'add a task',
        rubric: ['the task exists'],
        failureTaxonomy: (p.failureTaxonomy?.items?.enum ?? []).slice(0, 2),
      });
    }
    case 'critic_review':
      return JSON.stringify({ reasons: ['feasible and grounded'], verdict: 'accept' });
    case 'checker_spec': {
      const checks = schema?.properties?.checks?.items?.enum ?? [];
      const req = (schema?.properties?.requiredCalls?.items?.enum ?? []).filter((x) => x !== 'none');
      return JSON.stringify({ checks, requiredCalls: req });
    }
    case 'blame':
      return JSON.stringify({ reason: 'scripted', kind: schema?.properties?.kind?.enum?.[0] ?? 'unspecified', blame: 'trajectory' });
    default:
      // The user simulator: ask once, then stop when the agent has answered.
      return body.messages.length <= 2 ? 'Hi, I need a new task created, the title is in my notes.' : '###STOP###';
  }
}

let server: Server;
let baseURL = '';

function startEndpoint(): Promise<void> {
  server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', async () => {
      const body = JSON.parse(raw);
      const name: string | null = body.response_format?.json_schema?.name ?? null;
      const msgs = body.messages as { role: string; content: string }[];
      const call: Call = { name, system: msgs[0]?.content ?? '', user: msgs.at(-1)?.content ?? '', temperature: body.temperature, maxTokens: body.max_tokens, seed: body.seed };
      calls.push(call);
      if (name === 'critic_review' && holdNext) {
        const h = holdNext;
        holdNext = null;
        h.arrived();
        await h.release;
      }
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          id: 'x',
          object: 'chat.completion',
          created: 0,
          model: 'scripted',
          choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: answer(call, name, body) } }],
          usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 },
        }),
      );
    });
  });
  return new Promise<void>((r) =>
    server.listen(0, '127.0.0.1', () => {
      baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
      r();
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// The society

let nats: TestNats;
let society: SynthSociety;
let kv: KV;
let accepted: KV;
let sub: Subscription;
const logs: string[] = [];
/** Every `synth.plan.issued` seen, by run id. */
const plansByRun = new Map<string, { synthesis: { tier: string; goal: string }; overlap: { attempts: number }; library?: { key: string; revision: number; index: number }; provenance: TaskReviewed['provenance'] }[]>();
/** Every `synth.task.accepted` seen, by run id. */
const acceptedByRun = new Map<string, TaskReviewed>();
const recordRuns = new Set<string>();
/** Why items were dropped, for failure messages. */
const drops: string[] = [];

const PLAN = {
  synthesis: { tier: 'easy' as const, toolPatterns: ['write:create_task'], userStyle: 'terse', persona: 'a busy team lead', goal: 'add a review task to the list' },
  evaluation: { rubric: ['the task exists with the asked title'], failureTaxonomy: ['trajectory:wrong-arguments', 'trajectory:missed-step'] },
};

function run(runId: string, extra: Omit<NonNullable<Parameters<typeof followRun>[0]['request']>, 'fixedPlans'> = {}) {
  const request: Pick<SynthRunRequest, 'overrides' | 'fixedPlans' | 'seed' | 'validation'> = { fixedPlans: [PLAN], ...extra };
  return followRun({ nc: nats.nc, runId, domain: 'mock', plans: 1, tasksPerPlan: 1, maxRevisions: 0, timeoutMs: 30_000, request, progressEveryMs: 60_000 });
}

/** The item of a run as the critic passed it on. */
function acceptedItem(runId: string): TaskReviewed {
  const a = acceptedByRun.get(runId);
  if (!a) throw new Error(`run ${runId}: no synth.task.accepted seen (drops: ${drops.join(' | ')}; logs: ${logs.join(' | ')})`);
  return a;
}

/** The title of an item's task, which identifies its model calls. */
function titleOf(t: TaskReviewed): string {
  // The gold actions start with the read that revealed the user id (issue 16); the write carries the title.
  return String(t.task.evaluation_criteria?.actions?.find((a) => a.name === 'create_task')?.arguments.title);
}

const criticCallsFor = (t: TaskReviewed) => calls.filter((c) => c.name === 'critic_review' && c.user.includes(`"${titleOf(t)}"`));
const draftCallOf = (t: TaskReviewed) => calls.find((c) => c.name === 'task_draft' && c.title === titleOf(t));

beforeAll(async () => {
  if (!natsServerAvailable()) throw new Error('nats-server is missing: install it (apt-get install nats-server)');
  await startEndpoint();
  nats = await startTestNats();
  kv = await openInstructions(nats.nc);
  sub = nats.nc.subscribe(`${MESSAGE_PREFIX}.synth.>`);
  void (async () => {
    for await (const m of sub) {
      const v = decodeEnvelope(m.data);
      if (!v.ok) continue;
      const d = v.envelope.data as TaskReviewed & { runId: string };
      if (v.envelope.kind === 'synth.task.accepted') acceptedByRun.set(d.runId, d);
      if (v.envelope.kind === 'synth.plan.issued') plansByRun.set(d.runId, [...(plansByRun.get(d.runId) ?? []), d as never]);
      if (v.envelope.kind === 'synth.dataset.record') recordRuns.add(d.runId);
      if (v.envelope.kind === 'synth.dialogue.failed') drops.push(`${d.runId} dialogue: ${(d as unknown as { checkerRun: { reasons: string[] } }).checkerRun.reasons.join('; ')}`);
      if (v.envelope.kind === 'synth.item.dropped') drops.push(`${d.runId} ${(d as unknown as { stage: string }).stage}: ${(d as unknown as { reasons: string[] }).reasons.join('; ')}`);
    }
  })();
  const config = RolesConfigSchema.parse({ actor: 'oracle', userOpening: 'scenario', criticReview: 'llm', maxSteps: 12, models: { default: { model: 'scripted', baseURL, maxRetries: 0 } } });
  society = await startSynthSociety({ nc: nats.nc, config, log: (l) => logs.push(l) });
  accepted = await new Kvm(nats.nc).open(ACCEPTED_TASKS_BUCKET);
}, 60_000);

afterAll(async () => {
  sub?.unsubscribe();
  await society?.stop();
  await nats?.stop();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
});

describe('live instructions in the synthesis society', () => {
  let r2 = 0;

  it('uses a mid-run write for the next item; an item in flight keeps the revision it started with', async () => {
    const r1 = (await getInstructions(kv, 'critic'))!.revision;
    let release!: () => void;
    const arrived = new Promise<void>((arrivedResolve) => {
      holdNext = { arrived: arrivedResolve, release: new Promise<void>((r) => (release = r)) };
    });
    const a = run('live-a');
    await arrived; // item A is inside the critic, its review call held open
    r2 = (await setInstructions(kv, 'critic', 'CRITIC V2: be strict about grounding.', { author: 'test', rationale: 'mid-run change' })).revision;
    const b = await run('live-b');
    expect(b.complete).toBe(true);
    release();
    expect((await a).complete).toBe(true);

    const A = acceptedItem('live-a');
    const B = acceptedItem('live-b');
    expect(A.provenance.roles.critic).toMatchObject({ instructionsRevision: r1, instructionsKey: 'critic' });
    expect(B.provenance.roles.critic).toMatchObject({ instructionsRevision: r2, instructionsKey: 'critic' });
    // What the model was actually given matches the stamped revision.
    expect(criticCallsFor(A).map((c) => c.system)).toEqual([DEFAULT_INSTRUCTIONS.critic]);
    expect(criticCallsFor(B).map((c) => c.system)).toEqual(['CRITIC V2: be strict about grounding.']);
    expect(B.provenance.roles.scriptwriter.instructionsKey).toBe('scriptwriter');
  }, 40_000);

  let p3 = 0;

  it('uses new params.<role> for the next item (votes, sampling) and fails an item on an invalid value until it is fixed', async () => {
    const p1 = await putValue(kv, 'params.critic', SynthRoleParamsSchema, { votes: 3, temperature: 0.4 }, { author: 'test', rationale: 'three votes' });
    const s1 = await putValue(kv, 'params.scriptwriter', SynthRoleParamsSchema, { maxTokens: 333 }, { author: 'test' });
    expect((await run('params-c', { seed: 7 })).complete).toBe(true);
    const C = acceptedItem('params-c');
    expect(C.provenance.roles.critic.paramsRevision).toBe(p1.revision);
    expect(C.provenance.roles.scriptwriter.paramsRevision).toBe(s1.revision);
    const votes = criticCallsFor(C);
    expect(votes.map((c) => c.temperature)).toEqual([0.4, 0.4, 0.4]);
    expect(new Set(votes.map((c) => c.seed)).size).toBe(3); // each vote samples with its own seed
    expect(C.verdicts.at(-1)!.reasons).toContain('votes: accept 3, revise 0, reject 0');
    expect(draftCallOf(C)?.maxTokens).toBe(333);

    // An even number of votes is invalid: written raw (the CLI would refuse it), the item fails, naming key and revision.
    const bad = await putValue(kv, 'params.critic', z.unknown(), { votes: 2 }, { author: 'test' });
    const d = run('params-d');
    for (let i = 0; i < 100 && !logs.some((l) => l.includes(`params.critic@${bad.revision}`)); i++) await new Promise((r) => setTimeout(r, 100));
    const err = logs.find((l) => l.includes(`params.critic@${bad.revision}`));
    expect(err).toMatch(/critic failed on synth\.task\.proposed .*params\.critic@\d+: invalid critic parameters: votes: votes must be odd/);
    expect(acceptedByRun.has('params-d')).toBe(false);
    p3 = (await putValue(kv, 'params.critic', SynthRoleParamsSchema, { votes: 1 }, { author: 'test', rationale: 'fix' })).revision;
    expect((await d).complete).toBe(true); // the redelivered item ran on the fixed revision
    expect(acceptedItem('params-d').provenance.roles.critic.paramsRevision).toBe(p3);
  }, 40_000);

  it('reads a run’s override keys while a concurrent normal run reads the role’s own; a validation run stores nothing', async () => {
    const cand = await setInstructions(kv, 'candidate.critic', 'CANDIDATE CRITIC: accept only well-grounded tasks.', { author: 'evolver/test', rationale: 'candidate' });
    const trial = await putValue(kv, 'params.critic-trial', SynthRoleParamsSchema, { maxTokens: 77 }, { author: 'evolver/test' });
    const overrides = { instructions: { critic: 'candidate.critic' }, params: { critic: 'params.critic-trial' } };
    const [e, f] = await Promise.all([run('override-e', { overrides, seed: 7, validation: true }), run('normal-f')]);
    expect(e.complete && f.complete).toBe(true);
    const E = acceptedItem('override-e');
    const F = acceptedItem('normal-f');
    expect(E.provenance.overrides).toEqual(overrides);
    expect(E.provenance.roles.critic).toMatchObject({ instructionsKey: 'candidate.critic', instructionsRevision: cand.revision, paramsKey: 'params.critic-trial', paramsRevision: trial.revision });
    expect(F.provenance.roles.critic).toMatchObject({ instructionsKey: 'critic', instructionsRevision: r2, paramsRevision: p3 });
    expect(F.provenance.roles.critic.paramsKey).toBeUndefined();
    expect(criticCallsFor(E).map((c) => [c.system, c.maxTokens])).toEqual([['CANDIDATE CRITIC: accept only well-grounded tasks.', 77]]);
    expect(criticCallsFor(F).map((c) => c.system)).toEqual(['CRITIC V2: be strict about grounding.']);
    // Roles without an override for this run keep their own key.
    expect(E.provenance.roles.scriptwriter.instructionsKey).toBe('scriptwriter');

    // Same seed, same plan, same place in the run: the scriptwriter sampled with the same seed as run C.
    const C = acceptedItem('params-c');
    expect(draftCallOf(E)?.seed).toBeDefined();
    expect(draftCallOf(E)?.seed).toBe(draftCallOf(C)?.seed);
    expect(draftCallOf(F)?.seed).not.toBe(draftCallOf(E)?.seed);

    // Validation: checked against signatures but never added to them; its record is not stored.
    expect(E.provenance.validation).toBe(true);
    expect(await accepted.get(`mock.${E.task.id}`)).toBeNull();
    expect((await accepted.get(`mock.${F.task.id}`))?.operation).toBe('PUT');
    // Both dialogues passed: the validation run's record was published (its funnel adds up) but not stored.
    const stored = async (runId: string) => (await readDataset(nats.nc, { runId })).length;
    for (let i = 0; i < 50 && (!recordRuns.has('override-e') || (await stored('normal-f')) === 0); i++) await new Promise((r) => setTimeout(r, 100));
    expect(recordRuns.has('override-e'), `no record of run override-e (drops: ${drops.join(' | ')})`).toBe(true);
    expect(await stored('normal-f')).toBe(1);
    expect(await stored('override-e')).toBe(0);
  }, 40_000);

  it('lets params.meta-planner set tier quotas and sampling when the model writes the plans; fixed plans skip the model', async () => {
    const q = await putValue(kv, 'params.meta-planner', SynthRoleParamsSchema, { tierQuotas: { hard: 1 }, temperature: 0.2 }, { author: 'test' });
    const before = calls.filter((c) => c.name === 'plan').length;
    const g = await followRun({ nc: nats.nc, runId: 'quota-g', domain: 'mock', plans: 2, tasksPerPlan: 1, maxRevisions: 0, timeoutMs: 30_000, progressEveryMs: 60_000 });
    expect(g.complete).toBe(true);
    const plans = plansByRun.get('quota-g') ?? [];
    expect(plans.map((p) => p.synthesis.tier)).toEqual(['hard', 'hard']);
    expect(plans.every((p) => p.provenance.roles['meta-planner'].paramsRevision === q.revision)).toBe(true);
    const asked = calls.filter((c) => c.name === 'plan').slice(before);
    expect(asked.length).toBeGreaterThanOrEqual(2);
    expect(asked.every((c) => c.temperature === 0.2)).toBe(true);
    // Every earlier run used fixed plans: the model was never asked for one, and each says so.
    expect(before).toBe(0);
    expect(plansByRun.get('live-a')?.[0].overlap.attempts).toBe(0);
  }, 40_000);

  it('issues the domain plan library (plan.mock) for the first slots, live, and lets the model write the rest', async () => {
    await putValue(kv, 'params.meta-planner', SynthRoleParamsSchema, {}, { author: 'test' });
    const lib1 = await putValue(kv, 'plan.mock', PlanLibrarySchema, [PLAN], { author: 'test', rationale: 'seed plans' });
    const before = calls.filter((c) => c.name === 'plan').length;
    const a = await followRun({ nc: nats.nc, runId: 'lib-a', domain: 'mock', plans: 2, tasksPerPlan: 1, maxRevisions: 0, timeoutMs: 30_000, progressEveryMs: 60_000 });
    expect(a.complete).toBe(true);
    const pa = (plansByRun.get('lib-a') ?? []).sort((x, y) => x.provenance.planId.localeCompare(y.provenance.planId));
    expect(pa).toHaveLength(2);
    expect(pa[0].library).toEqual({ key: 'plan.mock', revision: lib1.revision, index: 0 });
    expect(pa[0].synthesis.goal).toBe(PLAN.synthesis.goal);
    expect(pa[1].library).toBeUndefined();
    // Only the second slot asked the model.
    expect(calls.filter((c) => c.name === 'plan').length - before).toBeGreaterThanOrEqual(1);
    // A new library revision is used by the next run, no restart.
    const other = { ...PLAN, synthesis: { ...PLAN.synthesis, goal: 'rename the review task' } };
    const lib2 = await putValue(kv, 'plan.mock', PlanLibrarySchema, [other, PLAN], { author: 'test' });
    const b = await followRun({ nc: nats.nc, runId: 'lib-b', domain: 'mock', plans: 2, tasksPerPlan: 1, maxRevisions: 0, timeoutMs: 30_000, progressEveryMs: 60_000 });
    expect(b.complete).toBe(true);
    const pb = (plansByRun.get('lib-b') ?? []).sort((x, y) => x.provenance.planId.localeCompare(y.provenance.planId));
    expect(pb.map((p) => p.library?.revision)).toEqual([lib2.revision, lib2.revision]);
    expect(pb.map((p) => p.synthesis.goal)).toEqual(['rename the review task', PLAN.synthesis.goal]);
    await kv.delete('plan.mock');
  }, 60_000);
});
