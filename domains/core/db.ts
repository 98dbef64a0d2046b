/**
 * A domain database: a validated model instance (plain objects in field order) plus the
 * operations τ² performs on it — `model_dump()`, the sha256 hash used by the DB check, and the
 * deep-merge update used by `initial_state.initialization_data`.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse as parseToml } from 'smol-toml';
import { PyFloat, compareCodePoints, deepCopy, dumps, floatRepr, orderedKeys, parse as parseJson, withKeyOrder, type PyValue } from '../pycompat/pyjson.ts';
import { construct, type ModelDesc } from './schema.ts';

export class Db<T = Record<string, PyValue>> {
  constructor(
    readonly schema: ModelDesc,
    public data: T,
  ) {}

  /** `DB.model_validate(raw)`: coerces and fills defaults; throws ValidationError. */
  static fromData<T>(schema: ModelDesc, raw: unknown): Db<T> {
    return new Db<T>(schema, construct<T>(schema, raw));
  }

  /** Load `db.json` (Python number types kept) or `db.toml`. */
  static load<T>(schema: ModelDesc, path: string): Db<T> {
    const text = readFileSync(path, 'utf8');
    const raw = path.endsWith('.toml') ? tomlToPy(parseToml(text)) : parseJson(text);
    return Db.fromData<T>(schema, raw);
  }

  /** `model_dump()`: a deep copy, field order and nulls as stored. */
  dump(): PyValue {
    return deepCopy(this.data) as unknown as PyValue;
  }

  /**
   * Canonical content hash for the DB check. τ² compares gold and predicted hashes made by the same
   * code, so only internal consistency matters (notes §8.1): keys sorted at every level, ints,
   * floats (tagged), strings, bools and null kept distinct. ~10x faster than `pythonHash()`.
   */
  hash(): string {
    return canonicalHash(this.data);
  }

  /** Byte-exact `sha256(json.dumps(model_dump(), sort_keys=True, default=str))`, hex. */
  pythonHash(): string {
    return hashValue(this.data);
  }

  /** `update_pydantic_model_with_dict`: deep-merge `patch` into the dump, then re-validate. */
  update(patch: Record<string, unknown> | null | undefined): void {
    const merged = deepMerge(this.dump() as Record<string, unknown>, patch ?? {});
    this.data = construct<T>(this.schema, merged);
  }
}

/** sha256 of a canonical JSON text: sorted keys; Python floats as a tagged string no DB text can hold. */
export function canonicalHash(v: unknown): string {
  const text = JSON.stringify(v, function (this: Record<string, unknown>, key: string, value: unknown) {
    const raw = this[key]; // before toJSON
    if (raw instanceof PyFloat) return '\u0000f' + floatRepr(raw.value);
    if (typeof raw === 'number' && !Number.isInteger(raw)) return '\u0000f' + floatRepr(raw);
    if (typeof raw === 'bigint') return raw.toString();
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const keys = Object.keys(value).sort(compareCodePoints);
      const out: Record<string, unknown> = {};
      for (const k of keys) out[k] = (value as Record<string, unknown>)[k];
      return out;
    }
    return value;
  });
  return createHash('sha256').update(text ?? 'null', 'utf8').digest('hex');
}

/** sha256 of Python's `json.dumps(v, sort_keys=True, default=str)`. */
export function hashValue(v: unknown): string {
  return createHash('sha256').update(dumps(v, { sortKeys: true, default: String }), 'utf8').digest('hex');
}

/** addict-style recursive update: nested dicts merge, everything else (lists included) replaces. */
export function deepMerge(base: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const keys = orderedKeys(base);
  for (const k of keys) out[k] = base[k];
  for (const k of orderedKeys(patch)) {
    const v = patch[k];
    const cur = out[k];
    if (!Object.prototype.hasOwnProperty.call(out, k)) keys.push(k); // Python dict update appends new keys
    if (isDict(cur) && isDict(v)) out[k] = deepMerge(cur, v);
    else out[k] = deepCopy(v);
  }
  return withKeyOrder(out, keys);
}

function isDict(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x) && !(x instanceof PyFloat);
}

/** TOML floats (e.g. `1.0`) parse to JS numbers; TOML keeps the int/float distinction in text only. */
function tomlToPy(v: unknown): unknown {
  // smol-toml returns numbers for both; floats written like `10.0` are integral and would read as
  // ints. Callers whose schema declares `float` get them coerced back by validation, which is what
  // pydantic does too (TOML int -> float field -> float).
  if (Array.isArray(v)) return v.map(tomlToPy);
  if (isDict(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, tomlToPy(x)]));
  if (typeof v === 'bigint') return Number(v);
  return v;
}
