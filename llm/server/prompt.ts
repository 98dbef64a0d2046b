// Chat messages (+ tools) → one prompt string, through the chat template stored in the GGUF file.
//
// Tools are described to the model in a system block written by us, not through the template's own
// tool support (few small models have any, and the output format must match our grammar anyway):
// a call is `<tool_call>{"name": …, "arguments": {…}}</tool_call>`. Past assistant tool calls are
// rendered in that same form; tool results are rendered as role "tool" when the template knows that
// role, else as a user turn wrapped in <tool_response> tags.
import { Template } from '@huggingface/jinja';
import { contentText, type ChatCompletionRequest, type RequestMessage, type RequestTool } from './request.ts';

export const TOOL_CALL_OPEN = '<tool_call>';
export const TOOL_CALL_CLOSE = '</tool_call>';

export interface TemplateTokens {
  bos: string;
  eos: string;
}

/** Chat template used when a GGUF carries none: ChatML, which most small instruct models know. */
const chatMlTemplate =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

export class PromptRenderer {
  private readonly template: Template;
  /** Whether the template has a `tool` role (else tool results become `<tool_response>` user turns). */
  readonly knowsToolRole: boolean;

  constructor(
    source: string | undefined,
    private readonly tokens: TemplateTokens,
  ) {
    this.template = new Template(source ?? chatMlTemplate);
    this.knowsToolRole = source ? /['"]tool['"]/.test(source) : false;
  }

  render(req: Pick<ChatCompletionRequest, 'messages' | 'tools' | 'tool_choice' | 'response_format' | 'parallel_tool_calls'>): string {
    return this.renderMessages(this.templateMessages(req), true);
  }

  /** The template with plain role/content messages (the learner renders prefixes of a chat with it). */
  renderMessages(messages: readonly { role: string; content: string }[], addGenerationPrompt: boolean): string {
    return this.template.render({
      messages: messages.map((m) => ({ ...m })),
      add_generation_prompt: addGenerationPrompt,
      bos_token: this.tokens.bos,
      eos_token: this.tokens.eos,
    });
  }

  /**
   * The request as the plain role/content messages handed to the template: tool calls and results
   * folded into text, the tools block (and JSON instructions) in the system message. The learner
   * trains on exactly these messages (nn/model/chat-format.ts).
   */
  templateMessages(req: Pick<ChatCompletionRequest, 'messages' | 'tools' | 'tool_choice' | 'response_format' | 'parallel_tool_calls'>): { role: string; content: string }[] {
    const messages = req.messages.map((m) => this.toTemplateMessage(m));
    const extra: string[] = [];
    const toolsActive = req.tools?.length && req.tool_choice !== 'none';
    if (toolsActive) extra.push(describeTools(req.tools!, req.tool_choice, req.parallel_tool_calls === true));
    if (req.response_format?.type === 'json_schema') {
      const schema = req.response_format.json_schema.schema;
      extra.push(`Answer with only a JSON value${schema ? ` matching this JSON schema:\n${JSON.stringify(schema)}` : ''}`);
    } else if (req.response_format?.type === 'json_object') {
      extra.push('Answer with only a JSON object.');
    }
    if (extra.length) {
      const block = extra.join('\n\n');
      const first = messages[0];
      if (first?.role === 'system') first.content = first.content ? `${first.content}\n\n${block}` : block;
      else messages.unshift({ role: 'system', content: block });
    }
    return messages;
  }

  private toTemplateMessage(m: RequestMessage): { role: string; content: string } {
    switch (m.role) {
      case 'system':
      case 'developer':
        return { role: 'system', content: contentText(m.content) };
      case 'user':
        return { role: 'user', content: contentText(m.content) };
      case 'assistant': {
        const calls = (m.tool_calls ?? []).map((tc) => `${TOOL_CALL_OPEN}${formatCall(tc.function.name, tc.function.arguments)}${TOOL_CALL_CLOSE}`);
        return { role: 'assistant', content: [contentText(m.content), ...calls].filter((s) => s !== '').join('\n') };
      }
      case 'tool':
        return this.knowsToolRole
          ? { role: 'tool', content: contentText(m.content) }
          : { role: 'user', content: `<tool_response>\n${contentText(m.content)}\n</tool_response>` };
    }
  }
}

/** The JSON of one tool call inside the tags (shared with the learner's training text). */
export function formatCall(name: string, args: string): string {
  let parsed: unknown = args;
  try {
    parsed = JSON.parse(args || '{}');
  } catch {
    // keep the raw text: the history shows what was sent
  }
  return JSON.stringify({ name, arguments: parsed });
}

/** The system block that tells the model its tools and the call format (shared with the learner). */
export function describeTools(tools: readonly RequestTool[], choice: ChatCompletionRequest['tool_choice'], parallel: boolean): string {
  const lines = tools.map((t) =>
    JSON.stringify({ name: t.function.name, description: t.function.description ?? '', parameters: t.function.parameters ?? { type: 'object', properties: {} } }),
  );
  const how =
    `To call a tool, reply with ${TOOL_CALL_OPEN}{"name": <tool name>, "arguments": <arguments object>}${TOOL_CALL_CLOSE}` +
    (parallel ? ' (several calls may follow each other).' : ' (one call per reply).');
  let must = '';
  if (choice === 'required') must = '\nYou must call one of the tools now.';
  else if (choice && typeof choice === 'object') must = `\nYou must call the tool "${choice.function.name}" now.`;
  return `You can use these tools:\n${lines.join('\n')}\n${how}${must}`;
}
