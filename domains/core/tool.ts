/**
 * Tools and toolkits.
 *
 * A `ToolDef` is the one definition of a tool: its name, kind, description, ordered parameters
 * (typed with `schema.ts`, so the OpenAI/pydantic JSON schema is generated from it) and its
 * implementation. A `ToolkitSpec` groups the tools offered to one side (agent or user) in the
 * reference's class-definition order, plus environment-only functions (`assert_*`, `set_*`, ...)
 * that tasks call but LLMs never see. `Toolkit` binds a spec to a live `Db`.
 */
import { PyFloat, dumps, orderedKeys, pyRepr, withKeyOrder, type PyValue } from '../pycompat/pyjson.ts';
import type { Db } from './db.ts';
import { PyError } from '../pycompat/errors.ts';

export { PyError };
import { jsonSchema, type FieldDesc } from './schema.ts';

export type ToolType = 'read' | 'write' | 'think' | 'generic';

/** Tool arguments as the LLM sent them, JSON-decoded with Python types kept (never coerced). */
export type ToolArgs = Record<string, PyValue>;

export interface ToolDef<T = any> {
  name: string;
  type: ToolType;
  /** Replayed during evaluation iff true; defaults to `type === 'write'`. */
  mutatesState?: boolean;
  /** Docstring short description (first line). */
  short: string;
  /** Docstring long description; the offered description is `short + "\n\n" + long`. */
  long?: string;
  /** Parameters in signature order; a field with `default` is optional. */
  params: FieldDesc[];
  /** Runs the tool. Throw `PyError` for the reference's exceptions. Missing optional args are filled with defaults. */
  run: (db: T, args: ToolArgs, kit: Toolkit<T>) => unknown;
}

/** A function callable by tasks (initialization actions, env assertions) but not offered to LLMs. */
export interface EnvFunctionDef<T = any> {
  name: string;
  params: FieldDesc[];
  run: (db: T, args: ToolArgs, kit: Toolkit<T>) => unknown;
}

export interface ToolkitSpec<T = any> {
  /** Python class name, used in TypeError/AttributeError texts (e.g. `AirlineTools`). */
  className: string;
  tools: ToolDef<T>[];
  functions?: EnvFunctionDef<T>[];
}


/** `ValueError(msg)`: what τ² tools raise for every domain error. */
export function fail(message: string): never {
  throw new PyError(message, 'ValueError');
}

/** Marks a value returned as a pydantic model: it is dumped as-is (ints stay ints) in tool output. */
export class ModelResult {
  constructor(readonly value: unknown) {}
}
export const asModel = (value: unknown): ModelResult => new ModelResult(value);

export function toolDescription(tool: Pick<ToolDef, 'short' | 'long' | 'name'>): string {
  if (!tool.short) return tool.name;
  return tool.long ? `${tool.short}\n\n${tool.long}` : tool.short;
}

export interface OpenAiToolSchema {
  type: 'function';
  function: { name: string; description: string; parameters: Record<string, unknown> };
}

/** `Tool.openai_schema`: description from the docstring, parameters from the pydantic model. */
export function openAiSchema(tool: ToolDef): OpenAiToolSchema {
  return {
    type: 'function',
    function: { name: tool.name, description: toolDescription(tool), parameters: jsonSchema('parameters', tool.params) },
  };
}

/**
 * Check keyword arguments against a Python signature and fill defaults, raising the TypeError text
 * CPython produces for `Class.method(**kwargs)`: unknown keywords first, then missing ones.
 */
export function bindArgs(qualname: string, params: FieldDesc[], args: Record<string, unknown>): ToolArgs {
  if (args === null || typeof args !== 'object' || Array.isArray(args)) {
    throw new PyError(`${qualname}() argument after ** must be a mapping, not ${pyTypeOf(args)}`, 'TypeError');
  }
  const names = new Set(params.map((p) => p.name));
  for (const k of Object.keys(args)) {
    if (!names.has(k)) throw new PyError(`${qualname}() got an unexpected keyword argument '${k}'`, 'TypeError');
  }
  const missing = params.filter((p) => !('default' in p) && !(p.name in args)).map((p) => `'${p.name}'`);
  if (missing.length) {
    const list =
      missing.length === 1
        ? missing[0]
        : missing.length === 2
          ? `${missing[0]} and ${missing[1]}`
          : `${missing.slice(0, -1).join(', ')}, and ${missing[missing.length - 1]}`;
    throw new PyError(
      `${qualname}() missing ${missing.length} required positional argument${missing.length === 1 ? '' : 's'}: ${list}`,
      'TypeError',
    );
  }
  const out: ToolArgs = {};
  for (const p of params) out[p.name] = p.name in args ? (args[p.name] as PyValue) : (p.default as PyValue);
  return out;
}

function pyTypeOf(x: unknown): string {
  if (x === null || x === undefined) return 'NoneType';
  if (Array.isArray(x)) return 'list';
  if (x instanceof PyFloat) return 'float';
  if (typeof x === 'number') return Number.isInteger(x) ? 'int' : 'float';
  if (typeof x === 'string') return 'str';
  if (typeof x === 'boolean') return 'bool';
  return typeof x;
}

/** A toolkit bound to its database (τ²'s `ToolKitBase` instance). */
export class Toolkit<T = any> {
  private readonly byName: Map<string, ToolDef<T>>;
  private readonly fnByName: Map<string, EnvFunctionDef<T>>;

  constructor(
    readonly spec: ToolkitSpec<T>,
    public db: Db<T>,
  ) {
    this.byName = new Map(spec.tools.map((tl) => [tl.name, tl]));
    this.fnByName = new Map((spec.functions ?? []).map((f) => [f.name, f]));
  }

  get className(): string {
    return this.spec.className;
  }

  /** Tools offered to the LLM, in definition order. */
  get tools(): ToolDef<T>[] {
    return this.spec.tools;
  }

  hasTool(name: string): boolean {
    return this.byName.has(name);
  }

  getTool(name: string): ToolDef<T> | undefined {
    return this.byName.get(name);
  }

  mutatesState(name: string): boolean {
    const tl = this.byName.get(name);
    if (!tl) return true;
    return tl.mutatesState ?? tl.type === 'write';
  }

  /** `use_tool`: raises `Tool 'x' not found.` for unknown names. */
  useTool(name: string, args: Record<string, unknown>): unknown {
    const tl = this.byName.get(name);
    if (!tl) throw new PyError(`Tool '${name}' not found.`);
    const bound = bindArgs(`${this.className}.${name}`, tl.params, args);
    return tl.run(this.db.data, bound, this);
  }

  /** `getattr(toolkit, name)(**args)`: env functions and tools alike. */
  callFunction(name: string, args: Record<string, unknown>): unknown {
    const fn = this.fnByName.get(name) ?? this.byName.get(name);
    if (!fn) throw new PyError(`'${this.className}' object has no attribute '${name}'`, 'AttributeError');
    const bound = bindArgs(`${this.className}.${name}`, fn.params, args);
    return fn.run(this.db.data, bound, this);
  }

  hasFunction(name: string): boolean {
    return this.fnByName.has(name) || this.byName.has(name);
  }
}

/**
 * `Environment.to_json_str`: a str is returned as-is; anything else is `json.dumps(x, default=str)`
 * after models are dumped and bare int/float/bool (also inside plain dicts/lists) become strings.
 */
export function toolOutputText(resp: unknown): string {
  if (typeof resp === 'string') return resp;
  return dumps(processOutput(resp), { default: String });
}

function processOutput(v: unknown): unknown {
  if (v instanceof ModelResult) return v.value;
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || v instanceof PyFloat) return pyRepr(v);
  if (Array.isArray(v)) return v.map(processOutput);
  if (typeof v === 'object') {
    const out: Record<string, unknown> = {};
    const keys = orderedKeys(v);
    for (const k of keys) out[k] = processOutput((v as Record<string, unknown>)[k]);
    return withKeyOrder(out, keys);
  }
  throw new PyError(`Unsupported type: ${typeof v}`);
}
