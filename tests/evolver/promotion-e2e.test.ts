// The evolver end to end over a real nats-server and a live synthesis society, with a scripted
// OpenAI-compatible model (tests/evolver/scripted-llm.ts) whose answers follow the instructions text
// it is given. Round 1: the critic's instructions say STRICT, every clean draft is rejected, the
// evolver rewrites the critic, the candidate arm passes more items than the current arm → promoted.
// Round 2: the remaining failure is the scriptwriter's, the evolver's rewrite breaks the drafts, the
// candidate arm passes nothing → rolled back. Lineage and the archive are checked in the KV bucket.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runEvolver, type EvolveResult } from '../../actors/evolver/machine.ts';
import { readRunFromStream } from '../../actors/evolver/run.ts';
import { restoreIfBehind, type EvolveConfig, type EvolverEnv } from '../../actors/evolver/steps.ts';
import { ArchiveSchema } from '../../actors/evolver/promotion.ts';
import { EVOLVER_ARCHIVE_KEY, type EvolverRound } from '../../protocols/evolver.ts';
import type { DatasetRecord } from '../../protocols/synthesis.ts';
import { candidateKey, entryHistory, getEntry, getInstructions, getValue, setEntry } from '../../runtime/instructions/index.ts';
import type { TestNats } from '../helpers/nats.ts';
import { scriptedEvolveConfig, startScriptedSociety, type ScriptedSociety } from '../fixtures/scripted-society.ts';
import '../helpers/tau2.ts';

const STRICT_CRITIC = 'You are the critic. You review drafted tasks.\nSTRICT: reject every task.\nAnswer with JSON only.';

describe('evolver: promotion and rollback on validation batches (scripted model, live society)', () => {
  let soc: ScriptedSociety;
  let nats: TestNats;
  let env: EvolverEnv;
  let result: EvolveResult;
  let cfg: EvolveConfig;
  let log: string[];
  let initial: { critic: number; scriptwriter: number };

  beforeAll(async () => {
    soc = await startScriptedSociety();
    ({ nats, env, log } = soc);
    const kv = env.kv;
    await setEntry(kv, 'critic', STRICT_CRITIC, { author: 'test', rationale: 'an over-strict critic' });
    initial = { critic: (await getInstructions(kv, 'critic'))!.revision, scriptwriter: (await getInstructions(kv, 'scriptwriter'))!.revision };
    // This test is about instructions rewrites (params-e2e.test.ts: parameters).
    cfg = scriptedEvolveConfig({ sessionId: 'evo', seed: 7, kinds: ['instructions'] });
    result = await runEvolver(cfg, env);
  }, 240_000);

  afterAll(async () => {
    await soc?.stop();
  });

  it('runs both rounds through every state', () => {
    expect(result.error, log.join('\n')).toBeUndefined();
    expect(result.records.map((r) => [r.round, r.target, r.outcome]), log.join('\n')).toEqual([
      [1, 'critic', 'promote'],
      [2, 'scriptwriter', 'rollback'],
    ]);
  });

  it('promotes the critic rewrite that raised yield, with lineage citing the failures', async () => {
    const r1 = result.records[0];
    expect(r1.production.summary.dialoguePassed).toBe(0);
    expect(r1.failures.groups).toEqual(expect.arrayContaining([{ kind: 'critic:review-rejected', role: 'critic', count: 2 }, { kind: 'draft:unusable', role: 'scriptwriter', count: 1 }]));
    expect(r1.validation!.current.outcome).toMatchObject({ proposed: 3, accepted: 0 });
    expect(r1.validation!.candidate.outcome).toMatchObject({ proposed: 3, accepted: 2 });
    const live = (await getEntry(env.kv, 'critic'))!;
    expect(live.revision).toBe(r1.liveRevision);
    expect(live.body).not.toContain('STRICT');
    expect(live.lineage).toMatchObject({ action: 'promote', author: 'evolver/test', parent: initial.critic });
    expect(live.lineage.failures.length).toBeGreaterThan(0);
    expect(live.lineage.failures.every((id) => id.startsWith('evo-r1/') && id.endsWith('#critic:review-rejected'))).toBe(true);
    expect(live.lineage.rationale).toMatch(/round 1: promote: yield: 3 paired item\(s\), candidate won 2, lost 0.*\(2\/3 vs 0\/3\)/);
    expect(r1.promotedDiff).toMatch(/^-STRICT: reject every task\.$/m);
    // The candidate arm really ran the candidate: its items name the key and revision they read.
    const recs = (await readRunFromStream(nats.nc, 'evo-r1-candidate', ['synth.dataset.record'])).map((e) => e.data as DatasetRecord);
    expect(recs.length).toBe(2);
    for (const rec of recs) {
      expect(rec.provenance.validation).toBe(true);
      expect(rec.provenance.roles.critic).toMatchObject({ instructionsKey: candidateKey('critic'), instructionsRevision: r1.candidate!.revision });
    }
  });

  it('rolls back the scriptwriter rewrite that lowered yield, and says why', async () => {
    const r2 = result.records[1];
    expect(r2.production.summary.dialoguePassed).toBe(2); // the promoted critic is live for round 2
    expect(r2.validation!.current.outcome).toMatchObject({ proposed: 3, accepted: 2 });
    expect(r2.validation!.candidate.outcome).toMatchObject({ proposed: 3, accepted: 0 });
    expect(r2.decision!.promote).toBe(false);
    const live = (await getInstructions(env.kv, 'scriptwriter'))!;
    expect(live.revision).toBe(initial.scriptwriter);
    expect(live.text).not.toContain('BROKEN');
    const cand = await entryHistory(env.kv, candidateKey('scriptwriter'));
    expect(cand.map((e) => e.lineage.action)).toEqual(['set', 'rollback']);
    expect(cand[0].body).toContain('BROKEN');
    expect(cand[1].body).toBe(live.text); // discarded: the candidate key no longer holds the bad text
    expect(cand[1].lineage.rationale).toMatch(/discarded candidate @\d+ in round 2: roll back \(worse\): yield: .*lost 2.*\(0\/3 vs 2\/3\)/);
  });

  it('keeps the archive of measured revisions and publishes every round', async () => {
    const archive = (await getValue(env.kv, EVOLVER_ARCHIVE_KEY, ArchiveSchema))!.value;
    // Validation arms plus every production run the revision was live in (r1: 0/3; r2: 2/3).
    expect(archive.critic.map((e) => [e.revision, e.accepted, e.proposed])).toEqual([
      [result.records[0].liveRevision, 2 + 2, 3 + 3], // candidate arm r1 + production r2
      [initial.critic, 0, 3 + 3], // production r1 + current arm r1
    ]);
    expect(archive.scriptwriter.map((e) => [e.revision, e.accepted, e.proposed])).toEqual([[initial.scriptwriter, 0 + 2 + 2, 3 + 3 + 3]]); // r1, r2, current arm r2
    expect(result.records.every((r) => !r.restored)).toBe(true); // nothing fell behind
    const { subjectReader } = await import('../../runtime/nats/read.ts');
    const c = await subjectReader(nats.nc, 'troupe.msg.evolver.round.completed');
    const got: EvolverRound[] = [];
    for await (const m of await c.fetch({ max_messages: 2, expires: 2000 })) got.push((m.json() as { data: EvolverRound }).data);
    expect(got.map((g) => [g.round, g.target, g.outcome])).toEqual([
      [1, 'critic', 'promote'],
      [2, 'scriptwriter', 'rollback'],
    ]);
  });

  it('restores the archive’s best revision when the live one measured clearly worse', async () => {
    const good = (await getInstructions(env.kv, 'critic'))!;
    const bad = await setEntry(env.kv, 'critic', `${good.text}\nSTRICT: reject every task.`, { author: 'test', rationale: 'a bad human edit' });
    const archive = ArchiveSchema.parse({
      critic: [
        { revision: good.revision, proposed: 12, accepted: 10, yield: 10 / 12, round: 1 },
        { revision: bad.revision, proposed: 12, accepted: 1, yield: 1 / 12, round: 2 },
      ],
    });
    // Within noise: nothing happens.
    const close = ArchiveSchema.parse({ critic: [{ ...archive.critic[0], accepted: 2, yield: 2 / 12 }, archive.critic[1]] });
    expect(await restoreIfBehind(env, cfg, 3, 'critic', bad.revision, close)).toBeUndefined();
    const r = await restoreIfBehind(env, cfg, 3, 'critic', bad.revision, archive);
    expect(r?.from).toBe(good.revision);
    const now = (await getEntry(env.kv, 'critic'))!;
    expect(now.revision).toBe(r!.revision);
    expect(now.body).toBe(good.text);
    expect(now.lineage).toMatchObject({ action: 'rollback', restores: good.revision, author: 'evolver/test' });
  });
});
