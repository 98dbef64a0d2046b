// Reflective rewrite: the evolver's model reads a role's current instructions and the failures
// attributed to that role, and writes a new revision that cites the failure ids it addresses.
// The answer is checked (non-empty, bounded, cites only ids it was shown, differs from the current
// text); a malformed or invalid answer is handed back to the model as an error message, for a
// bounded number of retries. The candidate goes to `candidate.<role>` with its lineage.
import type { KV } from '@nats-io/kv';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { LlmClient, MalformedOutputError, feedbackMessages } from '../../llm/client/index.ts';
import { candidateKey, setEntry, type Entry } from '../../runtime/instructions/index.ts';
import type { FailureGroup } from './failures.ts';

export const MIN_TEXT = 40;
// llama.cpp refuses grammars with more than ~2000 repetitions of one rule, so the bound stays below it.
export const MAX_TEXT = 1500;
export const MAX_RATIONALE = 400;
/** Failure ids shown per group (the prompt stays small for small models). */
const IDS_PER_GROUP = 4;

export interface Rewrite {
  text: string;
  rationale: string;
  addresses: string[];
}

export interface ReflectResult {
  rewrite: Rewrite | null;
  /** Why each rejected attempt was rejected (empty when the first answer was good). */
  problems: string[];
  attempts: number;
  tokens: { prompt: number; completion: number };
  model: string | null;
}

const SYSTEM = [
  'You improve the instructions (the system prompt) of one member of a team of language-model roles that',
  'write training tasks for a customer-service agent. You are shown the current instructions and failures',
  'attributed to this role, each with an id. Write a complete new version of the instructions that fixes',
  'those failures while keeping what works. Say why (rationale) and list the ids of the failures you address.',
  'Answer with JSON only.',
].join('\n');

export function rewriteSchema(ids: string[]): Record<string, unknown> {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['rationale', 'addresses', 'text'],
    properties: {
      rationale: { type: 'string', minLength: 1, maxLength: MAX_RATIONALE },
      addresses: { type: 'array', items: { type: 'string', enum: ids }, minItems: 1, maxItems: ids.length },
      text: { type: 'string', minLength: MIN_TEXT, maxLength: MAX_TEXT },
    },
  };
}

/** The failures shown to the model: the ids it may cite. */
export function shownFailures(groups: FailureGroup[]): { prompt: string; ids: string[] } {
  const ids: string[] = [];
  const lines: string[] = [];
  for (const g of groups) {
    lines.push(`Failure kind "${g.kind}" (${g.ids.length} item(s)):`);
    g.ids.slice(0, IDS_PER_GROUP).forEach((id, i) => {
      ids.push(id);
      lines.push(`- [${id}] ${g.examples[i] ?? g.examples[0] ?? ''}`);
    });
  }
  return { prompt: lines.join('\n'), ids };
}

export function reflectPrompt(role: string, current: string, failures: string): string {
  return `Role: ${role}\n\nCurrent instructions:\n"""\n${current}\n"""\n\nFailures attributed to this role:\n${failures}\n\nWrite the new instructions.`;
}

/** Check an answer; returns the problems (empty = valid). */
export function validateRewrite(answer: unknown, shownIds: readonly string[], current: string): string[] {
  const problems: string[] = [];
  const a = answer as Partial<Rewrite> | null;
  if (!a || typeof a !== 'object') return ['the answer is not a JSON object with text, rationale and addresses'];
  const text = typeof a.text === 'string' ? a.text.trim() : '';
  if (!text) problems.push('"text" is empty: write the complete new instructions');
  else if (text.length < MIN_TEXT) problems.push(`"text" is too short (${text.length} characters; at least ${MIN_TEXT})`);
  else if (text.length > MAX_TEXT) problems.push(`"text" is too long (${text.length} characters; at most ${MAX_TEXT})`);
  if (text && text === current.trim()) problems.push('"text" is the current instructions unchanged: change them to fix the failures');
  if (typeof a.rationale !== 'string' || !a.rationale.trim()) problems.push('"rationale" is empty: say why the change fixes the failures');
  if (!Array.isArray(a.addresses) || a.addresses.length === 0) problems.push('"addresses" is empty: list the ids of the failures you address');
  else {
    const unknown = a.addresses.filter((id) => !shownIds.includes(id as string));
    if (unknown.length) problems.push(`"addresses" cites ids that were not shown: ${unknown.join(', ')}`);
  }
  return problems;
}

/** Ask for a rewrite, retrying with the problems in the conversation (at most `attempts` answers). */
export async function reflect(o: {
  llm: LlmClient;
  role: string;
  current: string;
  groups: FailureGroup[];
  attempts?: number;
  seed?: number;
  maxTokens?: number;
  temperature?: number;
}): Promise<ReflectResult> {
  const { prompt, ids } = shownFailures(o.groups);
  if (!ids.length) throw new Error(`reflect: no failures to show for role ${o.role}`);
  const messages: ChatCompletionMessageParam[] = [
    { role: 'system', content: SYSTEM },
    { role: 'user', content: reflectPrompt(o.role, o.current, prompt) },
  ];
  const max = o.attempts ?? 3;
  const problems: string[] = [];
  const tokens = { prompt: 0, completion: 0 };
  let model: string | null = null;
  for (let attempt = 1; attempt <= max; attempt++) {
    try {
      const r = await o.llm.chat({
        messages,
        jsonSchema: { name: 'instructions_rewrite', schema: rewriteSchema(ids) },
        maxTokens: o.maxTokens ?? 700,
        temperature: o.temperature ?? 0.7,
        seed: o.seed === undefined ? undefined : o.seed + attempt,
      });
      tokens.prompt += r.usage.promptTokens;
      tokens.completion += r.usage.completionTokens;
      model = r.model;
      const bad = validateRewrite(r.json, ids, o.current);
      if (!bad.length) {
        const a = r.json as Rewrite;
        return { rewrite: { text: a.text.trim(), rationale: a.rationale.trim(), addresses: [...new Set(a.addresses)] }, problems, attempts: attempt, tokens, model };
      }
      problems.push(`attempt ${attempt}: ${bad.join('; ')}`);
      messages.push(r.assistantMessage, { role: 'user', content: `Your answer cannot be used: ${bad.join('; ')}. Answer again.` });
    } catch (err) {
      if (!(err instanceof MalformedOutputError)) throw err;
      if (err.usage) {
        tokens.prompt += err.usage.promptTokens;
        tokens.completion += err.usage.completionTokens;
      }
      problems.push(`attempt ${attempt}: ${err.message.slice(0, 300)}`);
      messages.push(...feedbackMessages(err));
    }
  }
  return { rewrite: null, problems, attempts: max, tokens, model };
}

/** Write the rewrite to `candidate.<role>` with its lineage (parent: the role's revision it rewrote). */
export async function writeCandidate(kv: KV, role: string, rewrite: Rewrite, meta: { author: string; parent: number }): Promise<Entry> {
  return setEntry(kv, candidateKey(role), rewrite.text, { author: meta.author, rationale: rewrite.rationale, failures: rewrite.addresses, parent: meta.parent });
}
