// The subset of the OpenAI chat-completions request the local server accepts, as a zod schema.
// Unknown top-level fields (user, logprobs, frequency_penalty, …) are accepted and ignored, as
// OpenAI-compatible servers commonly do; fields we do read are validated strictly.
import { z } from 'zod';

const TextPart = z.object({ type: z.literal('text'), text: z.string() });
const Content = z.union([z.string(), z.array(TextPart)]);

const ToolCall = z.object({
  id: z.string(),
  type: z.literal('function'),
  function: z.object({ name: z.string().min(1), arguments: z.string() }),
});

const Message = z.discriminatedUnion('role', [
  z.object({ role: z.literal('system'), content: Content, name: z.string().optional() }),
  z.object({ role: z.literal('developer'), content: Content, name: z.string().optional() }),
  z.object({ role: z.literal('user'), content: Content, name: z.string().optional() }),
  z.object({
    role: z.literal('assistant'),
    content: Content.nullable().optional(),
    tool_calls: z.array(ToolCall).optional(),
    name: z.string().optional(),
  }),
  z.object({ role: z.literal('tool'), content: Content, tool_call_id: z.string() }),
]);

const ToolName = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'tool names are 1-64 letters, digits, "_" or "-"');

const Tool = z.object({
  type: z.literal('function'),
  function: z.object({
    name: ToolName,
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
    strict: z.boolean().nullable().optional(),
  }),
});

const ToolChoice = z.union([
  z.enum(['auto', 'none', 'required']),
  z.object({ type: z.literal('function'), function: z.object({ name: ToolName }) }),
]);

const ResponseFormat = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text') }),
  z.object({ type: z.literal('json_object') }),
  z.object({
    type: z.literal('json_schema'),
    json_schema: z.object({
      name: z.string().min(1),
      description: z.string().optional(),
      schema: z.record(z.string(), z.unknown()).optional(),
      strict: z.boolean().nullable().optional(),
    }),
  }),
]);

export const ChatCompletionRequestSchema = z
  .object({
    model: z.string().min(1),
    messages: z.array(Message).min(1, 'messages must hold at least one message'),
    tools: z.array(Tool).optional(),
    tool_choice: ToolChoice.optional(),
    parallel_tool_calls: z.boolean().optional(),
    response_format: ResponseFormat.optional(),
    max_tokens: z.number().int().positive().nullable().optional(),
    max_completion_tokens: z.number().int().positive().nullable().optional(),
    temperature: z.number().min(0).max(2).nullable().optional(),
    top_p: z.number().gt(0).max(1).nullable().optional(),
    seed: z.number().int().nullable().optional(),
    stop: z.union([z.string(), z.array(z.string()).max(4)]).nullable().optional(),
    n: z.literal(1, 'only n = 1 is supported').nullable().optional(),
    /** Return each sampled token's log-probability (and, our extension, its id). Not with streaming. */
    logprobs: z.boolean().nullable().optional(),
    top_logprobs: z.literal(0, 'top_logprobs is not supported (only 0)').nullable().optional(),
    stream: z.boolean().nullable().optional(),
    stream_options: z.object({ include_usage: z.boolean().optional() }).nullable().optional(),
  })
  .loose()
  .superRefine((req, ctx) => {
    const names = new Set<string>();
    for (const [i, t] of (req.tools ?? []).entries()) {
      if (names.has(t.function.name)) ctx.addIssue({ code: 'custom', path: ['tools', i, 'function', 'name'], message: `duplicate tool name "${t.function.name}"` });
      names.add(t.function.name);
    }
    const choice = req.tool_choice;
    if (choice && choice !== 'none' && choice !== 'auto' && names.size === 0) {
      ctx.addIssue({ code: 'custom', path: ['tool_choice'], message: 'tool_choice requires a non-empty "tools" list' });
    }
    if (choice && typeof choice === 'object' && !names.has(choice.function.name)) {
      ctx.addIssue({ code: 'custom', path: ['tool_choice', 'function', 'name'], message: `tool_choice names "${choice.function.name}", which is not in "tools"` });
    }
    if (req.logprobs && req.stream) ctx.addIssue({ code: 'custom', path: ['logprobs'], message: 'logprobs are returned only without streaming' });
    if (req.response_format?.type === 'json_schema' && choice && choice !== 'none' && choice !== 'auto') {
      ctx.addIssue({ code: 'custom', path: ['response_format'], message: 'response_format json_schema cannot be combined with a forced tool_choice' });
    }
  });

export type ChatCompletionRequest = z.output<typeof ChatCompletionRequestSchema>;
export type RequestMessage = ChatCompletionRequest['messages'][number];
export type RequestTool = NonNullable<ChatCompletionRequest['tools']>[number];

/** Parse a request body; on failure, one message naming each problem by its path. */
export function parseChatRequest(body: unknown): { ok: true; value: ChatCompletionRequest } | { ok: false; message: string; param?: string } {
  const res = ChatCompletionRequestSchema.safeParse(body);
  if (res.success) return { ok: true, value: res.data };
  const issues = res.error.issues.slice(0, 5);
  const message = issues.map((i) => `${i.path.length ? i.path.join('.') : '(body)'}: ${i.message}`).join('; ');
  return { ok: false, message: `invalid request: ${message}`, param: issues[0]?.path.join('.') || undefined };
}

export function contentText(content: z.output<typeof Content> | null | undefined): string {
  if (content == null) return '';
  return typeof content === 'string' ? content : content.map((p) => p.text).join('');
}
