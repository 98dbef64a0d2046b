// The critic's veto rule: a model review may overturn deterministic checks that passed only when one
// of its reasons cites a rule (a check's name, or four words of a policy line), and never on the
// embedded model, whose reviews are noise.
import { describe, expect, it } from 'vitest';
import { citesRule, reviewMayVeto, vetoRule } from '../../actors/critic/role.ts';
import { LlmClient, parseRoleModelConfig } from '../../llm/client/index.ts';

const POLICY = `# Mock Domain Policy

1. Each task must have a title
2. Task status can only be "pending" or "completed"
4. You are not allowed to delete tasks. You should transfer the a human agent.`;
const CHECKS = ['gold-runs', 'grounded', 'non-trivial', 'not-duplicate'];

describe('critic veto guards', () => {
  it('a reason cites a rule when it names a check or quotes the policy', () => {
    expect(citesRule('2021-03-13 18:43:33', POLICY, CHECKS)).toBe(false);
    expect(citesRule('too ambitious', POLICY, CHECKS)).toBe(false);
    expect(citesRule("You can't find the answers you need", POLICY, CHECKS)).toBe(false);
    expect(citesRule('the gold actions would delete tasks, but you are not allowed to delete tasks', POLICY, CHECKS)).toBe(true);
    expect(citesRule('status can only be pending or completed; this sets "archived"', POLICY, CHECKS)).toBe(true);
    expect(citesRule('the user id is not grounded in the scenario', POLICY, CHECKS)).toBe(true);
    expect(citesRule('fails non-trivial: nothing changes', POLICY, CHECKS)).toBe(true);
  });

  it('the review may veto only citing a rule, and never under the advisory rule', () => {
    expect(reviewMayVeto('cited', 'reject', ['review: hard', 'too ambitious'], POLICY, CHECKS)).toBe(false);
    expect(reviewMayVeto('cited', 'reject', ['too ambitious', 'you are not allowed to delete tasks'], POLICY, CHECKS)).toBe(true);
    expect(reviewMayVeto('never', 'reject', ['you are not allowed to delete tasks'], POLICY, CHECKS)).toBe(false);
    expect(reviewMayVeto('never', 'accept', [], POLICY, CHECKS)).toBe(true);
  });

  it('advisory on the embedded model, citing veto on an endpoint, unless configured', () => {
    const local = new LlmClient({ role: 'critic', config: parseRoleModelConfig('critic', {}) });
    const remote = new LlmClient({ role: 'critic', config: parseRoleModelConfig('critic', { model: 'qwen', baseURL: 'http://127.0.0.1:1/v1' }) });
    expect(vetoRule({ llm: local })).toBe('never');
    expect(vetoRule({ llm: remote })).toBe('cited');
    expect(vetoRule({ llm: local, veto: 'cited' })).toBe('cited');
  });
});
