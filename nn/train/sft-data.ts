// SFT data: OpenAI-chat-format JSONL (one dialogue per line, with its tool list) → token sequences
// with loss masks, for the agent (`sft`: assistant turns) or the user simulator (`user-sft`: the
// role-flipped dialogue, user turns and user tool calls).
//
// Line format: {"messages": [...], "tools"?: [...], "user_tools"?: [...], "user_system"?: "..."}
// Tool calls may be OpenAI-shaped ({id, type, function: {name, arguments: string}}) or τ²-shaped
// ({id, name, arguments: {...}, requestor}); both are accepted.
import { readFileSync } from 'node:fs';
import type { ChatMessage, OpenAiToolCall, ToolSpec } from '../model/chat-format.ts';
import { flipRoles, tokenizeChat, type ChatTokenizer } from '../model/tokenizer.ts';
import type { SftBatch } from './step.ts';

export interface SftDialogue {
  messages: ChatMessage[];
  tools: ToolSpec[];
  userTools: ToolSpec[];
  userSystem?: string;
  /** The user simulator's own view (export's `user_view`): system = its instructions, its tools. */
  userView?: { messages: ChatMessage[]; tools: ToolSpec[] };
}

export interface SftExample {
  tokens: number[];
  mask: number[];
}

function normCall(c: unknown, where: string): OpenAiToolCall {
  const o = c as Record<string, unknown>;
  if (o && typeof o === 'object' && o.function && typeof o.function === 'object') return o as unknown as OpenAiToolCall;
  if (o && typeof o.name === 'string') return { id: o.id as string | undefined, type: 'function', function: { name: o.name, arguments: (o.arguments ?? {}) as Record<string, unknown> }, requestor: o.requestor as 'user' | 'assistant' | undefined };
  throw new Error(`${where}: a tool call needs "function": {name, arguments} or "name" and "arguments"`);
}

function parseMessages(raw: Record<string, unknown>[], where: string): ChatMessage[] {
  return raw.map((m, j): ChatMessage => {
    if (!['system', 'user', 'assistant', 'tool'].includes(m.role as string)) throw new Error(`${where}: message ${j} has unknown role ${JSON.stringify(m.role)}`);
    const calls = m.tool_calls as unknown[] | null | undefined;
    return {
      role: m.role as ChatMessage['role'],
      content: (m.content as string | null | undefined) ?? null,
      tool_calls: calls?.length ? calls.map((c) => normCall(c, `${where} message ${j}`)) : undefined,
      tool_call_id: (m.tool_call_id ?? m.id) as string | undefined,
      requestor: m.requestor as 'user' | 'assistant' | undefined,
    };
  });
}

export function parseSftJsonl(text: string, source = 'input'): SftDialogue[] {
  const out: SftDialogue[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    const where = `${source}:${i + 1}`;
    let o: Record<string, unknown>;
    try { o = JSON.parse(line); } catch (e) { throw new Error(`${where}: not valid JSON (${(e as Error).message})`); }
    if (!Array.isArray(o.messages)) throw new Error(`${where}: missing "messages" array`);
    const messages = parseMessages(o.messages as Record<string, unknown>[], where);
    let userViewOut: SftDialogue['userView'];
    if (o.user_view !== undefined) {
      const uv = o.user_view as Record<string, unknown>;
      if (!uv || !Array.isArray(uv.messages)) throw new Error(`${where}: "user_view" needs a "messages" array`);
      userViewOut = { messages: parseMessages(uv.messages as Record<string, unknown>[], `${where} user_view`), tools: (uv.tools as ToolSpec[]) ?? [] };
    }
    out.push({ messages, tools: (o.tools as ToolSpec[]) ?? [], userTools: (o.user_tools as ToolSpec[]) ?? [], userSystem: o.user_system as string | undefined, userView: userViewOut });
  });
  return out;
}

export function loadSftJsonl(path: string): SftDialogue[] {
  return parseSftJsonl(readFileSync(path, 'utf8'), path);
}

export type SftMode = 'sft' | 'user-sft';

/**
 * Tokenized examples. A dialogue longer than maxLen is an error naming both lengths (cutting it would
 * train a different dialogue, or nothing); one without a trained token is skipped and counted.
 */
export function toExamples(dialogues: SftDialogue[], tok: ChatTokenizer, mode: SftMode, maxLen: number, source = 'dialogue'): { examples: SftExample[]; skipped: number } {
  const examples: SftExample[] = [];
  let skipped = 0;
  dialogues.forEach((d, i) => {
    const view = mode === 'sft' ? { messages: d.messages, tools: d.tools } : userView(d);
    const { tokens, mask } = tokenizeChat(tok, view.messages, view.tools, new Set(['assistant']));
    if (tokens.length > maxLen) throw new Error(`${source} ${i + 1} is ${tokens.length} tokens, longer than train.maxSeqLen = ${maxLen}; raise train.maxSeqLen (attention is chunked and blocks are recomputed, so memory grows about linearly)`);
    if (!mask.slice(1).some((m) => m)) { skipped++; return; }
    examples.push({ tokens, mask });
  });
  return { examples, skipped };
}

/**
 * The dialogue as the user simulator saw it, for user-model SFT: the export's `user_view` when the line
 * has one (its messages are already in the user's roles: the user's turns and tool calls are
 * `assistant`), else the role flip of the agent's view (which cannot hold the user's own tool calls
 * unless they were kept with `requestor: "user"`).
 */
export function userView(d: SftDialogue): { messages: ChatMessage[]; tools: ToolSpec[] } {
  if (d.userView) return d.userView;
  return { messages: flipRoles(d.messages, d.userSystem), tools: d.userTools };
}

/** Right-padded next-token batch: position t predicts token t+1, loss where mask[t+1]. */
export function sftBatch(examples: SftExample[], padId: number): SftBatch {
  const T = Math.max(1, ...examples.map((e) => e.tokens.length - 1));
  const b: SftBatch = { inputs: [], targets: [], mask: [] };
  for (const e of examples) {
    const inp = new Array(T).fill(padId), tgt = new Array(T).fill(padId), m = new Array(T).fill(0);
    for (let t = 0; t + 1 < e.tokens.length; t++) { inp[t] = e.tokens[t]; tgt[t] = e.tokens[t + 1]; m[t] = e.mask[t + 1]; }
    b.inputs.push(inp); b.targets.push(tgt); b.mask.push(m);
  }
  return b;
}
