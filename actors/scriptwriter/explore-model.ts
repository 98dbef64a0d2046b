// The scriptwriter's model explores the domain database itself: over several rounds it calls the
// agent's read tools (OpenAI function calling; on the local model server the call is
// grammar-constrained to the offered tools and their argument schemas, llm/server/tool-grammar.ts)
// and reads what they return, looking for entities that make the plan's task possible. Argument
// schemas are narrowed for small models: an `*_id` parameter may only take ids seen so far — in
// earlier results, or the entry points the database offers (a few keys of the matching collection,
// at an offset per item, as a customer knows their own id) — so every call names something real.
// When the model's exploration finds nothing usable, the caller falls back to the scripted
// exploration (actors/kit/explore.ts) and says so in the proposal (`explorer`).
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import type { LlmClient, ToolSpec } from '../../llm/client/index.ts';
import { MalformedOutputError, LlmHttpError } from '../../llm/client/index.ts';
import type { Environment } from '../../domains/core/environment.ts';
import type { ExplorationStep, SynthesisPlan } from '../../protocols/synthesis.ts';
import { openAiSchema } from '../../domains/core/tool.ts';
import { candidatesFor } from '../kit/explore.ts';

export interface ModelExploration {
  steps: ExplorationStep[];
  /** Model requests made. */
  calls: number;
  /** The exploration found what the plan's kind of task needs (see `explorationProblem`). */
  ok: boolean;
  reason?: string;
  tokens: { prompt: number; completion: number };
  model: string | null;
}

const singular = (w: string) => (w.endsWith('ies') ? `${w.slice(0, -3)}y` : w.endsWith('s') ? w.slice(0, -1) : w);
/** Tool results shown back to the model are cut (a 135M model has a short context). */
const SHOWN_CHARS = 900;
const MAX_ENUM = 12;

/** Entry points: `perCollection` keys of each top-level collection of the agent DB, by entity (singular collection name). */
export function entryIds(env: Environment, offset = 0, perCollection = 3): Record<string, string[]> {
  const dump = env.agentDbDump();
  const out: Record<string, string[]> = {};
  if (!dump || typeof dump !== 'object' || Array.isArray(dump)) return out;
  for (const [name, coll] of Object.entries(dump as Record<string, unknown>)) {
    if (!coll || typeof coll !== 'object' || Array.isArray(coll)) continue;
    const keys = Object.keys(coll);
    out[singular(name)] = Array.from({ length: Math.min(perCollection, keys.length) }, (_, i) => keys[(offset + i) % keys.length]);
  }
  return out;
}

/** The ids an `*_id` parameter may take now: seen in results, else the matching collection's entry points. */
export function idChoices(param: string, steps: readonly ExplorationStep[], entries: Record<string, string[]>): string[] {
  const seen = candidatesFor(param, steps);
  const entry = entries[param.replace(/_id$/, '')] ?? [];
  return [...new Set([...seen, ...entry])].slice(0, MAX_ENUM);
}

/**
 * The read tools offered this round, with required parameters only (optional ones are left to their
 * defaults) and `*_id` parameters limited to `idChoices`. A tool with an id parameter nothing is
 * known for yet is not offered (any value would be a guess).
 */
export function offeredReads(env: Environment, steps: readonly ExplorationStep[], entries: Record<string, string[]>): ToolSpec[] {
  const out: ToolSpec[] = [];
  for (const t of env.getTools()) {
    if (t.type !== 'read' || env.isMutatingTool(t.name)) continue;
    const params = openAiSchema(t).function.parameters as { properties?: Record<string, Record<string, unknown>> };
    const required = t.params.filter((p) => !('default' in p));
    const props: Record<string, unknown> = {};
    let usable = true;
    for (const p of required) {
      const base = { ...(params.properties?.[p.name] ?? { type: 'string' }) };
      delete base.description;
      delete base.title;
      if (p.name.endsWith('_id')) {
        const ids = idChoices(p.name, steps, entries);
        if (!ids.length) usable = false;
        props[p.name] = { type: 'string', enum: ids };
      } else if (base.type === 'string' && !base.enum) props[p.name] = { type: 'string', maxLength: 40 };
      else props[p.name] = base;
    }
    if (!usable) continue;
    out.push({
      name: t.name,
      description: (openAiSchema(t).function.description ?? '').slice(0, 200),
      parameters: { type: 'object', additionalProperties: false, required: required.map((p) => p.name), properties: props },
    });
  }
  return out;
}

/** What the plan's kind of task needs from an exploration, or null when it has it. */
export function explorationProblem(env: Environment, plan: SynthesisPlan, steps: readonly ExplorationStep[]): string | null {
  const ok = steps.filter((s) => !s.error);
  if (!ok.length) return steps.length ? `every read call failed (${steps.map((s) => s.name).join(', ')})` : 'the model made no read call';
  if (plan.taskKind === 'info') return null;
  const writes = env.getTools().filter((t) => t.type === 'write' && env.isMutatingTool(t.name));
  const wanted = writes.filter((t) => plan.toolPatterns.includes(`write:${t.name}`));
  const offered = wanted.length ? wanted : writes;
  const possible = offered.filter((t) => t.params.filter((p) => !('default' in p) && p.name.endsWith('_id')).every((p) => candidatesFor(p.name, steps).length > 0));
  return possible.length ? null : `found no entity for ${offered.map((t) => t.name).join(' / ')} (no id seen for its *_id parameters)`;
}

export function explorePrompt(domainName: string, plan: SynthesisPlan): string {
  return [
    `Domain: ${domainName}`,
    `Plan: kind=${plan.taskKind ?? 'write'}; tier=${plan.tier}; patterns=${plan.toolPatterns.join(', ')}; goal=${plan.goal}`,
    'Explore the database with the read tools to find real entities (ids and their details) that a task of this plan can use.',
    'Call one read tool now; you will see its result and may call another.',
  ].join('\n');
}

/**
 * Up to `rounds` model turns, each one required tool call (the first call of a reply is executed),
 * each result appended to the conversation. Stops early when the model repeats a call, answers
 * without a call, or no tool can be offered. Endpoint errors other than a refused request throw (the
 * host retries the item); malformed calls end the exploration (counted as the model's failure).
 */
export async function exploreWithModel(
  llm: LlmClient,
  env: Environment,
  o: { domainName: string; plan: SynthesisPlan; system: string; offset: number; rounds?: number; seed?: number; temperature?: number; maxTokens?: number },
): Promise<ModelExploration> {
  const entries = entryIds(env, o.offset);
  const steps: ExplorationStep[] = [];
  const tokens = { prompt: 0, completion: 0 };
  const messages: ChatCompletionMessageParam[] = [
    { role: 'system', content: o.system },
    { role: 'user', content: explorePrompt(o.domainName, o.plan) },
  ];
  let calls = 0;
  let model: string | null = null;
  let stop: string | undefined;
  const done = new Set<string>();
  for (let round = 0; round < (o.rounds ?? 3); round++) {
    const tools = offeredReads(env, steps, entries);
    if (!tools.length) {
      stop = 'no read tool can be called with what is known';
      break;
    }
    calls++;
    let r;
    try {
      r = await llm.chat({ messages, tools, toolChoice: 'required', temperature: o.temperature ?? 0.7, maxTokens: o.maxTokens ?? 120, seed: o.seed === undefined ? undefined : o.seed + round });
    } catch (err) {
      if (err instanceof MalformedOutputError || (err instanceof LlmHttpError && err.status >= 400 && err.status < 500 && err.status !== 429)) {
        stop = `model call ${calls}: ${(err as Error).message.slice(0, 200)}`;
        break;
      }
      throw err;
    }
    tokens.prompt += r.usage.promptTokens;
    tokens.completion += r.usage.completionTokens;
    model = r.model;
    const call = r.toolCalls[0];
    if (!call) {
      stop = `model call ${calls} answered without a tool call`;
      break;
    }
    const key = `${call.name}(${JSON.stringify(call.arguments)})`;
    const res = env.getResponse({ id: call.id, name: call.name, arguments: call.arguments });
    steps.push({ name: call.name, arguments: call.arguments, output: res.content.slice(0, 4000), error: res.error });
    messages.push({ role: 'assistant', content: null, tool_calls: [{ id: call.id, type: 'function', function: { name: call.name, arguments: call.rawArguments } }] });
    messages.push({ role: 'tool', tool_call_id: call.id, content: res.content.slice(0, SHOWN_CHARS) });
    if (done.has(key)) {
      stop = `model repeated ${key}`;
      break;
    }
    done.add(key);
  }
  const problem = explorationProblem(env, o.plan, steps);
  return { steps, calls, ok: problem === null, ...(problem ? { reason: stop ? `${problem}; ${stop}` : problem } : {}), tokens, model };
}
