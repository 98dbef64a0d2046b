// The evolver's parameter revisions end to end, over a real nats-server and a live synthesis society
// with the scripted model (tests/evolver/scripted-llm.ts). The critic asks for one revision of every
// first draft (REVISE-ONCE) but the run allows none, so round 1's failures are
// `critic:revise-exhausted`: the rule proposes params.critic maxRevisions 0 → 2, the candidate arm
// (overrides.params.critic = candidate.params-critic) passes more items → promoted into params.critic.
// Round 2's failure is the scriptwriter's malformed answer: the rule proposes maxTokens 400 → 600,
// which makes this scriptwriter ramble (RAMBLES) → the candidate arm passes nothing → rolled back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runEvolver, type EvolveResult } from '../../actors/evolver/machine.ts';
import { readRunFromStream } from '../../actors/evolver/run.ts';
import type { EvolveConfig, EvolverEnv } from '../../actors/evolver/steps.ts';
import { ArchiveSchema } from '../../actors/evolver/promotion.ts';
import { evolveReportMarkdown } from '../../cli/drivers/evolve/report.ts';
import { EVOLVER_ARCHIVE_KEY, type EvolverRound } from '../../protocols/evolver.ts';
import { SynthRoleParamsSchema, type DatasetRecord } from '../../protocols/synthesis.ts';
import { candidateParamsKey, entryHistory, getEntry, getInstructions, getValue, setEntry } from '../../runtime/instructions/index.ts';
import type { TestNats } from '../helpers/nats.ts';
import type { ScriptedLlm } from './scripted-llm.ts';
import { scriptedEvolveConfig, startScriptedSociety, type ScriptedSociety } from '../fixtures/scripted-society.ts';
import '../helpers/tau2.ts';

const CRITIC = 'You are the critic. You review drafted tasks.\nREVISE-ONCE: ask for one revision of every first draft.\nAnswer with JSON only.';

describe('evolver: workflow-parameter revisions promoted and rolled back (scripted model, live society)', () => {
  let soc: ScriptedSociety;
  let nats: TestNats;
  let llm: ScriptedLlm;
  let env: EvolverEnv;
  let result: EvolveResult;
  let log: string[];

  beforeAll(async () => {
    soc = await startScriptedSociety();
    ({ nats, llm, env, log } = soc);
    const kv = env.kv;
    await setEntry(kv, 'critic', CRITIC, { author: 'test', rationale: 'a critic that always wants one revision' });
    const sw = (await getInstructions(kv, 'scriptwriter'))!;
    await setEntry(kv, 'scriptwriter', `${sw.text}\nRAMBLES`, { author: 'test', rationale: 'a scriptwriter that rambles when given room' });
    const cfg: EvolveConfig = scriptedEvolveConfig({ sessionId: 'evp', seed: 11, kinds: ['instructions', 'params'] });
    result = await runEvolver(cfg, env);
  }, 240_000);

  afterAll(async () => {
    await soc?.stop();
  });

  it('proposes parameter revisions by rule, without asking the evolver model', () => {
    expect(result.error, log.join('\n')).toBeUndefined();
    expect(result.records.map((r) => [r.round, r.target, r.kind, r.outcome]), log.join('\n')).toEqual([
      [1, 'critic', 'params', 'promote'],
      [2, 'scriptwriter', 'params', 'rollback'],
    ]);
    expect(llm.calls.instructions_rewrite ?? 0).toBe(0);
  });

  it('promotes critic maxRevisions 0 → 2 into params.critic with lineage, and shows its JSON diff', async () => {
    const r1 = result.records[0];
    expect(r1.failures.groups).toEqual(expect.arrayContaining([{ kind: 'critic:revise-exhausted', role: 'critic', count: 2 }]));
    expect(r1.candidate).toMatchObject({ kind: 'params', key: 'params.critic', rule: expect.stringContaining('maxRevisions') });
    expect(r1.validation!.current.outcome).toMatchObject({ proposed: 3, accepted: 0 });
    expect(r1.validation!.candidate.outcome).toMatchObject({ proposed: 3, accepted: 2 });
    const live = (await getValue(env.kv, 'params.critic', SynthRoleParamsSchema))!;
    expect(live.value).toEqual({ maxRevisions: 2 });
    expect(live.revision).toBe(r1.liveRevision);
    expect(live.lineage).toMatchObject({ action: 'promote', author: 'evolver/test', parent: r1.candidate!.parent });
    expect(live.lineage.failures.length).toBe(2);
    expect(live.lineage.failures.every((id) => id.startsWith('evp-r1/') && id.endsWith('#critic:revise-exhausted'))).toBe(true);
    expect(live.lineage.rationale).toMatch(/round 1: promote: yield: 3 paired item\(s\), candidate won 2, lost 0.*\(2\/3 vs 0\/3\)/);
    // The parent is the defaults ({}) the evolver wrote before its first revision of the key.
    expect((await getEntry(env.kv, 'params.critic', r1.candidate!.parent))!.payload).toEqual({});
    expect(r1.promotedDiff).toMatch(/^\+\s+"maxRevisions": 2$/m);
    // The candidate arm's items read the candidate key, and really revised (round 1 of the critic).
    const recs = (await readRunFromStream(nats.nc, 'evp-r1-candidate', ['synth.dataset.record'])).map((e) => e.data as DatasetRecord);
    expect(recs.length).toBe(2);
    for (const rec of recs) expect(rec.provenance.roles.critic).toMatchObject({ paramsKey: candidateParamsKey('critic'), paramsRevision: r1.candidate!.revision });
    // Round 2's production ran on the promoted parameters.
    expect(result.records[1].production.summary.dialoguePassed).toBe(2);
  });

  it('rolls back scriptwriter maxTokens 400 → 600 that lowered yield, and does not keep it waiting', async () => {
    const r2 = result.records[1];
    expect(r2.candidate).toMatchObject({ kind: 'params', key: 'params.scriptwriter' });
    expect(r2.validation!.current.outcome).toMatchObject({ proposed: 3, accepted: 2 });
    expect(r2.validation!.candidate.outcome).toMatchObject({ proposed: 3, accepted: 0 });
    expect((await getValue(env.kv, 'params.scriptwriter', SynthRoleParamsSchema))!.value).toEqual({});
    const cand = await entryHistory(env.kv, candidateParamsKey('scriptwriter'));
    expect(cand.map((e) => [e.lineage.action, e.payload])).toEqual([
      ['set', { maxTokens: 600 }],
      ['rollback', {}],
    ]);
    expect(cand[1].lineage.rationale).toMatch(/discarded candidate @\d+ in round 2: roll back \(worse\): yield: .*lost 2.*\(0\/3 vs 2\/3\)/);
  });

  it('archives parameter revisions, publishes the kind, and names it in the report', async () => {
    const archive = (await getValue(env.kv, EVOLVER_ARCHIVE_KEY, ArchiveSchema))!.value;
    const [r1] = result.records;
    // params.critic: promoted revision (candidate arm r1 2/3 + production r2 2/3), defaults (current arm r1 0/3).
    expect(archive['params.critic'].map((e) => [e.revision, e.accepted, e.proposed])).toEqual([
      [r1.liveRevision, 4, 6],
      [r1.candidate!.parent, 0, 3],
    ]);
    const { subjectReader } = await import('../../runtime/nats/read.ts');
    const c = await subjectReader(nats.nc, 'troupe.msg.evolver.round.completed');
    const got: EvolverRound[] = [];
    for await (const m of await c.fetch({ max_messages: 2, expires: 2000 })) got.push((m.json() as { data: EvolverRound }).data);
    expect(got.map((g) => [g.round, g.kind, g.key, g.outcome])).toEqual([
      [1, 'params', 'params.critic', 'promote'],
      [2, 'params', 'params.scriptwriter', 'rollback'],
    ]);
    const md = evolveReportMarkdown({ sessionId: 'evp', domain: 'mock', rounds: 2, plans: 3, tasksPerPlan: 1, validationSize: 3, evolve: true, models: {}, startedAt: 0, endedAt: 1000 }, result.records);
    expect(md).toContain('| critic | params (params.critic) | promote |');
    expect(md).toContain('Promoted parameters (JSON diff):');
  });
});
