// The data society through the CLI, on the embedded defaults (local nats-server, the local
// SmolLM2-135M model, one model server per society):
//  1. README's main job, with no society running: `troupe synth` starts its own and the run ends
//     with at least one verified record in the dataset.
//  2. `troupe up` (the default society) and `troupe synth` submitted to it: the work is done by the
//     society's roles (`troupe ps` lists rollout and dataset), the critic is swapped mid-run, and
//     every item still reaches an end (nothing lost).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TAU2_DATA } from '../helpers/tau2.ts';
import { defaultModelFile } from '../helpers/model.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'troupe.js');
const home = mkdtempSync(join(tmpdir(), 'troupe-society-cli-'));
const env: NodeJS.ProcessEnv = { ...process.env, TROUPE_RUNS_DIR: join(home, 'runs'), TAU2_DATA_DIR: TAU2_DATA };
for (const k of Object.keys(env)) if (k.startsWith('TROUPE_NATS_') || /^TROUPE_.*(MODEL|BASE_URL)$/.test(k) || k === 'TROUPE_LOCAL_MODEL_URL') delete env[k];
const children: ChildProcess[] = [];

function troupe(args: string[], onLine?: (line: string) => void): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(c);
    let out = '';
    const feed = (b: Buffer) => {
      const text = b.toString();
      out += text;
      if (onLine) for (const l of text.split('\n')) if (l) onLine(l);
    };
    c.stdout!.on('data', feed);
    c.stderr!.on('data', feed);
    c.on('exit', (code) => resolve({ code, out }));
  });
}

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 3000));
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(home, { recursive: true, force: true });
});

const summaryOf = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as { complete: boolean; summary: { items: number; terminal: number; dialoguePassed: number } };

describe('the data society through the CLI', () => {
  it("README's main job ends with at least one verified record", async () => {
    defaultModelFile();
    const r = await troupe(['synth', '--domain', 'mock', '--plans', '2', '--tasks-per-plan', '2', '--run-id', 'readme-job']);
    // The first progress line says what the run waits for, not only counts.
    expect(r.out).toMatch(/\[synth 0s\] .*planning: meta-planner/);
    expect(r.out, r.out.slice(-3000)).toMatch(/dataset: [1-9]\d* record\(s\)/);
    expect(r.code, r.out.slice(-3000)).toBe(0);
    const s = summaryOf(join(home, 'runs', 'readme-job', 'synth', 'summary.json'));
    expect(s.summary.dialoguePassed).toBeGreaterThanOrEqual(1);
    expect(s.complete).toBe(true);
  }, 1_200_000);

  it('troupe synth submits to the running society; the critic is swapped mid-run and nothing is lost', async () => {
    let upOut = '';
    const up = spawn(process.execPath, [BIN, 'up', '--run-id', 'soc-up'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(up);
    up.stdout!.on('data', (b) => (upOut += b));
    up.stderr!.on('data', (b) => (upOut += b));
    for (let i = 0; !/society soc-up up/.test(upOut); i++) {
      if (up.exitCode !== null || i > 1800) throw new Error(`troupe up did not come up: ${upOut}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const ps = JSON.parse((await troupe(['ps', '--json'])).out) as { roles: { role: string; instanceId: string }[] };
    for (const role of ['meta-planner', 'scriptwriter', 'critic', 'verifier', 'rollout', 'dataset']) expect(ps.roles.map((r) => r.role)).toContain(role);
    const oldCritic = ps.roles.filter((r) => r.role === 'critic').map((r) => r.instanceId);

    const instructions = join(home, 'critic.md');
    writeFileSync(instructions, 'You are the critic. Accept feasible tasks that follow the policy. Answer with JSON only.\n');
    let swap: Promise<{ code: number | null; out: string }> | undefined;
    const synth = await troupe(['synth', '--domain', 'mock', '--plans', '1', '--tasks-per-plan', '2', '--run-id', 'soc-synth'], (line) => {
      // Swap the critic as soon as the run is under way (the first drafted task may be in its hands).
      if (!swap && /proposed [1-9]/.test(line)) swap = troupe(['swap', 'critic', '--instructions', instructions]);
    });
    expect(synth.out).toMatch(/→ society soc-up/); // submitted, did not start its own
    expect(swap, synth.out.slice(-2000)).toBeDefined();
    const sw = await swap!;
    expect(sw.code, sw.out).toBe(0);
    expect(sw.out).toMatch(/critic now serves instructions r\d+/);
    for (const id of oldCritic) expect(sw.out).toContain(id);
    // Nothing lost: every item reached an end (a record, or a drop with its reason).
    const s = summaryOf(join(home, 'runs', 'soc-up', 'synth', 'soc-synth', 'summary.json'));
    expect(s.complete, synth.out.slice(-2000)).toBe(true);
    expect(s.summary.terminal).toBe(s.summary.items);
    // The work's spans are in the society's run directory, beside its workers'.
    expect(existsSync(join(home, 'runs', 'soc-up', 'spans'))).toBe(true);
    up.kill('SIGTERM');
    await new Promise((r) => up.once('exit', r));
  }, 1_200_000);
});
