// Long dialogues, exactly: attention chunked by query rows, and shared-prefix training (the G dialogues
// of a group share the system prompt + tools: that prefix runs once, its K/V gradient is accumulated
// and backpropagated once) give the gradients of training each sequence alone. Checked on random
// tokens, then on the real airline agent prompt (≈ 6k tokens, TAU2_DATA_DIR) and a 2k-token dialogue
// with the default tokenizer and a tiny random Llama of its vocabulary. Backend-agnostic: whatever
// initBackend picks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../nn/backend/backend.ts';
import { addLora, initParams, type LlamaConfig, type LlamaModel } from '../../nn/model/llama.ts';
import { batchGradients, type BatchLoss, type SeqRow } from '../../nn/train/step.ts';
import { makeRng } from '../../nn/model/sample.ts';
import { loadChatTokenizer, tokenizeRollout, type ChatTokenizer } from '../../nn/model/tokenizer.ts';
import type { ChatMessage, ToolSpec } from '../../nn/model/chat-format.ts';
import { getDomain } from '../../domains/registry.ts';
import { buildAgentSystemPrompt } from '../../actors/kit/agent-prompt.ts';
import { grpoPhases } from '../../actors/learner/grpo-trainer.ts';
import { Optimizer } from '../../nn/train/step.ts';
import { defaultModelFile } from '../helpers/model.ts';

beforeAll(async () => { await initBackend(); });

const tiny: LlamaConfig = { vocabSize: 31, dim: 8, nLayers: 2, nHeads: 4, nKvHeads: 2, headDim: 2, ffnDim: 12, ropeBase: 10000, normEps: 1e-5, tiedEmbeddings: true, contextLength: 4096 };

function makeModel(cfg: LlamaConfig, lora = false, scale = 15): LlamaModel {
  const model: LlamaModel = { config: cfg, params: initParams(cfg, 21) };
  for (const [n, v] of model.params) if (!n.endsWith('norm.weight')) v.assign(tf.mul(v, scale));
  if (lora) {
    addLora(model, 2, 4);
    for (const ad of model.lora!.values()) ad.b.assign(tf.randomNormal(ad.b.shape, 0, 0.3, 'float32', 5));
  }
  return model;
}

/** Max relative difference of two gradient maps (relative to the largest entry), and that largest entry. */
function compare(a: Map<string, Float32Array>, b: Map<string, Float32Array>): { rel: number; maxAbs: number; worst: string } {
  let maxAbs = 0, maxDiff = 0, worst = '';
  for (const [n, ga] of a) {
    const gb = b.get(n);
    if (!gb) throw new Error(`no gradient for ${n}`);
    for (let i = 0; i < ga.length; i++) {
      maxAbs = Math.max(maxAbs, Math.abs(ga[i]));
      const d = Math.abs(ga[i] - gb[i]);
      if (d > maxDiff) { maxDiff = d; worst = `${n}[${i}]`; }
    }
  }
  return { rel: maxDiff / maxAbs, maxAbs, worst };
}

const grpoLossKind: BatchLoss = { kind: 'grpo', surrogate: { clipEps: 0.2 } };

describe('shared-prefix training (random tokens)', () => {
  // Three rows sharing 12 untrained tokens, then different suffixes of different lengths.
  const r = makeRng(4);
  const shared = Array.from({ length: 12 }, () => Math.floor(r() * 31));
  const rows: SeqRow[] = [9, 5, 14].map((n, k) => {
    const tail = Array.from({ length: n }, () => Math.floor(r() * 31));
    const tokens = [...shared, ...tail];
    const mask = tokens.map((_, i) => (i > 12 && r() < 0.7 ? 1 : 0));
    return { tokens, mask, advantage: k - 1, behaviourLogProbs: tokens.map(() => (r() < 0.5 ? -2 - r() : NaN)) };
  });
  for (const lora of [false, true]) for (const loss of [{ kind: 'sft' } as BatchLoss, grpoLossKind]) {
    it(`equals per-sequence gradients (${lora ? 'LoRA' : 'full'}, ${loss.kind}; chunked attention, recomputation)`, async () => {
      const model = makeModel(tiny, lora);
      model.train = { recompute: true, attnChunk: 3, logitChunk: 4 };
      const alone = await batchGradients(model, rows, loss, { microBatch: 1, padId: 0, sharePrefix: 0 });
      const sharedR = await batchGradients(model, rows, loss, { microBatch: 2, padId: 0, sharePrefix: 4 });
      expect(sharedR.prefixes).toEqual([{ length: 12, rows: 3 }]);
      expect(alone.prefixes).toEqual([]);
      expect(Math.abs(sharedR.loss - alone.loss)).toBeLessThan(1e-5 * (1 + Math.abs(alone.loss)));
      const c = compare(alone.grads, sharedR.grads);
      expect(c.maxAbs).toBeGreaterThan(1e-3); // not vacuous
      expect(c.rel, c.worst).toBeLessThan(1e-4);
      // The prefix runs once: fewer tokens through the model.
      expect(sharedR.trainTokens).toBeLessThan(alone.trainTokens);
    });
  }

  it('the behaviour weight differs from 1 when the sampler log-probs differ, and is 1 on-policy', async () => {
    const model = makeModel(tiny);
    const off = await batchGradients(model, rows, grpoLossKind, { microBatch: 3, padId: 0, sharePrefix: 4 });
    const on = await batchGradients(model, rows.map((x) => ({ ...x, behaviourLogProbs: undefined })), grpoLossKind, { microBatch: 3, padId: 0, sharePrefix: 4 });
    expect(on.extras.behaviourWeight).toBeCloseTo(1, 6);
    expect(Math.abs(off.extras.behaviourWeight - 1)).toBeGreaterThan(0.05);
    // and the weighted gradient is not the on-policy one
    expect(compare(on.grads, off.grads).rel).toBeGreaterThan(1e-3);
  });

  it('a batch that trains no token is an error, and the GRPO step does not bump the policy version', async () => {
    const model = makeModel(tiny);
    const untrained = rows.map((x) => ({ ...x, mask: x.mask.map(() => 0) }));
    await expect(batchGradients(model, untrained, { kind: 'sft' }, { microBatch: 2, padId: 0, sharePrefix: 4 })).rejects.toThrow(/no trained token/);
    const state = { version: 3 };
    const cfg = { steps: 1, groupsPerStep: 1, maxAttempts: 1, maxStaleness: 2, clipEps: 0.2, klCoef: 0, dropAllSuccess: false, dropAllFailure: false, microBatch: 2, adam: { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxGradNorm: 1 } };
    const phases = grpoPhases(model, { nextGroup: async () => null }, cfg, new Optimizer(model, cfg.adam), state);
    const group = { taskId: 't', rollouts: untrained.map((x, i) => ({ tokens: x.tokens, agentMask: x.mask, reward: i % 2, policyVersion: 3 })) };
    const report = { attempts: 1, kept: 1, droppedAllSuccess: 0, droppedAllFailure: 0, droppedStale: 0, short: false, meanRewardDrawn: 0.5 };
    await expect(phases.update(1, { groups: [group], report, t0: 0 })).rejects.toThrow(/no trained token/);
    expect(state.version).toBe(3);
  });
});

describe('real τ² prompts (default tokenizer, tiny random Llama)', () => {
  let tok: ChatTokenizer;
  beforeAll(async () => { tok = await loadChatTokenizer(defaultModelFile()); }, 60_000);
  afterAll(async () => { await tok?.dispose(); });
  // The tokenizer's vocabulary, tiny everything else.
  const cfg: LlamaConfig = { vocabSize: 49152, dim: 16, nLayers: 2, nHeads: 4, nKvHeads: 2, headDim: 4, ffnDim: 24, ropeBase: 10000, normEps: 1e-5, tiedEmbeddings: true, contextLength: 16384 };

  function airlineSide() {
    const domain = getDomain('airline');
    return { system: buildAgentSystemPrompt(domain.policy()), tools: domain.createEnvironment().agentToolSchemas() as unknown as ToolSpec[] };
  }

  it('a group of airline dialogues (≈ 6k-token prompt): shared-prefix gradients equal per-sequence gradients, non-zero', async () => {
    const side = airlineSide();
    const replies = [
      ['I want to cancel reservation ABC123.', 'Sure, can you tell me your user id?', 'It is mia_li_3668.'],
      ['Change my flight please.', null, 'Done.'],
    ];
    const rows: SeqRow[] = replies.map((turns, k) => {
      const msgs: ChatMessage[] = [{ role: 'system', content: side.system }, { role: 'assistant', content: 'Hi! How can I help you today?' }];
      const gen = [false, false];
      turns.forEach((t, j) => {
        if (j % 2 === 0) { msgs.push({ role: 'user', content: t ?? '' }); gen.push(false); return; }
        msgs.push(t === null
          ? { role: 'assistant', content: null, tool_calls: [{ id: `c${k}`, type: 'function', function: { name: 'get_user_details', arguments: { user_id: 'mia_li_3668' } } }] }
          : { role: 'assistant', content: t });
        gen.push(true);
      });
      const t = tokenizeRollout(tok, msgs, side.tools, gen);
      return { tokens: t.tokens, mask: t.agentMask, advantage: k === 0 ? 1 : -0.5 };
    });
    const lens = rows.map((x) => x.tokens.length);
    expect(Math.min(...lens)).toBeGreaterThan(4500); // the real prompt (≈ 4.7k SmolLM2 tokens), not a stand-in
    const model = makeModel(cfg, false, 10);
    model.train = { recompute: true, attnChunk: 512, logitChunk: 256 };
    const sharedR = await batchGradients(model, rows, grpoLossKind, { microBatch: 2, padId: 0, sharePrefix: 64 });
    const alone = await batchGradients(model, rows, grpoLossKind, { microBatch: 1, padId: 0, sharePrefix: 0 });
    expect(sharedR.prefixes.length).toBe(1);
    expect(sharedR.prefixes[0].length).toBeGreaterThan(4500);
    const c = compare(alone.grads, sharedR.grads);
    expect(c.maxAbs).toBeGreaterThan(1e-4); // non-zero gradient
    expect(c.rel, c.worst).toBeLessThan(1e-4);
    // Every layer's weights get a gradient, not just the head (the prefix backward reaches them).
    const q0 = sharedR.grads.get('blk.0.attn_q.weight')!;
    expect(Math.max(...q0.map(Math.abs))).toBeGreaterThan(0);
  }, 600_000);

  it('a 2k-token dialogue trains whole (SFT), with a non-zero gradient on its last turn', async () => {
    const msgs: ChatMessage[] = [{ role: 'system', content: 'You are a helpful airline agent.' }];
    for (let i = 0; i < 40; i++) {
      msgs.push({ role: 'user', content: `Question ${i}: what about flight HAT${100 + i} on 2024-05-${10 + (i % 20)}? Please check seats and the fare.` });
      msgs.push({ role: 'assistant', content: `Flight HAT${100 + i} has ${i % 7} economy seats left at $${120 + i}.` });
    }
    const cut = tokenizeRollout(tok, msgs, [], msgs.map((m) => m.role === 'assistant'));
    expect(cut.tokens.length).toBeGreaterThan(1800);
    expect(cut.tokens.length).toBeLessThan(2600);
    // Only the last reply trained: its gradient needs the whole context through chunked attention.
    const lastStart = cut.agentMask.lastIndexOf(0, cut.agentMask.lastIndexOf(1)) + 1;
    const mask = cut.agentMask.map((m, i) => (i >= lastStart ? m : 0));
    const model = makeModel(cfg, false, 10);
    model.train = { recompute: true, attnChunk: 256 };
    const r = await batchGradients(model, [{ tokens: cut.tokens, mask }], { kind: 'sft' }, { microBatch: 1, padId: 0, sharePrefix: 64 });
    expect(r.lossTokens).toBeGreaterThan(5);
    const g = r.grads.get('blk.0.attn_k.weight')!;
    expect(Math.max(...g.map(Math.abs))).toBeGreaterThan(0);
  }, 300_000);
});
