// Plan streams (issue 16): each stream's pair is rewritten from its own failures (read with their
// blame) and kept or dropped by the paired test on the stream's next validation batch; kept rewrites
// become revisions of the plan library `plan.<domain>` with lineage. The synthesis runs are scripted
// (the outcome of an item follows its plan, as a real society's would), the plan library is the real
// instructions KV bucket on a real nats-server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KV } from '@nats-io/kv';
import type { Envelope } from '../../protocols/envelope.ts';
import { PlanLibrarySchema, type SynthRunRequest, type SynthesisPlan } from '../../protocols/synthesis.ts';
import { openInstructions, valueHistory } from '../../runtime/instructions/index.ts';
import { natsServerAvailable } from '../../runtime/nats/embedded.ts';
import { getDomain } from '../../domains/registry.ts';
import { toolEntities } from '../../actors/kit/plan-signature.ts';
import { kvPlanStore, runStreams, type StreamConfig } from '../../actors/evolver/stream-machine.ts';
import { blameMix, rewriteCandidates, rewritePair, type PlanPair } from '../../actors/evolver/streams.ts';
import type { FailureRecord } from '../../actors/evolver/failures.ts';
import type { RunResult } from '../../actors/evolver/run.ts';
import { startTestNats, type TestNats } from '../helpers/nats.ts';

import '../helpers/tau2.ts';

const entities = toolEntities(getDomain('mock'));
const ev = { rubric: ['the final state matches the goal'], failureTaxonomy: ['task:ambiguous-instructions', 'trajectory:wrong-tool'] };
const pair = (s: Partial<SynthesisPlan>): PlanPair => ({ synthesis: { tier: 'medium', toolPatterns: ['write:update_task_status'], userStyle: 'terse', persona: 'p', goal: 'g', taskKind: 'write', ...s }, evaluation: ev });

type Outcome = 'pass' | 'ungrounded' | 'user-violation' | 'agent-missed-step';

/**
 * The scripted society: how an item of a plan ends. A hard multi-intent plan cannot be grounded
 * (task blamed); a medium one passes. A confused user breaks the scenario on the second item; a
 * polite user makes every item fail at the agent (the rewrite that makes things worse).
 */
function outcome(p: SynthesisPlan, k: number): Outcome {
  if (p.tier === 'hard') return 'ungrounded';
  if (p.userStyle === 'confused') return k === 0 ? 'pass' : 'user-violation';
  if (p.userStyle === 'polite') return 'agent-missed-step';
  return 'pass';
}

let nEnv = 0;
const envl = (kind: string, data: unknown): Envelope<unknown> => ({ id: `e${++nEnv}`, kind, v: 1, from: { role: 'x', instance: 'x' }, sentAt: 0, data });

function scriptedRun(req: SynthRunRequest, log: SynthRunRequest[]): Promise<RunResult> {
  log.push(req);
  const envelopes: Envelope<unknown>[] = [];
  let passed = 0;
  req.fixedPlans!.forEach((fp, i) => {
    const planId = `${req.runId}-p${i}`;
    envelopes.push(envl('synth.plan.issued', { runId: req.runId, planId, index: i, tasksPerPlan: req.tasksPerPlan, synthesis: fp.synthesis, evaluation: fp.evaluation }));
    for (let k = 0; k < req.tasksPerPlan; k++) {
      const itemId = `${planId}-t${k}`;
      envelopes.push(envl('synth.task.proposed', { runId: req.runId, itemId, plan: fp, intent: { kind: fp.synthesis.taskKind ?? 'write' } }));
      const o = outcome(fp.synthesis, k);
      if (o === 'pass') {
        passed++;
        envelopes.push(envl('synth.dataset.record', { runId: req.runId, recordId: `${req.runId}/${itemId}`, provenance: { itemId } }));
      } else if (o === 'ungrounded') {
        envelopes.push(envl('synth.item.dropped', { runId: req.runId, planId, itemId, stage: 'critic', reasons: ['grounded: x'], detail: { verdicts: [{ checks: [{ name: 'grounded', ok: false, detail: 'not obtainable: update_task_status.status="x"' }], review: null }] } }));
      } else {
        const violation = o === 'user-violation';
        envelopes.push(
          envl('synth.failure.reported', {
            runId: req.runId,
            itemId,
            dialogue: { terminationReason: violation ? 'user_error' : 'user_stop' },
            checkerRun: { reasons: ['no successful call of update_task_status'] },
            blame: { blame: 'trajectory', kind: violation ? 'trajectory:user-deviated' : 'trajectory:missed-step', reason: 'r' },
          }),
        );
      }
    }
  });
  const items = req.plans * req.tasksPerPlan;
  return Promise.resolve({ runId: req.runId, summary: { items, dialoguePassed: passed } as never, complete: true, startedAt: 0, endedAt: 1000, envelopes, plans: req.fixedPlans! });
}

describe('plan streams: rewrite from own failures, kept or dropped by the paired test', () => {
  let nats: TestNats;
  let kv: KV;
  beforeAll(async () => {
    if (!natsServerAvailable()) throw new Error('nats-server is missing: install it (apt-get install nats-server)');
    nats = await startTestNats();
    kv = await openInstructions(nats.nc);
  });
  afterAll(() => nats?.stop());

  const cfg = (over: Partial<StreamConfig>): StreamConfig => ({ sessionId: 'st', domain: 'mock', rounds: 2, tasksPerPlan: 2, validationSize: 2, maxRevisions: 0, seed: 7, evolve: true, instance: 'test', ...over });

  it('keeps a rewrite that fixed its stream and drops one that made it worse, with lineage in plan.<domain>', async () => {
    const runs: SynthRunRequest[] = [];
    const start = [pair({ tier: 'hard', taskKind: 'multi-intent', toolPatterns: ['write:create_task', 'write:update_task_status'] }), pair({ tier: 'easy', userStyle: 'confused', taskKind: 'info', toolPatterns: ['lookup:get_users'] })];
    const lines: string[] = [];
    const res = await runStreams(cfg({ pairs: start }), { run: (r) => scriptedRun(r, runs), store: kvPlanStore(kv, 'mock'), entities, log: (l) => lines.push(l) });
    expect(res.error).toBeUndefined();
    expect(res.records).toHaveLength(2);
    const [r1, r2] = res.records;
    // Round 1: stream 0 lost both items at the critic (task blamed), stream 1 one to the user simulator.
    expect(r1.streams[0]).toMatchObject({ items: 2, passed: 0, blame: { task: 2, trajectory: 0, user: 0 }, kinds: { 'multi-intent': 2 } });
    expect(r1.streams[1]).toMatchObject({ items: 2, passed: 1, blame: { user: 1 }, kinds: { info: 2 } });
    // Stream 0: tier hard → medium, validated 2/2 vs 0/2 (2 wins): kept.
    expect(r1.streams[0].rewrite).toMatchObject({ moves: expect.arrayContaining(['tier hard → medium']), kept: true, current: { passed: 0, items: 2 }, candidate: { passed: 2, items: 2 }, decision: { counts: { wins: 2, losses: 0 } } });
    expect(r1.streams[0].rewrite!.diff).toMatch(/-\s+"tier": "hard"[\s\S]*\+\s+"tier": "medium"/);
    // Stream 1: style confused → polite, validated 0/2 vs 1/2 (1 loss): dropped at α = 0.5.
    expect(r1.streams[1].rewrite).toMatchObject({ moves: ['user style confused → polite'], kept: false, decision: { counts: { losses: 1, wins: 0 }, pWorse: 0.5 } });
    // Both validation arms ran on the same seed with the streams' current / candidate pairs.
    const [cur, cand] = [runs.find((r) => r.runId === 'st-r1-current')!, runs.find((r) => r.runId === 'st-r1-candidate')!];
    expect(cur.seed).toBe(cand.seed);
    expect(cur.validation && cand.validation).toBe(true);
    expect(cand.fixedPlans!.map((p) => [p.synthesis.tier, p.synthesis.userStyle])).toEqual([['medium', 'terse'], ['easy', 'polite']]);
    // Round 2 ran the kept rewrite and the unchanged stream 1; the last round proposes nothing.
    expect(r2.streams.map((s) => s.pair.synthesis.tier)).toEqual(['medium', 'easy']);
    expect(r2.streams[0]).toMatchObject({ passed: 2, items: 2 });
    expect(r2.streams.every((s) => !s.rewrite)).toBe(true);
    // The plan library: the session's pairs, then the kept rewrite with its lineage.
    const hist = await valueHistory(kv, 'plan.mock', PlanLibrarySchema);
    const last = hist[hist.length - 1];
    expect(last.value[0].synthesis.tier).toBe('medium');
    expect(last.value[1].synthesis.userStyle).toBe('confused');
    expect(last.lineage).toMatchObject({ parent: hist[hist.length - 2].revision, author: 'evolver/test' });
    expect(last.lineage.failures).toEqual(['st-r1/st-r1-p0-t0#critic:grounded', 'st-r1/st-r1-p0-t1#critic:grounded']);
    expect(last.lineage.rationale).toMatch(/stream 0, round 1.*tier hard → medium.*kept: stream 0 yield: 2 paired item\(s\), candidate won 2, lost 0/);
    expect(r1.streams[0].rewrite!.libraryRevision).toBe(last.revision);
    expect(lines.some((l) => /stream 1 rewrite DROPPED/.test(l))).toBe(true);
  });

  it('without evolution: the same seeds, the pairs never change, no validation run', async () => {
    const runs: SynthRunRequest[] = [];
    const start = [pair({ tier: 'hard' }), pair({ userStyle: 'confused', taskKind: 'info', toolPatterns: ['lookup:get_users'] })];
    const res = await runStreams(cfg({ pairs: start, evolve: false }), { run: (r) => scriptedRun(r, runs), store: kvPlanStore(kv, 'mock'), entities, log: () => {} });
    expect(runs.map((r) => [r.runId, r.seed])).toEqual([['st-r1', 1007], ['st-r2', 2007]]);
    expect(res.records.flatMap((r) => r.streams.map((s) => s.pair.synthesis.tier))).toEqual(['hard', 'medium', 'hard', 'medium']);
  });

  it('reads the failures by blame: trajectory failures rewrite the evaluation plan, a clean stream gets harder', () => {
    const f = (kind: string, i = 0): FailureRecord => ({ id: `r/i${i}#${kind}`, runId: 'r', itemId: `i${i}`, kind, role: null, summary: '' });
    const traj = [f('dialogue:trajectory:missed-step'), f('dialogue:trajectory:wrong-tool', 1)];
    expect(blameMix(traj)).toMatchObject({ trajectory: 2, task: 0 });
    const [r] = rewriteCandidates(pair({}), traj, 0, 2);
    expect(r.pair.synthesis).toEqual(pair({}).synthesis);
    expect(r.pair.evaluation.failureTaxonomy).toEqual([...ev.failureTaxonomy, 'trajectory:missed-step']);
    expect(r.moves).toContain('taxonomy + trajectory:missed-step');
    const easy = rewriteCandidates(pair({}), [], 2, 2);
    expect(easy[0].moves).toEqual(['tier medium → hard']);
  });

  it('refuses a rewrite that would overlap another stream, and takes the next move that does not', () => {
    const f = { id: 'r/i#critic:grounded', runId: 'r', itemId: 'i', kind: 'critic:grounded', role: 'scriptwriter' as const, summary: '' };
    const me = pair({ tier: 'hard', taskKind: 'multi-intent', toolPatterns: ['write:create_task', 'write:update_task_status'] });
    // Another stream already holds the medium multi-intent plan: tier hard → medium would collide, and
    // so would one write pattern fewer (distance 0.15 + 0.075 < 0.25); a single-write task does not.
    const other = { ...me.synthesis, tier: 'medium' as const };
    expect(rewriteCandidates(me, [f], 0, 1).map((c) => c.moves[0])).toEqual(['tier hard → medium', 'patterns − write:update_task_status', 'kind multi-intent → write']);
    const r = rewritePair(me, [f], { passed: 0, items: 1, others: [other], entities });
    expect(r.rewrite!.moves).toEqual(['kind multi-intent → write']);
    const none = rewritePair(me, [f], { passed: 0, items: 1, others: [other, { ...me.synthesis, taskKind: 'write' }], entities });
    expect(none.rewrite).toBeNull();
    expect(none.reason).toMatch(/overlaps another stream/);
  });
});
