// What the learner writes and tokenizes must match what the model server (node-llama-cpp) reads:
// chat tokens and loss masks, and exported GGUF files that node-llama-cpp loads and runs.
import { defaultModelFile } from '../helpers/model.ts';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, tf } from '../../nn/backend/backend.ts';
import { loadChatTokenizer, tokenizeChat, flipRoles, type ChatTokenizer } from '../../nn/model/tokenizer.ts';
import { normalizeChat, type ChatMessage } from '../../nn/model/chat-format.ts';
import { loadGgufModel } from '../../nn/model/load-gguf.ts';
import { exportGguf, saveModelSafetensors, loadModelSafetensors } from '../../nn/model/export.ts';
import { forward, initParams, disposeModel, type LlamaModel } from '../../nn/model/llama.ts';

const modelPath = defaultModelFile();
const dir = mkdtempSync(join(tmpdir(), 'troupe-learner-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(async () => { await initBackend(); });

const chat: ChatMessage[] = [
  { role: 'system', content: 'You are an airline agent.' },
  { role: 'user', content: 'Cancel reservation ABC123 please.' },
  { role: 'assistant', content: 'Let me look it up.', tool_calls: [{ id: 'c1', type: 'function', function: { name: 'get_reservation', arguments: '{"id":"ABC123"}' } }] },
  { role: 'tool', tool_call_id: 'c1', content: '{"status":"active"}' },
  { role: 'assistant', content: 'Done, it is cancelled.' },
  { role: 'user', content: 'Thanks! ###STOP###' },
];
const tools = [{ type: 'function' as const, function: { name: 'get_reservation', description: 'Look up a reservation', parameters: { type: 'object', properties: { id: { type: 'string' } } } } }];

describe('tokenizer and chat template', () => {
  let tok: ChatTokenizer;
  beforeAll(async () => { tok = await loadChatTokenizer(modelPath); });
  afterAll(async () => { await tok?.dispose(); });

  it('tokenizes message by message exactly like the whole rendered chat', () => {
    const { tokens, mask } = tokenizeChat(tok, chat, tools, new Set(['assistant']));
    const whole = tok.tokenize(tok.template.render(normalizeChat(tok.template, chat, tools)));
    expect(tokens).toEqual(whole);
    // The trained tokens are exactly what the model produces in the two assistant turns (content +
    // tool call + end of turn): no role header, no newline after the end-of-turn token.
    const trained = tok.detokenize(tokens.filter((_, i) => mask[i] === 1));
    expect(trained).toBe('Let me look it up.\n<tool_call>{"name":"get_reservation","arguments":{"id":"ABC123"}}</tool_call><|im_end|>Done, it is cancelled.<|im_end|>');
    // Token by token: every masked run starts right after "<|im_start|>assistant\n" and ends with <|im_end|>.
    const header = tok.tokenize('<|im_start|>assistant\n');
    for (let i = 1; i < tokens.length; i++) {
      if (mask[i] && !mask[i - 1]) expect(tokens.slice(i - header.length, i)).toEqual(header);
      if (!mask[i] && mask[i - 1]) expect(tokens[i - 1]).toBe(tok.eosId);
    }
    expect(tokens[0]).toBe(1); // <|im_start|>
  });

  it('role-flips for user-model SFT: trains on the user turns only', () => {
    const flipped = flipRoles(chat, 'You are a customer with reservation ABC123.');
    expect(flipped.map((m) => m.role)).toEqual(['system', 'assistant', 'user', 'assistant']);
    expect(flipped[2].content).toBe('Let me look it up.\nDone, it is cancelled.');
    const { tokens, mask } = tokenizeChat(tok, flipped, [], new Set(['assistant']));
    const trained = tok.detokenize(tokens.filter((_, i) => mask[i] === 1));
    expect(trained).toBe('Cancel reservation ABC123 please.<|im_end|>Thanks! ###STOP###<|im_end|>');
  });
});

describe('weights export', () => {
  it('safetensors round-trips a model exactly', () => {
    const cfg = { vocabSize: 13, dim: 8, nLayers: 1, nHeads: 2, nKvHeads: 1, headDim: 4, ffnDim: 12, ropeBase: 10000, normEps: 1e-5, tiedEmbeddings: true, contextLength: 16 };
    const a: LlamaModel = { config: cfg, params: initParams(cfg, 1) };
    const b: LlamaModel = { config: cfg, params: initParams(cfg, 2) };
    const p = join(dir, 'm.safetensors');
    saveModelSafetensors(a, p);
    loadModelSafetensors(b, p);
    for (const [n, v] of a.params) expect(b.params.get(n)!.dataSync()).toEqual(v.dataSync());
  });

  it('GGUF F32 export of a tiny model reads back exactly, F16 closely', () => {
    const cfg = { vocabSize: 13, dim: 8, nLayers: 2, nHeads: 2, nKvHeads: 1, headDim: 4, ffnDim: 12, ropeBase: 10000, normEps: Math.fround(1e-5), tiedEmbeddings: true, contextLength: 16 };
    const a: LlamaModel = { config: cfg, params: initParams(cfg, 4) };
    const ids = tf.tensor2d([[0, 5, 7, 2, 11]], [1, 5], 'int32');
    const ref = forward(a, ids).arraySync() as number[][];
    for (const dtype of ['F32', 'F16'] as const) {
      const p = join(dir, `tiny-${dtype}.gguf`);
      exportGguf(a, p, { dtype });
      const b = loadGgufModel(p);
      expect(b.config).toEqual(cfg);
      const got = forward(b, ids).arraySync() as number[][];
      const maxDiff = Math.max(...got.flatMap((r, i) => r.map((x, j) => Math.abs(x - ref[i][j]))));
      if (dtype === 'F32') expect(maxDiff).toBe(0);
      else expect(maxDiff).toBeLessThan(1e-3);
      disposeModel(b);
    }
  });
});
