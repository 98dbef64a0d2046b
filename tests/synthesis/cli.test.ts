// `troupe synth` / `troupe export` reject bad input with a message that names the problem.
import { TAU2_DATA } from '../helpers/tau2.ts';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// Its own runs dir: a society someone runs on this machine must not be found (and submitted to).
const RUNS = mkdtempSync(join(tmpdir(), 'troupe-synth-cli-'));

const troupe = (...args: string[]) => {
  const r = spawnSync(process.execPath, ['bin/troupe.js', ...args], { encoding: 'utf8', env: { ...process.env, TAU2_DATA_DIR: TAU2_DATA, TROUPE_RUNS_DIR: RUNS } });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
};

describe('synth and export command lines', () => {
  it('synth needs a domain, a known one, and sane counts', () => {
    expect(troupe('synth')).toMatchObject({ code: 2 });
    expect(troupe('synth').out).toMatch(/--domain is required/);
    const unknown = troupe('synth', '--domain', 'nowhere');
    expect(unknown.code).toBe(1);
    expect(unknown.out).toMatch(/unknown domain "nowhere"/);
    const bad = troupe('synth', '--domain', 'mock', '--plans', '0');
    expect(bad.out).toMatch(/--plans must be an integer ≥ 1/);
  });

  it('synth rejects an invalid roles config, naming the field', () => {
    const r = troupe('synth', '--domain', 'mock', '--roles-config', 'tests/synthesis/fixtures/bad-roles.json');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/actor/);
  });

  it('export needs a format, an output and a source', () => {
    expect(troupe('export', '--format', 'csv', '--out', '/tmp/x').out).toMatch(/--format must be sft, tau2-tasks or rl/);
    expect(troupe('export', '--format', 'sft').out).toMatch(/--out DIR is required/);
    expect(troupe('export', '--format', 'sft', '--out', '/tmp/x').out).toMatch(/give --run ID/);
    const none = troupe('export', '--format', 'sft', '--out', '/tmp/x', '--run', 'no-such-run-xyz');
    expect(none.code).toBe(1);
    expect(none.out).toMatch(/has no NATS store/);
  });
});
