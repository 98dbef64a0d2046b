// The model server's tokenizer for a GGUF file (node-llama-cpp, vocabulary only) together with the
// file's chat template, and chat → (tokens, loss mask) for the trainers.
import { getLlama, type Llama, type LlamaModel as NlcModel, type Token } from 'node-llama-cpp';
import { readGguf, metaString, metaNumber } from './gguf-read.ts';
import { ChatTemplate, normalizeChat, type ChatMessage, type TemplateMessage, type ToolSpec } from './chat-format.ts';

export interface ChatTokenizer {
  template: ChatTemplate;
  bosId: number;
  eosId: number;
  tokenize(text: string): number[];
  detokenize(ids: readonly number[]): string;
  dispose(): Promise<void>;
}

let llamaPromise: Promise<Llama> | undefined;

/** Loads only the vocabulary of `ggufPath` with node-llama-cpp (the same code the model server runs). */
export async function loadChatTokenizer(ggufPath: string): Promise<ChatTokenizer> {
  const file = readGguf(ggufPath);
  const src = metaString(file, 'tokenizer.chat_template');
  if (!src) throw new Error(`${ggufPath}: no tokenizer.chat_template in the GGUF metadata`);
  const tokens = file.metadata.get('tokenizer.ggml.tokens') as string[] | undefined;
  const bosId = metaNumber(file, 'tokenizer.ggml.bos_token_id', 0);
  const eosId = metaNumber(file, 'tokenizer.ggml.eos_token_id', 0);
  const template = new ChatTemplate(src, { bos_token: tokens?.[bosId], eos_token: tokens?.[eosId] });
  llamaPromise ??= getLlama({ gpu: false, build: 'never' });
  const llama = await llamaPromise;
  const model: NlcModel = await llama.loadModel({ modelPath: ggufPath, vocabOnly: true });
  return {
    template,
    bosId,
    eosId,
    tokenize: (text) => [...model.tokenize(text, true)],
    detokenize: (ids) => model.detokenize(ids as Token[], true),
    dispose: () => model.dispose(),
  };
}

export interface TokenizedChat {
  tokens: number[];
  /** 1 where the token belongs to a trained turn's content (after its role header). */
  mask: number[];
}

/**
 * Renders and tokenizes a chat message by message, marking what the model must produce for messages
 * whose role is in `trainRoles` (in practice `assistant`): the message text (and tool-call text) and
 * the end-of-turn token — never the role header, never the newline the template writes after the
 * end-of-turn token (the next prompt supplies it, the model never generates it). Same rule as
 * tokenizeRollout, which this calls.
 */
export function tokenizeChat(tok: ChatTokenizer, messages: readonly ChatMessage[], tools: readonly ToolSpec[], trainRoles: ReadonlySet<string>): TokenizedChat {
  for (const r of trainRoles) if (r !== 'assistant') throw new Error(`tokenizeChat trains assistant turns only (got role ${r}); flip roles first`);
  const t = tokenizeRollout(tok, messages, tools, messages.map((m) => trainRoles.has(m.role)));
  return { tokens: t.tokens, mask: t.agentMask };
}

/** Role flip for user-model SFT: the user becomes the assistant being trained. */
export function flipRoles(messages: readonly ChatMessage[], userSystem?: string): ChatMessage[] {
  const out: ChatMessage[] = [];
  if (userSystem) out.push({ role: 'system', content: userSystem });
  for (const m of messages) {
    if (m.role === 'system') continue; // the agent's instructions are not the user's
    if (m.role === 'tool') {
      // Keep only results of the user's own tool calls; the user never sees the agent's tools.
      if (m.requestor === 'user') out.push({ role: 'tool', content: m.content, tool_call_id: m.tool_call_id });
      continue;
    }
    const calls = (m.tool_calls ?? []).filter((c) => (c.requestor ?? (m.role === 'user' ? 'user' : 'assistant')) === 'user');
    if (m.role === 'assistant') {
      if (!m.content) continue;
      // Agent text split around (hidden) tool calls reads as one turn to the user.
      const last = out[out.length - 1];
      if (last?.role === 'user' && !last.tool_calls?.length) last.content = `${last.content ?? ''}\n${m.content}`;
      else out.push({ role: 'user', content: m.content });
    } else {
      out.push({ role: 'assistant', content: m.content ?? '', tool_calls: calls.length ? calls : undefined });
    }
  }
  return out;
}

export interface TokenizedRollout {
  tokens: number[];
  /** 1 for tokens the policy generated: a generated assistant turn's text/tool-call text and its end-of-turn token. */
  agentMask: number[];
}

/**
 * A dialogue as the agent saw it (system prompt, tools, its view of the turns) → learner tokens, with
 * the same rendering the model server prompts with. `generated[i]` says whether message i came from
 * the policy (a fixed greeting or a task's message history did not): of those, the content (text and
 * `<tool_call>` JSON) and the end-of-turn token right after it are marked — what the model sampled —
 * but not the role header or what the template writes after the end-of-turn token.
 */
export function tokenizeRollout(tok: ChatTokenizer, messages: readonly ChatMessage[], tools: readonly ToolSpec[], generated: readonly boolean[]): TokenizedRollout {
  if (generated.length !== messages.length) throw new Error(`tokenizeRollout: ${generated.length} generated flags for ${messages.length} messages`);
  const msgs = normalizeChat(tok.template, messages, tools);
  const offset = msgs.length - messages.length; // a system message holding the tools block may lead
  const tokens: number[] = [];
  const agentMask: number[] = [];
  let prev = '';
  for (let i = 0; i < msgs.length; i++) {
    const text = tok.template.render(msgs.slice(0, i + 1));
    if (!text.startsWith(prev)) throw new Error(`chat template does not render message ${i} as an extension of the previous ones`);
    const delta = text.slice(prev.length);
    prev = text;
    const gen = i >= offset && generated[i - offset];
    if (gen && msgs[i].role !== 'assistant') throw new Error(`message ${i - offset} is marked generated but its role is ${msgs[i].role}`);
    const content = msgs[i].content;
    if (gen && content === '') {
      // An empty reply: the model produced only the end-of-turn token right after the header.
      const t = tok.tokenize(delta);
      const e = t.indexOf(tok.eosId);
      tokens.push(...t);
      agentMask.push(...t.map((_, j) => (j === e ? 1 : 0)));
      continue;
    }
    const at = gen && content ? delta.lastIndexOf(content) : -1;
    if (at < 0) {
      if (gen) throw new Error(`message ${i - offset}: the rendered turn does not contain its content; cannot mark what the model produced`);
      const t = tok.tokenize(delta);
      tokens.push(...t);
      agentMask.push(...t.map(() => 0));
      continue;
    }
    const h = at > 0 ? tok.tokenize(delta.slice(0, at)) : [];
    const b = tok.tokenize(content);
    const tail = delta.slice(at + content.length);
    const t = tail ? tok.tokenize(tail) : [];
    tokens.push(...h, ...b, ...t);
    agentMask.push(...h.map(() => 0), ...b.map(() => 1), ...t.map((id, j) => (j === 0 && id === tok.eosId ? 1 : 0)));
  }
  return { tokens, agentMask };
}

/** What the sampler drew for one generated turn (the model server's `logprobs` with token ids). */
export interface SampledTurn {
  tokenIds: readonly number[];
  logprobs: readonly number[];
}

export interface TrainSequence {
  tokens: number[];
  /** 1 on tokens to train: sampled tokens of generated turns (and, for turns without sampling data, their re-rendered text and end-of-turn token). */
  agentMask: number[];
  /** The sampler's log-prob of each trained token (NaN where unknown: re-rendered turns, untrained tokens). */
  logprobs: number[];
}

/**
 * A dialogue as the agent saw it → training sequences that train exactly the sampled token ids.
 * Before each generated turn the sequence holds the server's prompt (the learner's rendering, which
 * equals it — tests/learner/rollout-tokens.test.ts); the turn's tokens are the sampled ids, with their
 * log-probs. Later prompts show the turn re-rendered (tool calls as canonical JSON); when that
 * rendering is exactly the sampled ids (+ the end-of-turn token), one sequence goes on; when it is not
 * (e.g. `{"a": 1}` sampled, `{"a":1}` shown later), the sequence ends after the sampled tokens and a
 * new one continues from the re-rendered history (earlier turns untrained there), so every turn is
 * trained in the context the model really had. A generated turn without sampling data is trained on
 * its re-rendering (log-probs unknown). `split` counts the extra sequences.
 */
export function tokenizeSampledRollout(
  tok: ChatTokenizer,
  messages: readonly ChatMessage[],
  tools: readonly ToolSpec[],
  generated: readonly boolean[],
  sampled: readonly (SampledTurn | undefined)[],
): { sequences: TrainSequence[]; split: number } {
  if (generated.length !== messages.length || sampled.length !== messages.length) throw new Error(`tokenizeSampledRollout: ${generated.length} generated flags and ${sampled.length} sampled entries for ${messages.length} messages`);
  const msgs = normalizeChat(tok.template, messages, tools);
  const offset = msgs.length - messages.length;
  const sequences: TrainSequence[] = [];
  let cur: TrainSequence = { tokens: [], agentMask: [], logprobs: [] };
  const push = (ids: readonly number[], m: number, lps?: readonly number[]) => {
    cur.tokens.push(...ids);
    cur.agentMask.push(...ids.map(() => m));
    cur.logprobs.push(...ids.map((_, j) => (lps ? lps[j] : NaN)));
  };
  let prev = '';
  for (let i = 0; i < msgs.length; i++) {
    const text = tok.template.render(msgs.slice(0, i + 1));
    if (!text.startsWith(prev)) throw new Error(`chat template does not render message ${i} as an extension of the previous ones`);
    const delta = text.slice(prev.length);
    prev = text;
    const k = i - offset;
    const gen = k >= 0 && generated[k];
    if (gen && msgs[i].role !== 'assistant') throw new Error(`message ${k} is marked generated but its role is ${msgs[i].role}`);
    const s = gen ? sampled[k] : undefined;
    if (s && s.tokenIds.length !== s.logprobs.length) throw new Error(`message ${k}: ${s.tokenIds.length} sampled ids but ${s.logprobs.length} log-probs`);
    if (!s) {
      // Same marking as tokenizeRollout, for this message's text.
      const content = msgs[i].content;
      const at = gen && content ? delta.lastIndexOf(content) : -1;
      if (at < 0) { push(tok.tokenize(delta), 0); continue; }
      const h = at > 0 ? tok.tokenize(delta.slice(0, at)) : [];
      const b = tok.tokenize(content);
      const tail = delta.slice(at + content.length);
      const t = tail ? tok.tokenize(tail) : [];
      push(h, 0); push(b, 1);
      if (t.length && t[0] === tok.eosId) { push([t[0]], 1); push(t.slice(1), 0); } else push(t, 0);
      continue;
    }
    // The header, the turn as later prompts show it (text + end-of-turn), and what follows.
    const all = tok.tokenize(delta);
    const content = msgs[i].content;
    let header: number[], shown: number[], after: number[];
    if (content) {
      const at = delta.lastIndexOf(content);
      if (at < 0) throw new Error(`message ${k}: the rendered turn does not contain its content`);
      header = at > 0 ? tok.tokenize(delta.slice(0, at)) : [];
      const tail = tok.tokenize(delta.slice(at + content.length));
      const e = tail[0] === tok.eosId ? 1 : 0;
      shown = [...tok.tokenize(content), ...tail.slice(0, e)];
      after = tail.slice(e);
    } else {
      const e = all.indexOf(tok.eosId);
      header = all.slice(0, e < 0 ? all.length : e);
      shown = e < 0 ? [] : [tok.eosId];
      after = e < 0 ? [] : all.slice(e + 1);
    }
    push(header, 0);
    const same = shown.length === s.tokenIds.length && shown.every((id, j) => id === s.tokenIds[j]);
    if (same) { push(s.tokenIds, 1, s.logprobs); push(after, 0); continue; }
    // The later prompts differ from what was sampled: close this sequence after the sampled tokens,
    // continue from the re-rendered history with nothing before it trained again.
    const resume = { tokens: [...cur.tokens, ...shown, ...after], agentMask: [] as number[], logprobs: [] as number[] };
    push(s.tokenIds, 1, s.logprobs);
    sequences.push(cur);
    resume.agentMask = resume.tokens.map(() => 0);
    resume.logprobs = resume.tokens.map(() => NaN);
    cur = resume;
  }
  if (cur.agentMask.some((m) => m)) sequences.push(cur); // a last piece that trains nothing is dropped
  return { sequences, split: Math.max(0, sequences.length - 1) };
}
