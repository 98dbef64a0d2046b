// The tool-call grammar lets a model leave out optional arguments. Before, node-llama-cpp's
// generator made every listed property required, so every `create_task` call carried an invented
// `description` (the study's next-call failures). Checked on the real grammar engine: the reply's
// tokens (default model's tokenizer) are fed one by one to llama.cpp's grammar state.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getLlama, LlamaGrammarEvaluationState, type Llama, type LlamaGrammar, type LlamaModel } from 'node-llama-cpp';
import { getDomain } from '../../domains/registry.ts';
import { toolGrammarSource } from '../../llm/server/tool-grammar.ts';
import { MAX_OPTIONAL, toGbnfJsonSchema } from '../../llm/server/json-schema-gbnf.ts';
import type { RequestTool } from '../../llm/server/request.ts';
import { defaultModelFile } from '../helpers/model.ts';

let llama: Llama;
let model: LlamaModel;

beforeAll(async () => {
  llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' as never });
  model = await llama.loadModel({ modelPath: defaultModelFile(), gpuLayers: 0 });
});
afterAll(async () => {
  await model?.dispose();
  await llama?.dispose();
});

/** Whether the grammar lets the model produce exactly `text` and then stop (internal node-llama-cpp API). */
function accepts(grammar: LlamaGrammar, text: string): boolean {
  const bindings = (llama as unknown as { _bindings: { AddonSampler: { canBeNextTokenForGrammarEvaluationState(s: unknown, t: number): boolean; acceptGrammarEvaluationStateToken(s: unknown, t: number): void } } })._bindings.AddonSampler;
  const state = (new LlamaGrammarEvaluationState({ model, grammar }) as unknown as { _state: unknown })._state;
  for (const token of model.tokenize(text)) {
    if (!bindings.canBeNextTokenForGrammarEvaluationState(state, token)) return false;
    bindings.acceptGrammarEvaluationStateToken(state, token);
  }
  return bindings.canBeNextTokenForGrammarEvaluationState(state, model.tokens.eos!);
}

const grammarFor = async (tools: RequestTool[]) => llama.createGrammar({ grammar: await toolGrammarSource(llama, tools, 'required', false) });
const call = (name: string, args: Record<string, unknown>) => `<tool_call>${JSON.stringify({ name, arguments: args })}</tool_call>`;

describe('tool-call grammar: optional arguments', () => {
  it('mock create_task: description may be left out or given; user_id and title may not be left out', async () => {
    const tools = getDomain('mock').createEnvironment().agentToolSchemas() as RequestTool[];
    const createTask = tools.find((t) => t.function.name === 'create_task')!;
    expect((createTask.function.parameters as { required: string[] }).required).toEqual(['user_id', 'title']); // the premise
    const g = await grammarFor(tools);
    expect(accepts(g, call('create_task', { user_id: 'user_1', title: 'Buy milk' }))).toBe(true);
    expect(accepts(g, call('create_task', { user_id: 'user_1', title: 'Buy milk', description: 'two litres' }))).toBe(true);
    // τ²'s schema types it as a string with default null: null itself is not in the schema.
    expect(accepts(g, call('create_task', { user_id: 'user_1', title: 'Buy milk', description: null }))).toBe(false);
    expect(accepts(g, call('create_task', { user_id: 'user_1' }))).toBe(false);
    expect(accepts(g, call('create_task', { title: 'Buy milk' }))).toBe(false);
    expect(accepts(g, call('create_task', { user_id: 'user_1', title: 'Buy milk', owner: 'x' }))).toBe(false);
    // Property order is the schema's: the generator writes objects in one order.
    expect(accepts(g, call('create_task', { title: 'Buy milk', user_id: 'user_1' }))).toBe(false);
    // A tool without parameters takes {} — and a read tool still works beside the write.
    expect(accepts(g, call('get_users', {}))).toBe(true);
  });

  it('an object whose properties are all optional takes {}, one of them, or both; other keys are refused', async () => {
    const tool: RequestTool = { type: 'function', function: { name: 'search', parameters: { type: 'object', properties: { q: { type: 'string' }, limit: { type: 'integer' } } } } };
    const g = await grammarFor([tool]);
    for (const args of [{}, { q: 'a' }, { limit: 3 }, { q: 'a', limit: 3 }]) expect(accepts(g, call('search', args)), JSON.stringify(args)).toBe(true);
    expect(accepts(g, call('search', { other: 1 }))).toBe(false);
  });

  it('nested objects keep their own required/optional split', async () => {
    const tool: RequestTool = {
      type: 'function',
      function: { name: 'book', parameters: { type: 'object', required: ['who'], properties: { who: { type: 'object', required: ['name'], properties: { name: { type: 'string' }, age: { type: 'integer' } } } } } },
    };
    const g = await grammarFor([tool]);
    expect(accepts(g, call('book', { who: { name: 'Ann' } }))).toBe(true);
    expect(accepts(g, call('book', { who: { name: 'Ann', age: 40 } }))).toBe(true);
    expect(accepts(g, call('book', { who: { age: 40 } }))).toBe(false);
    expect(accepts(g, call('book', {}))).toBe(false);
  });

  it(`beyond ${MAX_OPTIONAL} optional properties every property is emitted (the documented widening)`, () => {
    const props = Object.fromEntries(Array.from({ length: MAX_OPTIONAL + 1 }, (_, i) => [`p${i}`, { type: 'string' }]));
    const out = toGbnfJsonSchema({ type: 'object', properties: props }) as { type?: string; properties?: object; oneOf?: unknown[] };
    expect(out.type).toBe('object');
    expect(Object.keys(out.properties!)).toEqual(Object.keys(props));
    const few = toGbnfJsonSchema({ type: 'object', properties: { a: { type: 'string' }, b: { type: 'string' } }, required: ['a'] }) as unknown as { oneOf: { properties: object }[] };
    expect(few.oneOf.map((o) => Object.keys(o.properties))).toEqual([['a'], ['a', 'b']]);
  });
});
