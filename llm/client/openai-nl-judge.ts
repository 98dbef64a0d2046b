// The NL judge over any OpenAI-compatible chat endpoint. The SDK is imported lazily so that
// grading tasks without NL assertions never loads it.
import { NL_JUDGE_SYSTEM_PROMPT, nlJudgeUserPrompt, parseJudgeAnswer, type NlJudge, type NlJudgement } from '../../domains/evaluator/nl-judge.ts';

export interface OpenAiJudgeOptions {
  baseURL?: string;
  model: string;
  apiKey?: string;
  /** τ² judges at temperature 0. */
  temperature?: number;
  /** Extra request fields (e.g. `seed`). */
  extra?: Record<string, unknown>;
}

export class OpenAiNlJudge implements NlJudge {
  constructor(private readonly opts: OpenAiJudgeOptions) {}

  async judge(trajectory: string, assertions: readonly string[]): Promise<NlJudgement[]> {
    const { default: OpenAI } = await import('openai');
    const client = new OpenAI({
      baseURL: this.opts.baseURL,
      apiKey: this.opts.apiKey ?? process.env.OPENAI_API_KEY ?? 'none',
      maxRetries: 3,
    });
    const resp = await client.chat.completions.create({
      model: this.opts.model,
      temperature: this.opts.temperature ?? 0,
      messages: [
        { role: 'system', content: NL_JUDGE_SYSTEM_PROMPT },
        { role: 'user', content: nlJudgeUserPrompt(trajectory, assertions) },
      ],
      ...(this.opts.extra ?? {}),
    } as Parameters<typeof client.chat.completions.create>[0] & { stream?: false });
    const content = (resp as { choices: { message: { content: string | null } }[] }).choices[0]?.message?.content;
    if (typeof content !== 'string') throw new Error('NL judge returned no text content');
    return parseJudgeAnswer(content);
  }
}
