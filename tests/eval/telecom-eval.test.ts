// `troupe eval` on τ² telecom through the society: dual control (the agent asks the user to act on
// the device), telecom's long task ids (they once overflowed the envelope's key and every dialogue was
// dead-lettered), and the telecom evaluation basis. The oracle agent (TEST HARNESS) keeps it short;
// the user simulator is the real local model.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/commands/eval.ts';
import { readResultsFile } from '../../domains/evaluator/results-io.ts';
import { TAU2_DATA } from '../helpers/tau2.ts';
import { defaultModelFile } from '../helpers/model.ts';

defaultModelFile();

describe('troupe eval on telecom', () => {
  const dir = mkdtempSync(join(tmpdir(), 'troupe-eval-telecom-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('plays a test-split task with a 200+ character id end to end and grades it', async () => {
    const split = JSON.parse(readFileSync(join(TAU2_DATA, 'tau2', 'domains', 'telecom', 'split_tasks.json'), 'utf8')) as Record<string, string[]>;
    const taskId = split.test.find((id) => id.length > 200)!;
    expect(taskId).toBeDefined();
    const out = join(dir, 'results.json');
    const lines: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
    const errs = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
    try {
      expect(await main(['--domain', 'telecom', '--split', 'test', '--task-ids', taskId, '--agent', 'oracle', '--max-steps', '40', '--max-tokens', '24', '--out', out])).toBe(0);
    } finally {
      spy.mockRestore();
      errs.mockRestore();
    }
    expect(lines.join('\n')).not.toMatch(/dead-lettered|\[dlq\]/);
    const results = readResultsFile(out);
    expect(results.simulations).toHaveLength(1);
    const s = results.simulations[0];
    expect(s.task_id).toBe(taskId);
    // The oracle ends the dialogue once it has asked for every gold action (or the user stops first).
    expect(['agent_stop', 'user_stop']).toContain(s.termination_reason);
    // The oracle asked the user to act on the device (dual control), and the local model answered.
    expect(s.messages.some((m) => m.role === 'assistant' && /on your side/.test(String(m.content ?? '')))).toBe(true);
    expect(s.messages.some((m) => m.role === 'user' && Number(m.usage?.completion_tokens ?? 0) > 0)).toBe(true);
    // Graded on telecom's basis (environment assertions), not skipped.
    expect(s.reward_info).not.toBeNull();
    expect(s.reward_info!.reward_basis).toEqual(['ENV_ASSERTION']);
    expect(s.reward_info!.env_assertions?.length).toBeGreaterThan(0);
  }, 480_000);
});
