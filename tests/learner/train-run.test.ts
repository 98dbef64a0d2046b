// `troupe train` end to end, in process: GRPO on the toy task with a checkpoint and a resume, and
// SFT / user-SFT of a tiny random model on a fixture of tool-use dialogues (default tokenizer).
import { describe, it, expect, afterAll } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTrainConfig } from '../../actors/learner/config.ts';
import { runTraining } from '../../cli/drivers/train/train-run.ts';
import { main as trainMain } from '../../cli/commands/train.ts';

const dir = mkdtempSync(join(tmpdir(), 'troupe-train-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('troupe train', () => {
  it('grpo: writes metrics, report, curves, exports and a checkpoint, and resumes from it', async () => {
    const out = join(dir, 'grpo');
    const toml = (steps: number) => `[train]\nsteps = ${steps}\nlr = 0.03\nbeta2 = 0.99\nmicroBatch = 64\n[grpo]\ngroupsPerStep = 4\nmaxAttempts = 16\n[output]\ndir = "${out}"\ncheckpointEvery = 3\nexport = ["safetensors", "gguf-f32"]\n`;
    await runTraining('grpo', parseTrainConfig(toml(6), 'a.toml'), { quiet: true });
    const r = await runTraining('grpo', parseTrainConfig(toml(9), 'b.toml'), { quiet: true, resume: true });
    const rows = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(rows.map((x) => x.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(rows[8].policyVersion).toBe(9); // the resumed run continued the version count
    expect(JSON.parse(readFileSync(join(out, 'checkpoint', 'state.json'), 'utf8'))).toMatchObject({ mode: 'grpo', step: 9, policyVersion: 9 });
    for (const f of ['report.md', 'reward.svg', 'loss.svg', 'filtered.svg', 'weights-final.safetensors', 'weights-final.f32.gguf']) expect(existsSync(join(out, f)), f).toBe(true);
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toContain('passRateAfter');
    expect(readFileSync(join(out, 'reward.svg'), 'utf8')).toMatch(/^<svg[\s\S]*<polyline[\s\S]*<\/svg>$/);
    expect(r.summary.steps).toBe(9);
  });

  it('sft and user-sft lower the loss of a tiny model on tool-use dialogues', async () => {
    for (const mode of ['sft', 'user-sft'] as const) {
      const cfg = parseTrainConfig(`[model.random]\ndim = 16\nnLayers = 1\nnHeads = 2\nnKvHeads = 1\nheadDim = 8\nffnDim = 32\n[data]\npath = "tests/learner/fixtures/store-dialogues.jsonl"\n[train]\nsteps = 5\nbatchSize = 4\nmicroBatch = 4\nlr = 0.01\n[output]\ndir = "${join(dir, mode)}"\nexport = ["safetensors"]\n`, 'c.toml');
      const r = await runTraining(mode, cfg, { quiet: true });
      expect(r.summary.examples).toBe(4);
      expect(r.summary.finalLoss as number).toBeLessThan((r.summary.firstLoss as number) - 0.3);
    }
  }, 300_000);

  it('rejects a bad mode and a bad config with clear messages', async () => {
    expect(await trainMain(['nope'])).toBe(2);
    expect(() => parseTrainConfig('[train]\nstepz = 1\n', 'bad.toml')).toThrow(/bad.toml: train: Unrecognized key/);
    expect(() => parseTrainConfig('[model.random]\ndim = 8\nnLayers = 1\nnHeads = 2\nnKvHeads = 1\nheadDim = 3\nffnDim = 8\n', 'odd.toml')).toThrow(/headDim must be even/);
  });
});
