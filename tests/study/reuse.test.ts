// A scale that reuses another's arms (medium-v3 reuses medium-v2's base and sft-verified): the arm
// folders and their evaluations are copied, and the copied trained.json points at the copied GGUF,
// so the GRPO arms of the new scale start from weights inside their own output folder.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { reuseArms } from '../../bench/study/run.ts';

function fakeScale(root: string, name: string): string {
  const out = join(root, name);
  const arm = join(out, 'arms', 'sft-verified', 'seed1');
  mkdirSync(join(arm, 'train'), { recursive: true });
  writeFileSync(join(arm, 'train', 'weights-final.f16.gguf'), 'weights of seed 1');
  writeFileSync(join(arm, 'trained.json'), JSON.stringify({ arm: 'sft-verified', seed: 1, gguf: join(arm, 'train', 'weights-final.f16.gguf') }));
  mkdirSync(join(out, 'eval', 'base', 'seed0'), { recursive: true });
  writeFileSync(join(out, 'eval', 'base', 'seed0', 'eval.json'), '{"arm":"base"}');
  return out;
}

describe('study: reusing arms from another scale', () => {
  it('copies arms and evaluations and repoints the GGUF into the new folder', () => {
    const root = mkdtempSync(join(tmpdir(), 'study-reuse-'));
    const from = fakeScale(root, 'old');
    const out = join(root, 'new');
    reuseArms(from, out, ['base', 'sft-verified']);
    const t = JSON.parse(readFileSync(join(out, 'arms', 'sft-verified', 'seed1', 'trained.json'), 'utf8'));
    expect(t.gguf).toBe(join(out, 'arms', 'sft-verified', 'seed1', 'train', 'weights-final.f16.gguf'));
    expect(readFileSync(t.gguf, 'utf8')).toBe('weights of seed 1');
    expect(existsSync(join(out, 'eval', 'base', 'seed0', 'eval.json'))).toBe(true);
  });

  it('keeps what the new scale already has', () => {
    const root = mkdtempSync(join(tmpdir(), 'study-reuse-'));
    const from = fakeScale(root, 'old');
    const out = join(root, 'new');
    mkdirSync(join(out, 'eval', 'base', 'seed0'), { recursive: true });
    writeFileSync(join(out, 'eval', 'base', 'seed0', 'eval.json'), '{"arm":"base","own":true}');
    reuseArms(from, out, ['base']);
    expect(JSON.parse(readFileSync(join(out, 'eval', 'base', 'seed0', 'eval.json'), 'utf8')).own).toBe(true);
  });

  it('refuses a trained arm the other scale does not have', () => {
    const root = mkdtempSync(join(tmpdir(), 'study-reuse-'));
    const from = fakeScale(root, 'old');
    expect(() => reuseArms(from, join(root, 'new'), ['sft-unverified'])).toThrow(/has not trained it/);
  });
});

describe('study: merging training runs', () => {
  it('drops a record whose signature an earlier run had, keeps repeats within a run', async () => {
    const { mergeRuns } = await import('../../bench/study/pipeline.ts');
    const m = mergeRuns([['a', 'b', 'b'], ['b', 'c', 'a', 'c'], ['c', 'd']], (x) => x);
    expect(m.records).toEqual(['a', 'b', 'b', 'c', 'c', 'd']);
    expect(m.duplicates).toBe(3);
  });
});
