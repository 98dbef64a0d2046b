// Reflective rewrite (unit): the answer's checks, and the bounded retry that shows the model what
// was wrong. The chat model here is a scripted stand-in for the LLM client (this unit only).
import { describe, expect, it } from 'vitest';
import type { LlmClient } from '../../llm/client/index.ts';
import { SchemaViolationError } from '../../llm/client/index.ts';
import { reflect, shownFailures, validateRewrite, MAX_TEXT } from '../../actors/evolver/reflect.ts';
import type { FailureGroup } from '../../actors/evolver/failures.ts';

const groups: FailureGroup[] = [
  { kind: 'critic:review-rejected', role: 'critic', ids: ['r/a#k', 'r/b#k'], examples: ['critic rejected a clean draft: vague', 'critic rejected a clean draft: no'] },
];
const current = 'You are the critic. Reject anything that looks unusual in any way at all, always.';
const good = { rationale: 'accept clean drafts', addresses: ['r/a#k'], text: 'You are the critic. Accept drafts that pass every deterministic check unless the policy forbids them.' };

function scripted(answers: (unknown | Error)[]) {
  const seen: unknown[][] = [];
  const llm = {
    config: { model: 'scripted' },
    async chat(req: { messages: unknown[] }) {
      seen.push([...req.messages]);
      const a = answers.shift();
      if (a instanceof Error) throw a;
      return { json: a, content: JSON.stringify(a), usage: { promptTokens: 10, completionTokens: 5 }, model: 'scripted', assistantMessage: { role: 'assistant', content: JSON.stringify(a) } };
    },
  };
  return { llm: llm as unknown as LlmClient, seen };
}

describe('reflective rewrite', () => {
  it('shows bounded failure ids and validates answers against them', () => {
    const { ids, prompt } = shownFailures(groups);
    expect(ids).toEqual(['r/a#k', 'r/b#k']);
    expect(prompt).toContain('[r/a#k] critic rejected a clean draft: vague');
    expect(validateRewrite(good, ids, current)).toEqual([]);
    expect(validateRewrite({ ...good, addresses: ['r/zz#k'] }, ids, current).join()).toMatch(/not shown: r\/zz#k/);
    expect(validateRewrite({ ...good, addresses: [] }, ids, current).join()).toMatch(/addresses" is empty/);
    expect(validateRewrite({ ...good, text: ` ${current} ` }, ids, current).join()).toMatch(/unchanged/);
    expect(validateRewrite({ ...good, text: 'short' }, ids, current).join()).toMatch(/too short/);
    expect(validateRewrite({ ...good, text: 'x'.repeat(MAX_TEXT + 1) }, ids, current).join()).toMatch(/too long/);
    expect(validateRewrite({ ...good, rationale: '' }, ids, current).join()).toMatch(/rationale/);
    expect(validateRewrite(null, ids, current).join()).toMatch(/not a JSON object/);
  });

  it('hands an invalid answer back to the model and uses the corrected one', async () => {
    const { llm, seen } = scripted([new SchemaViolationError('instructions_rewrite', '{"text":', 'not JSON'), { ...good, addresses: ['r/nope#k'] }, good]);
    const r = await reflect({ llm, role: 'critic', current, groups, attempts: 3 });
    expect(r.rewrite).toEqual(good);
    expect(r.attempts).toBe(3);
    expect(r.problems).toHaveLength(2);
    expect(r.tokens).toEqual({ prompt: 20, completion: 10 });
    // The third request carries both earlier problems as messages the model reads.
    const last = JSON.stringify(seen[2]);
    expect(last).toMatch(/not shown: r\/nope#k/);
    expect(last).toContain(current);
  });

  it('gives up after the bounded number of attempts, with the reasons', async () => {
    const { llm, seen } = scripted([{ ...good, text: current }, { ...good, text: current }]);
    const r = await reflect({ llm, role: 'critic', current, groups, attempts: 2 });
    expect(r.rewrite).toBeNull();
    expect(seen).toHaveLength(2);
    expect(r.problems.join()).toMatch(/unchanged/);
  });
});
