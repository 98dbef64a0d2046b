// `troupe evolve --domain mock --rounds 2` end to end with the real local default model
// (SmolLM2-135M through the embedded model server) in every LLM role and as the evolver; the agent
// is the oracle harness (fast dialogues). Kept as small as the command allows: 1 plan × 1 task per
// round, 1 item per validation arm. Checks the exit, the per-round curves and the round records.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { TAU2_DATA } from '../helpers/tau2.ts';
import { defaultModelFile } from '../helpers/model.ts';
import { natsServerAvailable } from '../../runtime/nats/embedded.ts';

const out = mkdtempSync(join(tmpdir(), 'troupe-evolve-cli-'));

function troupe(args: string[], timeoutMs: number): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['bin/troupe.js', ...args], { env: { ...process.env, TAU2_DATA_DIR: TAU2_DATA }, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    p.stdout.on('data', (d) => (text += d));
    p.stderr.on('data', (d) => (text += d));
    const timer = setTimeout(() => p.kill('SIGTERM'), timeoutMs);
    p.on('close', (code) => (clearTimeout(timer), resolve({ code, out: text })));
  });
}

describe('troupe evolve (real local model)', () => {
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('rejects bad options with a clear message', async () => {
    expect((await troupe(['evolve'], 30_000)).out).toMatch(/--domain is required/);
    expect((await troupe(['evolve', '--domain', 'mock', '--rounds', '0'], 30_000)).out).toMatch(/--rounds must be an integer ≥ 1/);
    expect((await troupe(['evolve', '--domain', 'mock', '--roles', 'actor'], 30_000)).out).toMatch(/"actor" is not a role the evolver rewrites/);
    expect((await troupe(['evolve', '--domain', 'mock', '--kinds', 'plans'], 30_000)).out).toMatch(/--kinds: "plans" is not a proposal kind/);
    expect((await troupe(['synth', '--domain', 'mock', '--rounds', '2'], 30_000)).out).toMatch(/need --evolve/);
    // synth --evolve is the evolve command (its checks answer).
    expect((await troupe(['synth', '--evolve', '--domain', 'mock', '--rounds', '0'], 30_000)).out).toMatch(/--rounds must be an integer ≥ 1/);
  }, 120_000);

  it('runs 2 rounds end to end and writes the per-round curves', async () => {
    if (!process.env.TROUPE_LOCAL_MODEL) defaultModelFile();
    if (!natsServerAvailable()) throw new Error('nats-server is missing: install it (apt-get install nats-server)');
    const r = await troupe(
      ['evolve', '--domain', 'mock', '--rounds', '2', '--plans', '1', '--tasks-per-plan', '1', '--validation-size', '1', '--roles-config', 'tests/evolver/fixtures/oracle-roles.json', '--timeout-min', '4', '--out', out],
      480_000,
    );
    expect(r.code, r.out.slice(-4000)).toBe(0);
    expect(r.out).toMatch(/\[evolve\] round 1: produce/);
    expect(r.out).toMatch(/\[evolve\] round 2: collectFailures/);
    for (const f of ['report.md', 'yield.svg', 'funnel.svg', 'blame.svg', 'tokens.svg', 'rounds.json']) expect(existsSync(join(out, f)), f).toBe(true);
    const info = JSON.parse(readFileSync(join(out, 'rounds.json'), 'utf8'));
    expect(info.models.evolver).toBe('local');
    expect(info.rounds.map((x: { round: number }) => x.round)).toEqual([1, 2]);
    for (const round of info.rounds) {
      expect(round.production.summary.terminal).toBe(1); // the item ended; the funnel adds up
      expect(round.production.summary.tokens.prompt).toBeGreaterThan(0); // the real model ran
      expect(round.plans.length).toBe(1);
      expect(['promote', 'rollback', 'no-candidate', 'no-failures']).toContain(round.outcome);
      if (round.outcome === 'promote' || round.outcome === 'rollback') {
        // A decision was made on two measured arms of the same size, with the numbers in the reason.
        expect(round.validation.current.outcome.proposed).toBe(round.validation.candidate.outcome.proposed);
        expect(round.reason).toMatch(/yield/);
        expect(round.reason).toMatch(/\(\d+\/\d+ vs \d+\/\d+\)/); // the paired test with both arms' counts
        expect(round.candidate.addresses.length).toBeGreaterThan(0);
        expect(['instructions', 'params']).toContain(round.kind); // what was proposed is on record
      }
    }
    const svg = readFileSync(join(out, 'yield.svg'), 'utf8');
    expect(svg).toMatch(/^<svg/);
    expect(svg).toContain('production yield');
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    expect(md).toMatch(/\| 1 \| 1 \|/); // the per-round table has round 1 with its 1 item
    expect(md).toContain('### Round 2');
  }, 500_000);
});
