// The study's plumbing on a tiny random model (bench/study, scale `tiny`): every stage — synthesis
// with the society (oracle agent, a stub user that stops), the held-out file, the training data,
// SFT / unverified SFT / GRPO with and without filtering / user-SFT, τ² evaluation and next-call
// match, statistics and the report — on a handful of items. Then the report's numbers are checked
// against the stored per-arm evaluations: recomputed from eval/*/seed*/eval.json they must equal
// results.json, and every metric and comparison row of report.md must be the one those numbers give.
// The numbers themselves mean nothing (a random model); this is the test that the study can run.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import '../helpers/tau2.ts';
import { runStudy } from '../../bench/study/run.ts';
import { aggregate, comparisonRow, metricRow, type StudyNumbers } from '../../bench/study/report.ts';
import { ALL_ARMS, UNTRAINED } from '../../bench/study/scales.ts';
import type { ArmEval } from '../../bench/study/pipeline.ts';

const out = mkdtempSync(join(tmpdir(), 'troupe-study-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('study plumbing (tiny random model)', () => {
  it('runs every stage and the report says what the stored results say', async () => {
    const r = await runStudy({ scale: 'tiny', out, log: () => {} });
    const res = r.results as unknown as StudyNumbers & { errors: string[]; heldout: { base: { taskIds: string[] }; synth: { taskIds: string[] } }; data: { verified: number }; scale: { seeds: number[] } };
    // A random model solves no task, so no GRPO group has varying rewards: both GRPO arms train
    // nothing, and that is an error the report lists (never a "trained" arm with unchanged weights).
    const GRPO = ['grpo-filter', 'grpo-nofilter'];
    expect(res.errors.length).toBe(GRPO.length * res.scale.seeds.length);
    for (const e of res.errors) expect(e).toMatch(/^grpo-(filter|nofilter) seed \d+: Error: GRPO trained nothing: all 1 step\(s\) were skipped/);
    expect(existsSync(join(out, 'heldout.json'))).toBe(true);
    expect(res.heldout.base.taskIds.length).toBeGreaterThan(0);
    expect(res.data.verified).toBeGreaterThan(0);

    // Every arm evaluated, trained arms with every seed.
    const evals: ArmEval[] = [];
    for (const arm of ALL_ARMS) {
      if (GRPO.includes(arm)) {
        expect(existsSync(join(out, 'eval', arm)), arm).toBe(false);
        continue;
      }
      const seeds = readdirSync(join(out, 'eval', arm));
      expect(seeds.length, arm).toBe(UNTRAINED.has(arm) ? 1 : res.scale.seeds.length);
      for (const s of seeds) evals.push(JSON.parse(readFileSync(join(out, 'eval', arm, s, 'eval.json'), 'utf8')));
    }
    const protocol = JSON.parse(readFileSync(join(__dirname, '../../bench/study/protocol.json'), 'utf8'));
    const again = aggregate(evals, { seeds: res.scale.seeds, untrained: UNTRAINED, comparisons: protocol.tests.comparisons });
    expect(again.metrics).toEqual(res.metrics);
    expect(again.comparisons).toEqual(res.comparisons);
    // Every pre-registered comparison whose arms both ran is there, on every metric both arms have.
    const ran = (x: string) => !GRPO.includes(x);
    expect(new Set(res.comparisons.map((c) => `${c.a}|${c.b}`))).toEqual(new Set(protocol.tests.comparisons.filter(([a, b]: string[]) => ran(a) && ran(b)).map(([a, b]: string[]) => `${a}|${b}`)));

    const md = readFileSync(r.reportPath, 'utf8');
    for (const [, arms] of Object.entries(res.metrics)) for (const [arm, m] of Object.entries(arms)) expect(md).toContain(metricRow(arm, m));
    for (const c of res.comparisons) expect(md).toContain(comparisonRow(c));
    // The interval brackets the estimate; pass rates are rates.
    for (const arms of Object.values(res.metrics)) for (const m of Object.values(arms)) {
      expect(m.interval.lo).toBeLessThanOrEqual(m.interval.estimate + 1e-12);
      expect(m.interval.hi).toBeGreaterThanOrEqual(m.interval.estimate - 1e-12);
      expect(m.interval.estimate).toBeGreaterThanOrEqual(0);
      expect(m.interval.estimate).toBeLessThanOrEqual(1);
    }
    expect(md).toMatch(/oracle agent\), not a model/);
    // The task-shape table accounts for every training task (rl_tasks.jsonl) and every held-out
    // synthesized task, once each.
    const shapeRows = md.split('### Task shapes')[1].split('###')[0].split('\n').filter((l) => /^\| (?!shape|---)/.test(l)).map((l) => l.split('|').map((c) => c.trim()));
    const rlTasks = readFileSync(join(out, 'data', 'rl_tasks.jsonl'), 'utf8').split('\n').filter(Boolean).length;
    expect(shapeRows.reduce((n, c) => n + Number(c[2]), 0)).toBe(rlTasks);
    expect(shapeRows.reduce((n, c) => n + Number(c[3]), 0)).toBe(res.heldout.synth.taskIds.length);
    expect(md).toContain('### Arms that failed to run');
    expect(md).toMatch(/- grpo-nofilter seed 1: Error: GRPO trained nothing/);

    // Resumable: a second run finds everything cached and changes no number.
    const t0 = Date.now();
    // (Without the GRPO arms, which a rerun would retry: they failed.)
    const r2 = await runStudy({ scale: 'tiny', out, arms: ALL_ARMS.filter(ran), log: () => {} });
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect((r2.results as unknown as StudyNumbers).metrics).toEqual(res.metrics);
    // The GRPO failures were recorded beside their arms: the second process's report still lists them.
    expect(readFileSync(r2.reportPath, 'utf8')).toMatch(/- grpo-nofilter seed 1: Error: GRPO trained nothing/);
  }, 600_000);
});
