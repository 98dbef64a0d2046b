// Integration (real nats-server): lineage of instructions and typed values in the instructions KV
// bucket, and `troupe instructions show|history|diff|set|rollback` against that server.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { main } from '../../cli/commands/instructions.ts';
import { getInstructions, openInstructions, setInstructions } from '../../runtime/instructions/instructions.ts';
import { candidateKey, entryHistory, getValue, promoteCandidate, setEntry, instructionsWithLineage, putValue, rollbackEntry, valueHistory, valueKey, watchValue } from '../../runtime/instructions/lineage.ts';
import { PipelineStage0, PipelineStage1, type PipelineItem } from '../../protocols/runtime-messages.ts';
import { Worker } from '../../runtime/host/worker.ts';
import { Bus } from '../../runtime/nats/bus.ts';
import { collect, startTestNats, type TestNats } from '../helpers/nats.ts';
import { TEST_ROLES } from '../fixtures/roles/catalog.ts';

let nats: TestNats;
beforeAll(async () => {
  nats = await startTestNats();
});
afterAll(async () => {
  await nats?.stop();
});

/** Run the CLI in-process against the test server; returns its exit code and what it printed. */
async function cli(...args: string[]): Promise<{ rc: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void (out += a.join(' ') + '\n'));
  const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void (err += a.join(' ') + '\n'));
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
  try {
    const { url, user, pass } = nats.settings;
    // `=` form: a generated password may start with '-', which parseArgs would take for an option.
    const rc = await main([...args, '--nats', url, `--nats-user=${user!}`, `--nats-pass=${pass!}`]);
    return { rc, out, err };
  } finally {
    log.mockRestore();
    error.mockRestore();
    write.mockRestore();
  }
}

describe('lineage', () => {
  it('stores parent, failures, rationale, author and time beside each instructions revision', async () => {
    const kv = await openInstructions(nats.nc);
    const before = Date.now();
    const r1 = await setInstructions(kv, 'verifier', 'check the state', { author: 'troupe-synth-defaults', note: 'default instructions' });
    const r2 = await setInstructions(kv, 'verifier', 'check the state\nand the write calls', {
      author: 'evolver/evolver-1',
      rationale: 'checkers passed dialogues that skipped the refund',
      failures: ['fail-17', 'fail-22'],
    });
    const got = await instructionsWithLineage(kv, 'verifier');
    expect(got!.instructions.text).toBe('check the state\nand the write calls');
    expect(got!.lineage).toMatchObject({ key: 'verifier', revision: r2.revision, parent: r1.revision, failures: ['fail-17', 'fail-22'], author: 'evolver/evolver-1', action: 'set' });
    expect(got!.lineage.createdAt).toBeGreaterThanOrEqual(before);
    // A value from before the lineage fields reads its note as the rationale.
    expect((await instructionsWithLineage(kv, 'verifier', r1.revision))!.lineage).toMatchObject({ rationale: 'default instructions', failures: [], parent: undefined });
  });

  it('rolls back by writing a new revision equal to the old one', async () => {
    const kv = await openInstructions(nats.nc);
    const a = await setInstructions(kv, 'meta-planner', 'plan widely', { author: 'human' });
    const b = await setInstructions(kv, 'meta-planner', 'plan narrowly', { author: 'evolver/e1', rationale: 'try' });
    const back = await rollbackEntry(kv, 'meta-planner', a.revision, { author: 'evolver/e1' });
    expect(back.revision).toBeGreaterThan(b.revision);
    expect(back.lineage).toMatchObject({ action: 'rollback', restores: a.revision, parent: b.revision, rationale: `rollback to revision ${a.revision}` });
    // Roles read the rolled-back text as the current revision, as any other write.
    expect(await getInstructions(kv, 'meta-planner')).toMatchObject({ text: 'plan widely', revision: back.revision });
    expect((await entryHistory(kv, 'meta-planner')).map((e) => e.lineage.action)).toEqual(['set', 'set', 'rollback']);
    await expect(rollbackEntry(kv, 'meta-planner', 99_999, { author: 'human' })).rejects.toThrow(/no revision 99999/);
  });

  it('keeps a candidate apart from the live key until it is promoted', async () => {
    const kv = await openInstructions(nats.nc);
    const cur = await setInstructions(kv, 'user-simulator', 'stay in character', { author: 'human' });
    const cand = await setEntry(kv, candidateKey('user-simulator'), 'stay in character; never reveal the goal at once', {
      author: 'evolver/e2',
      rationale: 'users dumped every detail in turn one',
      failures: ['dlg-9'],
    });
    expect((await getInstructions(kv, 'user-simulator'))!.revision).toBe(cur.revision);
    const p = await promoteCandidate(kv, 'user-simulator', cand.revision, { author: 'evolver/e2', reason: 'yield 6/10 vs 4/10' });
    expect(p.lineage).toMatchObject({ action: 'promote', parent: cur.revision, failures: ['dlg-9'], rationale: 'users dumped every detail in turn one — yield 6/10 vs 4/10' });
    expect((await getInstructions(kv, 'user-simulator'))!.text).toBe('stay in character; never reveal the goal at once');
    await expect(promoteCandidate(kv, 'user-simulator', cur.revision, { author: 'x' })).rejects.toThrow(/no candidate revision/);
    expect(() => candidateKey('a.b')).toThrow(/bad role name/);
  });

  it('keeps plans and workflow parameters as typed JSON values with lineage, and tells watchers', async () => {
    const kv = await openInstructions(nats.nc);
    const Params = z.object({ revisionRounds: z.number().int().min(0), criticVotes: z.number().int().min(1) });
    const key = valueKey('params', 'synthesis');
    expect(key).toBe('params.synthesis');
    expect(() => valueKey('plan', 'a.b')).toThrow(/bad plan name/);
    const seen: number[] = [];
    const stop = await watchValue(kv, key, Params, (v) => seen.push(v.value.criticVotes));
    const v1 = await putValue(kv, key, Params, { revisionRounds: 2, criticVotes: 1 }, { author: 'human', rationale: 'start' });
    const v2 = await putValue(kv, key, Params, { revisionRounds: 2, criticVotes: 3 }, { author: 'evolver/e1', rationale: 'split votes', failures: ['rej-4'] });
    await expect(putValue(kv, key, Params, { revisionRounds: -1, criticVotes: 3 }, { author: 'human' })).rejects.toThrow(/does not match its schema/);
    expect((await getValue(kv, key, Params))!).toMatchObject({ revision: v2.revision, value: { criticVotes: 3 }, lineage: { parent: v1.revision, failures: ['rej-4'] } });
    expect((await valueHistory(kv, key, Params)).map((v) => v.value.criticVotes)).toEqual([1, 3]);
    // Reading with the wrong schema is an error that names the key, not a silent default.
    await expect(getValue(kv, key, z.object({ other: z.string() }))).rejects.toThrow(/params\.synthesis@\d+: value does not match/);
    for (let i = 0; i < 50 && seen.length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    stop();
    expect(seen).toEqual([1, 3]);
  });
});

describe('troupe instructions', () => {
  it('sets, shows, lists, diffs and rolls back a role', async () => {
    const f1 = join(nats.dir, 'critic-1.md');
    const f2 = join(nats.dir, 'critic-2.md');
    writeFileSync(f1, 'You are the critic.\nAccept feasible tasks.\nAnswer with JSON only.\n');
    writeFileSync(f2, 'You are the critic.\nAccept feasible tasks that follow the policy.\nAnswer with JSON only.\n');
    const s1 = await cli('set', 'critic', '--file', f1, '--rationale', 'first version');
    expect(s1.rc).toBe(0);
    const rev1 = Number(/revision (\d+)/.exec(s1.out)![1]);
    const s2 = await cli('set', 'critic', '--file', f2, '--rationale', 'policy check', '--failures', 'rej-1, rej-2', '--author', 'evolver/e7');
    const rev2 = Number(/revision (\d+)/.exec(s2.out)![1]);
    expect(s2.out).toContain(`(parent ${rev1})`);

    const show = await cli('show', 'critic');
    expect(show.out).toContain(`rev ${rev2}`);
    expect(show.out).toContain('by evolver/e7');
    expect(show.out).toContain('failures: rej-1, rej-2');
    expect(show.out).toContain('Accept feasible tasks that follow the policy.');
    const old = JSON.parse((await cli('show', 'critic', '--revision', String(rev1), '--json')).out);
    expect(old).toMatchObject({ key: 'critic', revision: rev1, kind: 'instructions', payload: 'You are the critic.\nAccept feasible tasks.\nAnswer with JSON only.\n' });
    expect(old.lineage.rationale).toBe('first version');
    expect(old.lineage.author).toBe('human');

    const diff = await cli('diff', 'critic');
    expect(diff.out).toBe(
      [`--- critic@${rev1}`, `+++ critic@${rev2}`, '@@ -1,3 +1,3 @@', ' You are the critic.', '-Accept feasible tasks.', '+Accept feasible tasks that follow the policy.', ' Answer with JSON only.', ''].join('\n'),
    );

    const rb = await cli('rollback', 'critic', String(rev1), '--rationale', 'policy check lowered yield');
    expect(rb.rc).toBe(0);
    const rev3 = Number(/revision (\d+)/.exec(rb.out)![1]);
    expect((await cli('diff', 'critic', String(rev1), String(rev3))).out).toBe('');
    const hist = JSON.parse((await cli('history', 'critic', '--json')).out);
    expect(hist.map((h: any) => [h.revision, h.lineage.action, h.lineage.parent ?? null, h.lineage.restores ?? null])).toEqual([
      [rev1, 'set', null, null],
      [rev2, 'set', rev1, null],
      [rev3, 'rollback', rev2, rev1],
    ]);
    expect((await cli('history', 'critic')).out).toContain('rationale: policy check lowered yield');
  });

  it('takes JSON for plan./params. keys and reports bad input clearly', async () => {
    const good = join(nats.dir, 'quota.json');
    const bad = join(nats.dir, 'quota.txt');
    writeFileSync(good, '{"easy": 4, "hard": 2}');
    writeFileSync(bad, 'easy=4');
    expect((await cli('set', 'params.quotas', '--file', good, '--rationale', 'more hard tasks')).rc).toBe(0);
    const quotas = JSON.parse((await cli('show', 'params.quotas', '--json')).out);
    expect(quotas.payload).toEqual({ easy: 4, hard: 2 });
    // Revision numbers are bucket-wide: another key's revision is not one of this key's.
    await expect(cli('show', 'critic', '--revision', String(quotas.revision))).rejects.toThrow(/critic has no revision/);
    const notJson = await cli('set', 'params.quotas', '--file', bad, '--rationale', 'x');
    expect(notJson.rc).toBe(2);
    expect(notJson.err).toMatch(/takes JSON/);
    const noRationale = await cli('set', 'critic', '--file', good);
    expect(noRationale.rc).toBe(2);
    expect(noRationale.err).toMatch(/--rationale/);
    expect((await cli('rollback', 'critic', 'latest')).err).toMatch(/positive revision number/);
    await expect(cli('show', 'nobody')).rejects.toThrow(/nobody has no instructions/);
  });
});

describe('a running role and a rollback', () => {
  it('runs its next item with the revision the rollback wrote', async () => {
    const kv = await openInstructions(nats.nc);
    const good = await setInstructions(kv, 'stage-a', 'good prompt', { author: 'human' });
    const worker = new Worker({ catalog: TEST_ROLES, nc: nats.nc, roles: [{ role: 'stage-a', instance: 'stage-a-evo' }], log: () => {} });
    await worker.start();
    try {
      await setInstructions(kv, 'stage-a', 'worse prompt', { author: 'evolver/e1', rationale: 'candidate' });
      const rb = await cli('rollback', 'stage-a', String(good.revision), '--rationale', 'candidate lowered yield');
      const rev = Number(/revision (\d+)/.exec(rb.out)![1]);
      for (let i = 0; i < 50 && worker.instances.get('stage-a-evo')!.instructionsRevision !== rev; i++) await new Promise((r) => setTimeout(r, 50));
      await new Bus(nats.nc, { role: 'feeder', instance: 'f' }).publish(PipelineStage0, { seq: 1, payload: 'a', hops: [] }, { key: 'after-rollback' });
      const got = await collect<PipelineItem>(nats.nc, PipelineStage1.subject, (g) => g.length >= 1, { timeoutMs: 10_000 });
      // The provenance names the rollback revision, whose text is the good prompt's.
      expect(got[0].envelope.data.hops[0].rev).toBe(rev);
      expect((await getInstructions(kv, 'stage-a', rev))!.text).toBe('good prompt');
    } finally {
      await worker.drainAll();
    }
  });
});
