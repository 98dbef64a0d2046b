// `sftClosing: stop-after-reply`: the SFT dialogue is the one the teacher plays with patience 0.
// Played through the real teacher (createOracleAgent) against a fixed user, once with patience 2 and
// once with 0; trimming the first must give the second, message for message.
import { describe, expect, it } from 'vitest';
import { createOracleAgent } from '../../actors/actor/oracle-agent.ts';
import { stopAfterReply } from '../../bench/study/pipeline.ts';
import { getDomain } from '../../domains/registry.ts';
import type { Message } from '../../protocols/dialogue.ts';

async function play(patience: number): Promise<{ role: string; content?: string | null }[]> {
  const task = getDomain('mock').loadTasks({ split: 'base' }).find((t) => (t.evaluation_criteria?.actions ?? []).length >= 1)!;
  const agent = createOracleAgent(task as never, { patience });
  const history: Message[] = [{ role: 'user', content: 'I need a task created.' } as Message];
  let userTurn = 0;
  for (let i = 0; i < 20; i++) {
    const { message, stop } = await agent.nextTurn({ history } as never);
    history.push(message as Message);
    if (stop) break;
    if (message.tool_calls?.length) history.push({ role: 'tool', content: '{"ok": true}', id: message.tool_calls[0].id } as unknown as Message);
    else history.push({ role: 'user', content: `reply ${++userTurn}` } as Message);
  }
  return history.map((m) => ({ role: m.role, content: (m as { content?: string | null }).content ?? null }));
}

describe('study SFT data: stop after the reply to the closing', () => {
  it('the patience-2 dialogue, trimmed, is the patience-0 dialogue', async () => {
    const two = await play(2), zero = await play(0);
    expect(two.length).toBe(zero.length + 4); // two follow-ups and the two user replies to them
    expect(stopAfterReply(two)).toEqual(zero);
    expect(zero.at(-2)).toEqual({ role: 'user', content: 'reply 1' });
  });

  it('leaves a dialogue without follow-ups, or one the user ended, unchanged', async () => {
    const zero = await play(0);
    expect(stopAfterReply(zero)).toEqual(zero);
    const userEnded = (await play(2)).slice(0, -3).concat([{ role: 'user', content: 'bye ###STOP###' }]);
    expect(stopAfterReply(userEnded)).toEqual(userEnded);
  });
});
