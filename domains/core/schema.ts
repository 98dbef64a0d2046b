/**
 * A small model layer with pydantic v2 semantics, the single source of truth for
 *  - DB models (field names, order, defaults -> `dump()` matches `model_dump()`, nulls included),
 *  - coercion where τ² constructs a model (`Payment(amount=100.0)` -> `100`; lax mode),
 *  - ValidationError text (`1 validation error for X ...`) when that construction fails,
 *  - tool parameter JSON schemas in pydantic's `model_json_schema()` layout (OpenAI schemas).
 *
 * Model instances are plain objects whose key order is the field order; attribute assignment in
 * tools is a plain property write and is NOT validated, exactly like pydantic.
 */
import { PyFloat, deepCopy, orderedKeys, pyRepr, withKeyOrder, type PyValue } from '../pycompat/pyjson.ts';
import { pyTypeName } from '../pycompat/pyjson.ts';

export { pyTypeName };

export type TypeDesc =
  | { kind: 'str' }
  | { kind: 'int' }
  | { kind: 'float' }
  | { kind: 'bool' }
  | { kind: 'any' }
  | { kind: 'rawdict' }
  | { kind: 'literal'; values: string[] }
  | { kind: 'optional'; inner: TypeDesc }
  | { kind: 'list'; items: TypeDesc }
  | { kind: 'dict'; values: TypeDesc }
  | { kind: 'union'; options: TypeDesc[] }
  | { kind: 'model'; model: ModelDesc };

export interface FieldDesc {
  name: string;
  type: TypeDesc;
  description?: string;
  /** Present (even as null) when the field has a default; absent when required. */
  default?: PyValue;
}

export interface ModelDesc {
  name: string;
  fields: FieldDesc[];
  /** pydantic `extra=`; BaseModel default is 'ignore', τ²'s DB roots use 'forbid'. */
  extra?: 'ignore' | 'forbid';
  /** Class docstring, which pydantic puts into the JSON schema as `description`. */
  description?: string;
}

// Builders -------------------------------------------------------------------------------------
export const t = {
  str: (): TypeDesc => ({ kind: 'str' }),
  int: (): TypeDesc => ({ kind: 'int' }),
  float: (): TypeDesc => ({ kind: 'float' }),
  bool: (): TypeDesc => ({ kind: 'bool' }),
  any: (): TypeDesc => ({ kind: 'any' }),
  rawdict: (): TypeDesc => ({ kind: 'rawdict' }),
  literal: (...values: string[]): TypeDesc => ({ kind: 'literal', values }),
  optional: (inner: TypeDesc): TypeDesc => ({ kind: 'optional', inner }),
  list: (items: TypeDesc): TypeDesc => ({ kind: 'list', items }),
  dict: (values: TypeDesc): TypeDesc => ({ kind: 'dict', values }),
  union: (...options: TypeDesc[]): TypeDesc => ({ kind: 'union', options }),
  model: (model: ModelDesc): TypeDesc => ({ kind: 'model', model }),
};

/** Required field. */
export function field(name: string, type: TypeDesc, description?: string): FieldDesc {
  return { name, type, description };
}

/** Field with a default value. */
export function optField(name: string, type: TypeDesc, def: PyValue, description?: string): FieldDesc {
  return { name, type, description, default: def };
}

export function model(name: string, fields: FieldDesc[], opts: Pick<ModelDesc, 'extra' | 'description'> = {}): ModelDesc {
  return { name, fields, ...opts };
}

// Validation -----------------------------------------------------------------------------------

export interface LineError {
  loc: (string | number)[];
  type: string;
  msg: string;
  input: unknown;
}

/** pydantic's ValidationError, with the same `str()` text. */
export class ValidationError extends Error {
  constructor(readonly title: string, readonly errors: LineError[]) {
    super(formatValidationError(title, errors));
    this.name = 'ValidationError';
  }
}

const PYDANTIC_DOCS = 'https://errors.pydantic.dev/2.12/v/';

function formatValidationError(title: string, errors: LineError[]): string {
  const n = errors.length;
  const lines = [`${n} validation error${n === 1 ? '' : 's'} for ${title}`];
  for (const e of errors) {
    if (e.loc.length) lines.push(e.loc.join('.'));
    lines.push(`  ${e.msg} [type=${e.type}, input_value=${truncateRepr(pyRepr(e.input))}, input_type=${pyTypeName(e.input)}]`);
    lines.push(`    For further information visit ${PYDANTIC_DOCS}${e.type}`);
  }
  return lines.join('\n');
}

function truncateRepr(s: string): string {
  const chars = [...s];
  return chars.length > 50 ? `${chars.slice(0, 25).join('')}...${chars.slice(-24).join('')}` : s;
}


function isDict(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x) && !(x instanceof PyFloat);
}

function literalMsg(values: string[]): string {
  const q = values.map((v) => pyRepr(v));
  return q.length === 1 ? `Input should be ${q[0]}` : `Input should be ${q.slice(0, -1).join(', ')} or ${q[q.length - 1]}`;
}

const NUMERIC_STR = /^\s*[-+]?(\d+(_\d+)*)?(\.\d*)?([eE][-+]?\d+)?\s*$/;

/** Validate `value` against `type` in pydantic lax (python) mode; errors are appended to `errs`. */
export function validateValue(type: TypeDesc, value: unknown, loc: (string | number)[], errs: LineError[]): unknown {
  const err = (t: string, msg: string) => {
    errs.push({ loc, type: t, msg, input: value });
    return undefined;
  };
  switch (type.kind) {
    case 'any':
      return value;
    case 'str':
      return typeof value === 'string' ? value : err('string_type', 'Input should be a valid string');
    case 'int': {
      if (typeof value === 'boolean') return value ? 1 : 0;
      if (typeof value === 'number' && Number.isInteger(value)) return value;
      if (value instanceof PyFloat || typeof value === 'number') {
        const v = Number(value);
        if (!Number.isFinite(v)) return err('finite_number', 'Input should be a finite number');
        return Number.isInteger(v) ? v : err('int_from_float', 'Input should be a valid integer, got a number with a fractional part');
      }
      if (typeof value === 'string') {
        const s = value.trim().replace(/_/g, '');
        if (/^[-+]?\d+$/.test(s)) return Number(s);
        if (/^[-+]?\d+\.0*$/.test(s)) return Number(s);
        return err('int_parsing', 'Input should be a valid integer, unable to parse string as an integer');
      }
      return err('int_type', 'Input should be a valid integer');
    }
    case 'float': {
      if (value instanceof PyFloat) return value;
      if (typeof value === 'number') return new PyFloat(value);
      if (typeof value === 'boolean') return new PyFloat(value ? 1 : 0);
      if (typeof value === 'string') {
        const s = value.trim().toLowerCase();
        if (NUMERIC_STR.test(value) && /\d/.test(value)) return new PyFloat(Number(value.trim().replace(/_/g, '')));
        if (['inf', '+inf', 'infinity', '+infinity'].includes(s)) return new PyFloat(Infinity);
        if (['-inf', '-infinity'].includes(s)) return new PyFloat(-Infinity);
        if (['nan', '+nan', '-nan'].includes(s)) return new PyFloat(NaN);
        return err('float_parsing', 'Input should be a valid number, unable to parse string as a number');
      }
      return err('float_type', 'Input should be a valid number');
    }
    case 'bool': {
      if (typeof value === 'boolean') return value;
      if (value === 0 || value === 1) return value === 1;
      if (value instanceof PyFloat && (value.value === 0 || value.value === 1)) return value.value === 1;
      if (typeof value === 'string') {
        const s = value.toLowerCase();
        if (['0', 'off', 'f', 'false', 'n', 'no'].includes(s)) return false;
        if (['1', 'on', 't', 'true', 'y', 'yes'].includes(s)) return true;
        return err('bool_parsing', 'Input should be a valid boolean, unable to interpret input');
      }
      if (typeof value === 'number' || value instanceof PyFloat) {
        return err('bool_parsing', 'Input should be a valid boolean, unable to interpret input');
      }
      return err('bool_type', 'Input should be a valid boolean');
    }
    case 'literal':
      return typeof value === 'string' && type.values.includes(value) ? value : err('literal_error', literalMsg(type.values));
    case 'optional':
      return value === null || value === undefined ? null : validateValue(type.inner, value, loc, errs);
    case 'rawdict':
      return isDict(value) ? value : err('dict_type', 'Input should be a valid dictionary');
    case 'list': {
      if (!Array.isArray(value)) return err('list_type', 'Input should be a valid list');
      return value.map((v, i) => validateValue(type.items, v, [...loc, i], errs));
    }
    case 'dict': {
      if (!isDict(value)) return err('dict_type', 'Input should be a valid dictionary');
      const out: Record<string, unknown> = {};
      const keys = orderedKeys(value);
      for (const k of keys) out[k] = validateValue(type.values, value[k], [...loc, k], errs);
      return withKeyOrder(out, keys);
    }
    case 'union': {
      // Smart mode, simplified: the first member that validates without errors wins.
      const all: LineError[] = [];
      for (const opt of type.options) {
        const local: LineError[] = [];
        const out = validateValue(opt, value, loc, local);
        if (!local.length) return out;
        all.push(...local);
      }
      errs.push(...all);
      return undefined;
    }
    case 'model': {
      if (!isDict(value)) {
        return err('model_type', `Input should be a valid dictionary or instance of ${type.model.name}`);
      }
      return validateFields(type.model, value, loc, errs);
    }
  }
}

function validateFields(m: ModelDesc, value: Record<string, unknown>, loc: (string | number)[], errs: LineError[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of m.fields) {
    if (Object.prototype.hasOwnProperty.call(value, f.name) && value[f.name] !== undefined) {
      out[f.name] = validateValue(f.type, value[f.name], [...loc, f.name], errs);
    } else if ('default' in f) {
      out[f.name] = deepCopy(f.default);
    } else {
      errs.push({ loc: [...loc, f.name], type: 'missing', msg: 'Field required', input: value });
    }
  }
  if (m.extra === 'forbid') {
    const known = new Set(m.fields.map((f) => f.name));
    for (const k of Object.keys(value)) {
      if (!known.has(k)) errs.push({ loc: [...loc, k], type: 'extra_forbidden', msg: 'Extra inputs are not permitted', input: value[k] });
    }
  }
  return out;
}

/**
 * Construct a model instance like `Model(**data)` / `Model.model_validate(data)`: coerced values in
 * field order, defaults filled in, unknown keys dropped (or rejected with extra='forbid').
 * Throws `ValidationError` with pydantic's text.
 */
export function construct<T = Record<string, PyValue>>(m: ModelDesc, data: unknown): T {
  const errs: LineError[] = [];
  const out = validateValue(t.model(m), data, [], errs);
  if (errs.length) throw new ValidationError(m.name, errs);
  return out as T;
}

// JSON schema ----------------------------------------------------------------------------------

type Json = { [k: string]: unknown };

/** Python `str.title()` on a field name, then `_` -> space: pydantic's default field title. */
export function fieldTitle(name: string): string {
  let out = '';
  let prevCased = false;
  for (const ch of name) {
    const isLetter = ch.toLowerCase() !== ch.toUpperCase();
    out += isLetter ? (prevCased ? ch.toLowerCase() : ch.toUpperCase()) : ch;
    prevCased = isLetter;
  }
  return out.replace(/_/g, ' ');
}

function typeSchema(type: TypeDesc, defs: Map<string, Json>): Json {
  switch (type.kind) {
    case 'str':
      return { type: 'string' };
    case 'int':
      return { type: 'integer' };
    case 'float':
      return { type: 'number' };
    case 'bool':
      return { type: 'boolean' };
    case 'any':
      return {};
    case 'rawdict':
      return { additionalProperties: true, type: 'object' };
    case 'literal':
      return type.values.length === 1 ? { const: type.values[0], type: 'string' } : { enum: [...type.values], type: 'string' };
    case 'optional':
      return { anyOf: [typeSchema(type.inner, defs), { type: 'null' }] };
    case 'list':
      return { items: typeSchema(type.items, defs), type: 'array' };
    case 'dict':
      return { additionalProperties: typeSchema(type.values, defs), type: 'object' };
    case 'union':
      return { anyOf: type.options.map((o) => typeSchema(o, defs)) };
    case 'model': {
      if (!defs.has(type.model.name)) {
        defs.set(type.model.name, {}); // reserve first: recursive models
        defs.set(type.model.name, objectSchema(type.model.name, type.model.fields, defs, type.model.description));
      }
      return { $ref: `#/$defs/${type.model.name}` };
    }
  }
}

function objectSchema(title: string, fields: FieldDesc[], defs: Map<string, Json>, description?: string): Json {
  const properties: Json = {};
  const required: string[] = [];
  for (const f of fields) {
    const s: Json = { ...typeSchema(f.type, defs) };
    if ('default' in f) s.default = f.default;
    else required.push(f.name);
    if (f.description !== undefined) s.description = f.description;
    s.title = fieldTitle(f.name);
    properties[f.name] = s;
  }
  const out: Json = { properties };
  if (description !== undefined) out.description = description;
  if (required.length) out.required = required;
  out.title = title;
  out.type = 'object';
  return out;
}

/** Sort keys like pydantic's schema generator: everywhere except inside `properties` and `default`. */
function sortSchema(v: unknown, parentKey?: string): unknown {
  if (Array.isArray(v)) return v.map((x) => sortSchema(x));
  if (!isDict(v) || v instanceof PyFloat) return v;
  const keys = Object.keys(v);
  const ordered = parentKey === 'properties' ? keys : [...keys].sort();
  const out: Json = {};
  for (const k of ordered) out[k] = k === 'default' ? v[k] : sortSchema(v[k], parentKey === 'properties' ? undefined : k);
  return out;
}

/** pydantic `create_model(title, **fields).model_json_schema()` for a list of fields. */
export function jsonSchema(title: string, fields: FieldDesc[], description?: string): Json {
  const defs = new Map<string, Json>();
  const body = objectSchema(title, fields, defs, description);
  const out: Json = {};
  if (defs.size) {
    const d: Json = {};
    for (const name of [...defs.keys()].sort()) d[name] = defs.get(name);
    out.$defs = d;
  }
  Object.assign(out, body);
  return sortSchema(out) as Json;
}
