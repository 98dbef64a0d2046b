// Typed failures of a model call. Two families:
//  - transport/endpoint failures (LlmHttpError, LlmTimeoutError, LlmConnectionError, LlmBadResponseError):
//    the call did not produce a usable completion; some are retried before they surface;
//  - malformed model output (MalformedOutputError and subclasses): the endpoint answered, but the
//    answer breaks the contract of the request. These carry `toModelMessage()`, a short text a role
//    can send back to the model as feedback, so a bad answer costs one turn instead of a crash.

export class LlmError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad or missing configuration (unknown env var for the key, invalid base URL, …). Never retried. */
export class LlmConfigError extends LlmError {}

/** The endpoint answered with an HTTP error status. */
export class LlmHttpError extends LlmError {
  constructor(
    readonly status: number,
    readonly body: string,
    readonly attempts: number,
  ) {
    super(`model endpoint answered HTTP ${status} after ${attempts} attempt(s): ${body.slice(0, 300)}`);
  }
}

/** No answer within the request timeout. */
export class LlmTimeoutError extends LlmError {
  constructor(
    readonly timeoutMs: number,
    readonly attempts: number,
    options?: { cause?: unknown },
  ) {
    super(`model call timed out after ${timeoutMs} ms (${attempts} attempt(s))`, options);
  }
}

/** The endpoint could not be reached (refused, reset, DNS). */
export class LlmConnectionError extends LlmError {
  constructor(
    readonly baseURL: string,
    readonly attempts: number,
    options?: { cause?: unknown },
  ) {
    super(`cannot reach model endpoint ${baseURL} (${attempts} attempt(s)): ${describeCause(options?.cause)}`, options);
  }
}

/** The endpoint answered 2xx but the body is not a chat completion (not JSON, no choices, …). */
export class LlmBadResponseError extends LlmError {
  constructor(
    detail: string,
    readonly attempts: number,
    options?: { cause?: unknown },
  ) {
    super(`model endpoint sent an unusable response (${attempts} attempt(s)): ${detail}`, options);
  }
}

/** The model answered, but the answer is not what the request asked for. */
export abstract class MalformedOutputError extends LlmError {
  /** The assistant message as received, so the caller can keep it in the history before the feedback. */
  assistantMessage?: unknown;
  /** Tokens the rejected answer cost (already in the usage ledger). */
  usage?: { promptTokens: number; completionTokens: number };
  /** A message to hand back to the model so it can correct itself on the next turn. */
  abstract toModelMessage(): string;
}

/** An assistant message with neither text nor tool calls. */
export class EmptyMessageError extends MalformedOutputError {
  constructor() {
    super('the model returned an empty message (no text, no tool calls)');
  }
  toModelMessage(): string {
    return 'Your last reply was empty. Answer with text or call one of the available tools.';
  }
}

export type ToolCallProblem = 'invalid_json' | 'unknown_tool' | 'schema_mismatch';

/** A tool call whose name is unknown or whose arguments are not JSON / do not fit the tool's schema. */
export class MalformedToolCallError extends MalformedOutputError {
  constructor(
    readonly problem: ToolCallProblem,
    readonly toolName: string,
    readonly rawArguments: string,
    readonly detail: string,
    readonly toolCallId?: string,
  ) {
    super(`malformed tool call "${toolName}" (${problem}): ${detail}`);
  }
  toModelMessage(): string {
    switch (this.problem) {
      case 'unknown_tool':
        return `There is no tool named "${this.toolName}". ${this.detail}`;
      case 'invalid_json':
        return `The arguments of your call to "${this.toolName}" are not valid JSON (${this.detail}). Call the tool again with a JSON object as arguments.`;
      case 'schema_mismatch':
        return `The arguments of your call to "${this.toolName}" do not match its parameters: ${this.detail}. Call the tool again with corrected arguments.`;
    }
  }
}

/** A JSON-schema answer (response_format) that is not JSON or does not match the schema. */
export class SchemaViolationError extends MalformedOutputError {
  constructor(
    readonly schemaName: string,
    readonly rawContent: string,
    readonly detail: string,
  ) {
    super(`answer does not match schema "${schemaName}": ${detail}`);
  }
  toModelMessage(): string {
    return `Your answer must be a JSON value matching the schema "${this.schemaName}", but ${this.detail}. Answer again with only the corrected JSON.`;
  }
}

function describeCause(cause: unknown): string {
  if (cause instanceof Error) {
    const inner = (cause as Error & { cause?: unknown }).cause;
    return inner instanceof Error ? `${cause.message} (${inner.message})` : cause.message;
  }
  return String(cause ?? 'unknown error');
}
