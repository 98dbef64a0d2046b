// `troupe eval` end to end on the mock domain with the default local model as agent AND user: a real
// embedded nats-server, the scene role hosted over JetStream, the services over request/reply, the
// real model server, the evaluator; the results file is schema-checked and resumable.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/commands/eval.ts';
import { readResultsFile } from '../../domains/evaluator/results-io.ts';
import '../helpers/tau2.ts';
import { defaultModelFile } from '../helpers/model.ts';

defaultModelFile(); // fails with the reason when the model is missing

describe('troupe eval with the local model', () => {
  const dir = mkdtempSync(join(tmpdir(), 'troupe-eval-e2e-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs 1 task × 2 trials, writes a valid τ² results file and a pass^k table; a second run resumes with nothing to do', async () => {
    const out = join(dir, 'results.json');
    const args = ['--domain', 'mock', '--task-ids', 'create_task_1', '--trials', '2', '--concurrency', '2', '--max-steps', '3', '--max-tokens', '24', '--out', out];
    const lines: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
    try {
      expect(await main(args)).toBe(0);
    } finally {
      spy.mockRestore();
    }
    const text = lines.join('\n');
    const results = readResultsFile(out); // zod schema of τ²'s results.json
    expect(results.info.agent_info.llm).toBe('local');
    expect(results.info.agent_info.implementation).toBe('llm_agent');
    expect(results.info.num_trials).toBe(2);
    expect(results.simulations).toHaveLength(2);
    const byTrial = [...results.simulations].sort((a, b) => a.trial! - b.trial!);
    expect(byTrial.map((s) => [s.task_id, s.trial, s.seed])).toEqual([
      ['create_task_1', 0, 626729],
      ['create_task_1', 1, 373753],
    ]);
    for (const s of results.simulations) {
      expect(s.termination_reason).not.toBe('infrastructure_error');
      expect(s.reward_info).not.toBeNull();
      // The local model actually spoke: assistant messages past the greeting carry token usage.
      expect(s.messages.some((m) => m.role === 'assistant' && Number(m.usage?.completion_tokens ?? 0) > 0)).toBe(true);
      expect(s.messages.some((m) => m.role === 'user' && Number(m.usage?.completion_tokens ?? 0) > 0)).toBe(true);
    }
    expect(text).toMatch(/\[2\/2\] create_task_1 trial \d: /);
    expect(text).toMatch(/^1 +\d\.\d{4}$/m);
    expect(text).toMatch(/^2 +\d\.\d{4}$/m);
    expect(text).toMatch(/^create_task_1 +\d\/2 /m);

    // Resume: nothing left, the file is untouched.
    const before = readFileSync(out, 'utf8');
    const again: string[] = [];
    const spy2 = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void again.push(a.join(' ')));
    try {
      expect(await main(args)).toBe(0);
    } finally {
      spy2.mockRestore();
    }
    expect(again.join('\n')).toMatch(/already in .*nothing to run/);
    expect(readFileSync(out, 'utf8')).toBe(before);
  }, 300_000);
});
