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
 * Renders and tokenizes a chat message by message, marking the tokens of messages whose role is in
 * `trainRoles` (their text after the role header, including the end-of-turn token). Each message's
 * text is the difference between the template rendered up to it and up to the previous one; the
 * template must render prefixes as prefixes (ChatML-style templates do), which is checked.
 */
export function tokenizeChat(tok: ChatTokenizer, messages: readonly ChatMessage[], tools: readonly ToolSpec[], trainRoles: ReadonlySet<string>): TokenizedChat {
  const msgs: TemplateMessage[] = normalizeChat(tok.template, messages, tools);
  const tokens: number[] = [];
  const mask: number[] = [];
  let prev = '';
  for (let i = 0; i < msgs.length; i++) {
    const text = tok.template.render(msgs.slice(0, i + 1));
    if (!text.startsWith(prev)) throw new Error(`chat template does not render message ${i} as an extension of the previous ones`);
    const delta = text.slice(prev.length);
    prev = text;
    const train = trainRoles.has(msgs[i].role);
    // Split off the role header: everything up to where the message content starts.
    const at = msgs[i].content ? delta.indexOf(msgs[i].content) : -1;
    const head = train && at > 0 ? delta.slice(0, at) : train ? '' : delta;
    const body = train ? delta.slice(head.length) : '';
    const h = head ? tok.tokenize(head) : [];
    const b = body ? tok.tokenize(body) : [];
    tokens.push(...h, ...b);
    mask.push(...h.map(() => 0), ...b.map(() => 1));
  }
  return { tokens, mask };
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
    const at = gen && content ? delta.lastIndexOf(content) : -1;
    if (at < 0) {
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
