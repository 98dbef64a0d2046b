// Checks a completion against what the request asked for: known tools, JSON arguments that fit the
// tool's parameter schema, a non-empty message, a JSON answer that fits response_format's schema.
import { z } from 'zod';
import { EmptyMessageError, MalformedToolCallError, SchemaViolationError } from './errors.ts';

export interface ToolSpec {
  name: string;
  description?: string;
  /** JSON Schema of the arguments object. */
  parameters: Record<string, unknown>;
}

export interface ParsedToolCall {
  id: string;
  name: string;
  /** Parsed arguments (already validated against the tool's schema). */
  arguments: Record<string, unknown>;
  rawArguments: string;
}

export interface RawToolCall {
  id: string;
  name: string;
  arguments: string;
}

type Validator = (value: unknown) => string | undefined;

const validatorCache = new WeakMap<object, Validator>();

/** A validator for a JSON Schema: returns undefined when valid, else a short description of the problems. */
export function jsonSchemaValidator(schema: Record<string, unknown>): Validator {
  const cached = validatorCache.get(schema);
  if (cached) return cached;
  let zodSchema: z.ZodType | undefined;
  try {
    zodSchema = z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]);
  } catch {
    // A schema zod cannot translate is still enforced by the server's grammar where there is one;
    // here we fall back to "any JSON value" rather than rejecting every answer.
    zodSchema = undefined;
  }
  const validator: Validator = (value) => {
    if (!zodSchema) return undefined;
    const res = zodSchema.safeParse(value);
    if (res.success) return undefined;
    return res.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
      .join('; ');
  };
  validatorCache.set(schema, validator);
  return validator;
}

export function parseToolCall(call: RawToolCall, tools: readonly ToolSpec[]): ParsedToolCall {
  const tool = tools.find((t) => t.name === call.name);
  if (!tool) {
    const names = tools.map((t) => t.name).join(', ') || '(none)';
    throw new MalformedToolCallError('unknown_tool', call.name, call.arguments, `Available tools: ${names}.`, call.id);
  }
  let args: unknown;
  try {
    args = JSON.parse(call.arguments === '' ? '{}' : call.arguments);
  } catch (err) {
    throw new MalformedToolCallError('invalid_json', call.name, call.arguments, (err as Error).message, call.id);
  }
  if (args === null || typeof args !== 'object' || Array.isArray(args)) {
    throw new MalformedToolCallError('invalid_json', call.name, call.arguments, 'arguments must be a JSON object', call.id);
  }
  const problem = jsonSchemaValidator(tool.parameters)(args);
  if (problem) throw new MalformedToolCallError('schema_mismatch', call.name, call.arguments, problem, call.id);
  return { id: call.id, name: call.name, arguments: args as Record<string, unknown>, rawArguments: call.arguments };
}

export function parseJsonAnswer(content: string | null, schemaName: string, schema: Record<string, unknown> | undefined): unknown {
  if (content == null || content.trim() === '') throw new SchemaViolationError(schemaName, content ?? '', 'the answer is empty');
  let value: unknown;
  try {
    value = JSON.parse(content);
  } catch (err) {
    throw new SchemaViolationError(schemaName, content, `it is not valid JSON (${(err as Error).message})`);
  }
  if (schema) {
    const problem = jsonSchemaValidator(schema)(value);
    if (problem) throw new SchemaViolationError(schemaName, content, problem);
  }
  return value;
}

export function assertNotEmpty(content: string | null, toolCalls: readonly unknown[]): void {
  if ((content == null || content.trim() === '') && toolCalls.length === 0) throw new EmptyMessageError();
}
