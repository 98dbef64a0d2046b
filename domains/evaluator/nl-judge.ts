// NL_ASSERTION component: an LLM judge reads the whole conversation and decides, per expected
// outcome, whether the agent met it. The judge sits behind `NlJudge` so tests and other LLM
// clients can stand in; `llm/client/openai-nl-judge.ts` is the real one.
import type { Message, NLAssertionCheck } from '../../protocols/tau2/results.ts';
import { flattenMessages } from './messages.ts';
import { strRepr } from '../pycompat/pyjson.ts';
import type { ComponentResult, EvalTask } from './types.ts';

/** One graded outcome, in the JSON shape the judge answers with. */
export interface NlJudgement {
  expectedOutcome: string;
  reasoning: string;
  metExpectation: boolean;
}

export interface NlJudge {
  judge(trajectoryText: string, assertions: readonly string[]): Promise<NlJudgement[]>;
}

/**
 * The conversation as the judge sees it: one `role: content` line per message, every message
 * included (greeting, tool results, and tool-call turns whose content is Python's `None`).
 */
export function trajectoryText(messages: readonly Message[]): string {
  return flattenMessages(messages)
    .map((m) => `${m.role}: ${typeof m.content === 'string' ? m.content : 'None'}`)
    .join('\n');
}

// Our wording; the structure (task, format, example) and the answer schema follow τ²'s judge.
export const NL_JUDGE_SYSTEM_PROMPT = `
        TASK
        - You receive a conversation recorded during a test run, between a customer-service agent and a customer, and a list of expected outcomes.
        - Decide for each expected outcome, on its own, whether the agent's behaviour in the conversation satisfies it.
        - Judge only from what the conversation shows.

        FORMAT
        - Answer with one JSON object and nothing else (no code fences).
        - It has a field \`results\`: a list with one entry per expected outcome, each holding:
        - \`expectedOutcome\`: the expected outcome being graded, copied from the input
        - \`reasoning\`: a brief justification of the verdict
        - \`metExpectation\`: \`true\` if the agent satisfies the expected outcome, \`false\` otherwise

        Example answer:
        {
            "results": [
                {
                    "expectedOutcome": "<an expected outcome from the input>",
                    "reasoning": "<why>",
                    "metExpectation": <true or false>
                }
            ]
        }
        `;

export function nlJudgeUserPrompt(trajectory: string, assertions: readonly string[]): string {
  return `\n        conversation:\n        ${trajectory}\n        \n        expectedOutcomes:\n        ${'[' + assertions.map(strRepr).join(', ') + ']'}\n        `;
}

/**
 * Parses the judge's answer. Like τ², anything but bare JSON (code fences included) is an error:
 * the caller decides whether to retry the simulation.
 */
export function parseJudgeAnswer(content: string): NlJudgement[] {
  let data: unknown;
  try {
    data = JSON.parse(content);
  } catch (err) {
    throw new Error(`NL judge answer is not valid JSON: ${(err as Error).message}: ${content.slice(0, 200)}`);
  }
  const results = (data as { results?: unknown })?.results ?? [];
  if (!Array.isArray(results)) throw new Error('NL judge answer: `results` is not a list');
  return results.map((r, i) => {
    const o = r as Record<string, unknown>;
    if (typeof o?.expectedOutcome !== 'string' || typeof o.reasoning !== 'string' || typeof o.metExpectation !== 'boolean') {
      throw new Error(`NL judge answer: results[${i}] needs expectedOutcome (string), reasoning (string), metExpectation (bool)`);
    }
    return { expectedOutcome: o.expectedOutcome, reasoning: o.reasoning, metExpectation: o.metExpectation };
  });
}

export async function evaluateNlAssertions(
  task: EvalTask,
  messages: readonly Message[],
  judge: NlJudge | undefined,
): Promise<ComponentResult> {
  const assertions = task.evaluation_criteria?.nl_assertions;
  if (!assertions || assertions.length === 0) {
    return { reward: 1, nl_assertions: [], info: { note: 'No nl_assertions to evaluate' }, reward_breakdown: { NL_ASSERTION: 1 } };
  }
  if (!judge) {
    throw new Error(`task ${task.id} needs an NL judge (NL_ASSERTION is in its reward basis) but none was configured`);
  }
  const verdicts = await judge.judge(trajectoryText(messages), assertions);
  const checks: NLAssertionCheck[] = verdicts.map((v) => ({
    nl_assertion: v.expectedOutcome,
    met: v.metExpectation,
    justification: v.reasoning,
  }));
  // Over whatever came back: an empty list passes, as in τ².
  const reward = checks.every((c) => c.met) ? 1 : 0;
  return { reward, nl_assertions: checks, reward_breakdown: { NL_ASSERTION: reward } };
}
