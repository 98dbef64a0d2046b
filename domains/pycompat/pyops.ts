/**
 * Python operations on raw (unvalidated) tool arguments, with Python's exception texts. τ² passes
 * LLM arguments straight to its tools, so a wrong type surfaces as the TypeError/AttributeError
 * Python would raise; these helpers reproduce the common ones.
 */
import { PyFloat } from './pyjson.ts';
import { pyTypeName } from './pyjson.ts';
import { PyError } from './errors.ts';

/** `key in mapping` (raises TypeError for unhashable keys: lists and dicts). */
export function hasKey(mapping: object, key: unknown): boolean {
  if (Array.isArray(key) || (typeof key === 'object' && key !== null && !(key instanceof PyFloat))) {
    throw new PyError(`unhashable type: '${pyTypeName(key)}'`, 'TypeError');
  }
  return typeof key === 'string' && Object.prototype.hasOwnProperty.call(mapping, key);
}

/** Items of `for x in value` (str -> chars, dict -> keys); TypeError for non-iterables. */
export function pyIter(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (typeof value === 'string') return [...value];
  if (value !== null && typeof value === 'object' && !(value instanceof PyFloat)) return Object.keys(value);
  throw new PyError(`'${pyTypeName(value)}' object is not iterable`, 'TypeError');
}

/** `len(value)`. */
export function pyLen(value: unknown): number {
  if (Array.isArray(value)) return value.length;
  if (typeof value === 'string') return [...value].length;
  if (value !== null && typeof value === 'object' && !(value instanceof PyFloat)) return Object.keys(value).length;
  throw new PyError(`object of type '${pyTypeName(value)}' has no len()`, 'TypeError');
}

export function isDictValue(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x) && !(x instanceof PyFloat);
}

/**
 * Attribute access on an element that is a model only if the reference converted it. `model` says
 * whether the list was converted (all elements were dicts); otherwise attribute access fails on the
 * raw element like `'dict' object has no attribute 'flight_number'`.
 */
export function attr(x: unknown, name: string, model: boolean): unknown {
  if (model && isDictValue(x)) return x[name];
  throw new PyError(`'${pyTypeName(x)}' object has no attribute '${name}'`, 'AttributeError');
}

/** `str(KeyError(key))`: the repr of the missing key. */
export function keyError(key: unknown): never {
  const repr = typeof key === 'string' ? `'${key.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'` : String(key);
  throw new PyError(repr, 'KeyError');
}
