// COMMUNICATE component: each expected string must appear in some agent text message. The test is
// a plain lowercase substring match, with commas removed from the message only (so "1,000" in the
// message matches "1000", but an expected "1,000" can never match).
import type { CommunicateCheck, Message } from '../../protocols/tau2/results.ts';
import { flattenMessages, hasText } from './messages.ts';
import type { ComponentResult, EvalTask } from './types.ts';

export function checkCommunicate(messages: readonly Message[], infos: readonly string[]): CommunicateCheck[] {
  const agentTexts = flattenMessages(messages)
    .filter((m) => m.role === 'assistant' && hasText(m))
    .map((m) => m.content as string);
  return infos.map((info) => {
    const needle = info.toLowerCase();
    const hit = agentTexts.find((text) => text.toLowerCase().replaceAll(',', '').includes(needle));
    return hit !== undefined
      ? { info, met: true, justification: `Information '${info}' communicated in the message:\n '${hit}'` }
      : { info, met: false, justification: `Information '${info}' not communicated.` };
  });
}

export function evaluateCommunicate(task: EvalTask, messages: readonly Message[]): ComponentResult {
  const infos = task.evaluation_criteria?.communicate_info;
  if (!infos || infos.length === 0) {
    return { reward: 1, info: { note: 'No communicate_info to evaluate' }, reward_breakdown: { COMMUNICATE: 1 } };
  }
  const checks = checkCommunicate(messages, infos);
  const reward = checks.every((c) => c.met) ? 1 : 0;
  return { reward, communicate_checks: checks, reward_breakdown: { COMMUNICATE: reward } };
}
