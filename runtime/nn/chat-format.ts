// Rendering OpenAI-format chats (with tools) into model text through the GGUF's own chat template
// (`tokenizer.chat_template`, Jinja), so the learner trains on exactly the text the model server
// prompts with. Templates without tool support (SmolLM2's ChatML) get tool calls and results
// rendered into message content in one fixed way, defined here and nowhere else:
//   assistant tool call  → content + "\n<tool_call>{"name": …, "arguments": {…}}</tool_call>"
//   tool result          → role "tool", content = the result text
//   tool definitions     → appended to the system message, as the model server describes them
// The call text and the tools block come from the model server's prompt code, so the policy is
// trained on the exact format the server prompts with and its grammar enforces.
import { Template } from '@huggingface/jinja';
import { TOOL_CALL_CLOSE, TOOL_CALL_OPEN, describeTools, formatCall } from '../model-server/prompt.ts';

export interface OpenAiToolCall {
  id?: string;
  type?: 'function';
  function: { name: string; arguments: string | Record<string, unknown> };
  /** τ² extension: who asked for the call (the user simulator has its own tools in telecom). */
  requestor?: 'assistant' | 'user';
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content?: string | null;
  tool_calls?: OpenAiToolCall[] | null;
  tool_call_id?: string;
  requestor?: 'assistant' | 'user';
}

export interface ToolSpec {
  type?: 'function';
  function: { name: string; description?: string; parameters?: unknown };
}

/** A message the template can render: role and plain-text content only. */
export interface TemplateMessage {
  role: string;
  content: string;
}

function argsObject(a: string | Record<string, unknown>): unknown {
  if (typeof a !== 'string') return a;
  try {
    return JSON.parse(a);
  } catch {
    throw new Error(`tool call arguments are not valid JSON: ${a.slice(0, 80)}`);
  }
}

export function renderToolCall(c: OpenAiToolCall): string {
  const args = c.function.arguments;
  const text = typeof args === 'string' ? (argsObject(args), args) : JSON.stringify(args);
  return `${TOOL_CALL_OPEN}${formatCall(c.function.name, text)}${TOOL_CALL_CLOSE}`;
}

export function renderToolsBlock(tools: readonly ToolSpec[]): string {
  if (!tools.length) return '';
  return describeTools(
    tools.map((t) => ({ type: 'function' as const, function: { ...t.function, parameters: t.function.parameters as Record<string, unknown> | undefined } })),
    'auto',
    false,
  );
}

/** OpenAI chat + tools → plain role/content messages (tool calls and tool list folded into text). */
export function normalizeChat(messages: readonly ChatMessage[], tools: readonly ToolSpec[] = []): TemplateMessage[] {
  const out: TemplateMessage[] = [];
  const block = renderToolsBlock(tools);
  messages.forEach((m, i) => {
    if (!['system', 'user', 'assistant', 'tool'].includes(m.role)) throw new Error(`message ${i}: unknown role "${m.role}"`);
    let content = m.content ?? '';
    if (m.tool_calls?.length) content = [content, ...m.tool_calls.map(renderToolCall)].filter((s) => s.length > 0).join('\n');
    if (m.role === 'system' && block && i === 0) content = content ? `${content}\n\n${block}` : block;
    out.push({ role: m.role, content });
  });
  if (block && messages[0]?.role !== 'system') out.unshift({ role: 'system', content: block });
  return out;
}

export class ChatTemplate {
  private tpl: Template;
  constructor(readonly source: string, private specials: { bos_token?: string; eos_token?: string } = {}) {
    this.tpl = new Template(source);
  }
  render(messages: readonly TemplateMessage[], addGenerationPrompt = false): string {
    return this.tpl.render({ messages, add_generation_prompt: addGenerationPrompt, ...this.specials });
  }
}
