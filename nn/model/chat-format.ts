// Rendering OpenAI-format chats (with tools) into model text through the GGUF's own chat template
// (`tokenizer.chat_template`, Jinja), so the learner trains on exactly the text the model server
// prompts with. One function folds tool calls, tool results and the tool list into plain
// role/content messages, and it is the model server's (`PromptRenderer.templateMessages` in
// llm/server/prompt.ts); the learner only converts its message shape to the server's:
//   assistant tool call  → content + "\n<tool_call>{"name": …, "arguments": {…}}</tool_call>"
//   tool result          → role "tool" when the template knows that role, else a user turn
//                          "<tool_response>\n…\n</tool_response>" (SmolLM2's ChatML has no tool role)
//   tool definitions     → appended to the system message, as the server describes them
import { PromptRenderer } from '../../llm/server/prompt.ts';
import type { RequestMessage } from '../../llm/server/request.ts';

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

/** Our message shape → the model server's request message (arguments as JSON text, no null content). */
export function toRequestMessage(m: ChatMessage, i: number): RequestMessage {
  const content = m.content ?? '';
  switch (m.role) {
    case 'system':
    case 'user':
      return { role: m.role, content };
    case 'assistant':
      return {
        role: 'assistant',
        content,
        ...(m.tool_calls?.length
          ? { tool_calls: m.tool_calls.map((c, j) => ({ id: c.id ?? `call_${i}_${j}`, type: 'function' as const, function: { name: c.function.name, arguments: argsText(c.function.arguments) } })) }
          : {}),
      };
    case 'tool':
      return { role: 'tool', content, tool_call_id: m.tool_call_id ?? `call_${i}` };
    default:
      throw new Error(`message ${i}: unknown role "${(m as { role: string }).role}"`);
  }
}

function argsText(a: string | Record<string, unknown>): string {
  if (typeof a !== 'string') return JSON.stringify(a);
  argsObject(a); // bad JSON is an error in training data
  return a;
}

/**
 * OpenAI chat + tools → plain role/content messages, by the model server's own code for the given
 * template (whether tool results are `tool` turns or `<tool_response>` user turns depends on it).
 */
export function normalizeChat(template: ChatTemplate, messages: readonly ChatMessage[], tools: readonly ToolSpec[] = []): TemplateMessage[] {
  return template.renderer.templateMessages({
    messages: messages.map(toRequestMessage),
    tools: tools.length ? tools.map((t) => ({ type: 'function' as const, function: { name: t.function.name, description: t.function.description, parameters: t.function.parameters as Record<string, unknown> | undefined } })) : undefined,
    tool_choice: tools.length ? 'auto' : undefined,
    parallel_tool_calls: false,
  });
}

/** The GGUF's chat template, rendered by the model server's renderer. */
export class ChatTemplate {
  readonly renderer: PromptRenderer;
  constructor(readonly source: string, specials: { bos_token?: string; eos_token?: string } = {}) {
    this.renderer = new PromptRenderer(source, { bos: specials.bos_token ?? '', eos: specials.eos_token ?? '' });
  }
  render(messages: readonly TemplateMessage[], addGenerationPrompt = false): string {
    return this.renderer.renderMessages(messages, addGenerationPrompt);
  }
}
