/**
 * Python-compatible JSON and number text.
 *
 * τ²-bench hashes databases and compares tool outputs through Python's `json` module, where `1` and
 * `1.0` are different values (an int and a float) and print differently. JavaScript has one number
 * type, so Troupe tags Python floats explicitly:
 *
 * - a JS `number` is a Python **int** (integral; ints beyond 2^53 lose precision — none occur in τ²);
 * - a `PyFloat` instance is a Python **float** (`new PyFloat(1)` prints as `1.0`);
 * - `boolean` is bool, `null` is None, `string`, arrays (lists) and plain objects (dicts) as usual.
 *
 * `parse` produces this representation (a number literal with `.`, `e` or `E` becomes a PyFloat,
 * like `json.loads`; `NaN`/`Infinity`/`-Infinity` literals are accepted as Python does). `dumps`
 * writes exactly what `json.dumps(value, sort_keys=?)` writes with the default separators and
 * `ensure_ascii=True`. A non-integral JS number reaching `dumps` is treated as a float (it can only
 * come from arithmetic on floats), so arithmetic helpers in `pynum.ts` keep the tag where it matters.
 */

/** A Python float. Immutable; compare with `pyEquals`, not `===`. */
export class PyFloat {
  constructor(readonly value: number) {}
  valueOf(): number {
    return this.value;
  }
  toString(): string {
    return floatRepr(this.value);
  }
  toJSON(): number {
    return this.value;
  }
}

/** Any value of Python's JSON data model in Troupe's tagged representation. */
export type PyValue = null | boolean | number | PyFloat | string | PyValue[] | { [key: string]: PyValue };

export const pyFloat = (x: number): PyFloat => new PyFloat(x);

export function isPyFloat(x: unknown): x is PyFloat {
  return x instanceof PyFloat;
}

/** True for a Python int: an integral JS number (bools are not ints here). */
export function isPyInt(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x);
}

/** Numeric value of an int, float (tagged or not) or bool; NaN for anything else. */
export function numValue(x: unknown): number {
  if (typeof x === 'number') return x;
  if (x instanceof PyFloat) return x.value;
  if (typeof x === 'boolean') return x ? 1 : 0;
  return Number.NaN;
}

// ---------------------------------------------------------------------------------------------
// Dict key order
//
// JS objects iterate keys that look like array indices ("429815", "1008292230") first, in numeric
// order; Python dicts keep insertion order. Objects that hold such keys carry their Python order in
// a hidden (non-enumerable) symbol, recorded by `parse`, kept by validation, `deepCopy` and merges,
// and honoured wherever text is produced (`dumps`, `pyRepr`, tool outputs).

export const KEY_ORDER: unique symbol = Symbol('pyKeyOrder');

function isIndexKey(k: string): boolean {
  return /^(?:0|[1-9]\d{0,9})$/.test(k) && Number(k) < 4294967295;
}

/** Attach Python key order to `obj` when JS would reorder it; returns `obj`. */
export function withKeyOrder<T extends object>(obj: T, keys: string[]): T {
  if (keys.some(isIndexKey)) {
    Object.defineProperty(obj, KEY_ORDER, { value: keys, enumerable: false, writable: true, configurable: true });
  }
  return obj;
}

/** The object's keys in Python (insertion) order. */
export function orderedKeys(obj: object): string[] {
  const keys = Object.keys(obj);
  const order = (obj as { [KEY_ORDER]?: string[] })[KEY_ORDER];
  if (!order) return keys;
  const present = new Set(keys);
  const out = order.filter((k) => present.has(k));
  if (out.length !== keys.length) {
    const seen = new Set(out);
    for (const k of keys) if (!seen.has(k)) out.push(k); // added later: Python appends them
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Float text (Python repr / str)

/**
 * Python `repr(float)` (== `str(float)` in Python 3): shortest round-trip digits, positional
 * notation for decimal exponents -4..15, otherwise `d.ddde±XX` with at least two exponent digits.
 */
export function floatRepr(x: number): string {
  const ax = Math.abs(x);
  if (ax >= 1e-4 && ax < 1e16) {
    // JS prints the same shortest digits positionally in this range; Python adds ".0" to integers.
    const s = String(x);
    return Number.isInteger(x) ? s + '.0' : s;
  }
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const sign = x < 0 ? '-' : '';
  // toExponential() without an argument yields the shortest digit string that round-trips.
  const [mant, expText] = Math.abs(x).toExponential().split('e');
  const digits = mant.replace('.', '');
  const exp = Number(expText); // decimal exponent of the first digit
  if (exp >= -4 && exp < 16) {
    if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
    const intLen = exp + 1;
    if (digits.length <= intLen) return `${sign}${digits}${'0'.repeat(intLen - digits.length)}.0`;
    return `${sign}${digits.slice(0, intLen)}.${digits.slice(intLen)}`;
  }
  const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  const e = Math.abs(exp);
  return `${sign}${m}e${exp < 0 ? '-' : '+'}${e < 10 ? '0' : ''}${e}`;
}

/** Python `str(x)` for a scalar: str as-is, int digits, float repr, True/False, None. */
export function pyStr(x: unknown): string {
  if (typeof x === 'string') return x;
  return pyRepr(x);
}

/** Python `repr(x)` for the JSON data model (strings single-quoted like Python; dicts `{'k': v}`). */
export function pyRepr(x: unknown): string {
  if (x === null || x === undefined) return 'None';
  if (typeof x === 'boolean') return x ? 'True' : 'False';
  if (x instanceof PyFloat) return floatRepr(x.value);
  if (typeof x === 'number') return Number.isInteger(x) ? intText(x) : floatRepr(x);
  if (typeof x === 'bigint') return x.toString();
  if (typeof x === 'string') return strRepr(x);
  if (Array.isArray(x)) return `[${x.map(pyRepr).join(', ')}]`;
  if (typeof x === 'object') {
    const parts = orderedKeys(x).map((k) => `${strRepr(k)}: ${pyRepr((x as Record<string, unknown>)[k])}`);
    return `{${parts.join(', ')}}`;
  }
  return String(x);
}

function intText(x: number): string {
  // Integral doubles beyond 1e21 would print in exponent form in JS; Python prints all digits.
  return Math.abs(x) < 1e21 ? String(x) : BigInt(x).toString();
}

/** Python `repr(str)`: single quotes unless the text has `'` and no `"`. */
export function strRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === quote || ch === '\\') out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (cp < 0x20 || cp === 0x7f) out += '\\x' + cp.toString(16).padStart(2, '0');
    else out += ch; // Python 3 repr keeps printable non-ASCII as-is
  }
  return out + quote;
}

// ---------------------------------------------------------------------------------------------
// dumps

export interface DumpsOptions {
  /** `sort_keys=True`: keys sorted by code point at every level. */
  sortKeys?: boolean;
  /** `default=`: converts a value JSON cannot hold (e.g. `String` for `default=str`). */
  default?: (value: unknown) => unknown;
}

/** Python `json.dumps(value, sort_keys=…, default=…)` with the default separators and ensure_ascii. */
export function dumps(value: unknown, options: DumpsOptions = {}): string {
  return writeValue(value, options);
}

const SURROGATE = /[\ud800-\udfff]/;

function sortedKeys(keys: string[]): string[] {
  // UTF-16 order equals code point order unless a key holds astral characters.
  return keys.some((k) => SURROGATE.test(k)) ? keys.sort(compareCodePoints) : keys.sort();
}

function writeValue(v: unknown, o: DumpsOptions): string {
  switch (typeof v) {
    case 'string':
      return encodeString(v);
    case 'number':
      return Number.isInteger(v) ? intText(v) : jsonFloat(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'undefined':
      return 'null';
    case 'bigint':
      return v.toString();
  }
  if (v === null) return 'null';
  if (v instanceof PyFloat) return jsonFloat(v.value);
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    let out = '[' + writeValue(v[0], o);
    for (let i = 1; i < v.length; i++) out += ', ' + writeValue(v[i], o);
    return out + ']';
  }
  if (isPlainObject(v)) {
    let keys = orderedKeys(v);
    if (keys.length === 0) return '{}';
    if (o.sortKeys) keys = sortedKeys(keys);
    let out = '{';
    for (let i = 0; i < keys.length; i++) {
      if (i) out += ', ';
      out += encodeString(keys[i]) + ': ' + writeValue(v[keys[i]], o);
    }
    return out + '}';
  }
  if (o.default) return writeValue(o.default(v), { ...o, default: undefined });
  throw new TypeError(`Object of type ${typeName(v)} is not JSON serializable`);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function typeName(v: unknown): string {
  return (v as object)?.constructor?.name ?? typeof v;
}

function jsonFloat(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  return floatRepr(x);
}

/** Compare strings by Unicode code point, as Python sorts `str`. */
export function compareCodePoints(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done) return y.done ? 0 : -1;
    if (y.done) return 1;
    const d = x.value.codePointAt(0)! - y.value.codePointAt(0)!;
    if (d) return d;
  }
}

const SHORT_ESCAPES: Record<string, string> = {
  '"': '\\"',
  '\\': '\\\\',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\b': '\\b',
  '\f': '\\f',
};

/** JSON string with ensure_ascii: everything outside space..tilde is escaped (UTF-16 units). */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

function encodeString(s: string): string {
  if (PLAIN.test(s)) return '"' + s + '"'; // fast path: nothing to escape
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    const c = s.charCodeAt(i);
    const short = SHORT_ESCAPES[ch];
    if (short) out += short;
    else if (c >= 0x20 && c <= 0x7e) out += ch;
    else out += '\\u' + c.toString(16).padStart(4, '0');
  }
  return out + '"';
}

// ---------------------------------------------------------------------------------------------
// parse

export class PyJsonDecodeError extends Error {
  constructor(msg: string, readonly pos: number) {
    super(`${msg}: char ${pos}`);
    this.name = 'PyJsonDecodeError';
  }
}

/** `json.loads` into the tagged representation (floats become PyFloat). */
export function parse(text: string): PyValue {
  const p = new Parser(text);
  p.ws();
  const v = p.value();
  p.ws();
  if (p.i < text.length) throw new PyJsonDecodeError('Extra data', p.i);
  return v;
}

class Parser {
  i = 0;
  constructor(readonly s: string) {}

  ws(): void {
    while (this.i < this.s.length) {
      const c = this.s.charCodeAt(this.i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) this.i++;
      else break;
    }
  }

  value(): PyValue {
    const s = this.s;
    const c = s[this.i];
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"') return this.string();
    if (s.startsWith('null', this.i)) return (this.i += 4), null;
    if (s.startsWith('true', this.i)) return (this.i += 4), true;
    if (s.startsWith('false', this.i)) return (this.i += 5), false;
    if (s.startsWith('NaN', this.i)) return (this.i += 3), new PyFloat(NaN);
    if (s.startsWith('Infinity', this.i)) return (this.i += 8), new PyFloat(Infinity);
    if (s.startsWith('-Infinity', this.i)) return (this.i += 9), new PyFloat(-Infinity);
    return this.number();
  }

  number(): PyValue {
    const m = /^-?(?:0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?/.exec(this.s.slice(this.i, this.i + 400));
    if (!m) throw new PyJsonDecodeError('Expecting value', this.i);
    this.i += m[0].length;
    if (m[1] !== undefined || m[2] !== undefined) return new PyFloat(Number(m[0]));
    return Number(m[0]);
  }

  string(): string {
    const s = this.s;
    const start = this.i;
    this.i++;
    let out = '';
    for (;;) {
      const j = this.i;
      while (this.i < s.length && s[this.i] !== '"' && s[this.i] !== '\\') {
        if (s.charCodeAt(this.i) < 0x20) throw new PyJsonDecodeError('Invalid control character at', this.i);
        this.i++;
      }
      out += s.slice(j, this.i);
      if (this.i >= s.length) throw new PyJsonDecodeError('Unterminated string starting at', start);
      if (s[this.i] === '"') {
        this.i++;
        return out;
      }
      const esc = s[this.i + 1];
      const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
      if (esc in simple) {
        out += simple[esc];
        this.i += 2;
      } else if (esc === 'u') {
        const hex = s.slice(this.i + 2, this.i + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new PyJsonDecodeError('Invalid \\uXXXX escape', this.i + 1);
        out += String.fromCharCode(parseInt(hex, 16));
        this.i += 6;
      } else {
        throw new PyJsonDecodeError('Invalid \\escape', this.i);
      }
    }
  }

  array(): PyValue[] {
    this.i++;
    const out: PyValue[] = [];
    this.ws();
    if (this.s[this.i] === ']') return this.i++, out;
    for (;;) {
      this.ws();
      out.push(this.value());
      this.ws();
      const c = this.s[this.i++];
      if (c === ']') return out;
      if (c !== ',') throw new PyJsonDecodeError("Expecting ',' delimiter", this.i - 1);
    }
  }

  object(): { [key: string]: PyValue } {
    this.i++;
    const out: { [key: string]: PyValue } = {};
    const keys: string[] = [];
    this.ws();
    if (this.s[this.i] === '}') return this.i++, out;
    for (;;) {
      this.ws();
      if (this.s[this.i] !== '"') throw new PyJsonDecodeError('Expecting property name enclosed in double quotes', this.i);
      const k = this.string();
      this.ws();
      if (this.s[this.i++] !== ':') throw new PyJsonDecodeError("Expecting ':' delimiter", this.i - 1);
      this.ws();
      // Python keeps the last value of a repeated key, at the first key's position.
      if (!Object.prototype.hasOwnProperty.call(out, k)) keys.push(k);
      const v = this.value();
      if (k === '__proto__') Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
      else out[k] = v;
      this.ws();
      const c = this.s[this.i++];
      if (c === '}') return withKeyOrder(out, keys);
      if (c !== ',') throw new PyJsonDecodeError("Expecting ',' delimiter", this.i - 1);
    }
  }
}

/** Try `json.loads`; on failure return the text itself (how τ² compares tool outputs). */
export function loadsOrString(text: string): PyValue {
  try {
    return parse(text);
  } catch {
    return text;
  }
}

/**
 * Python `==` over the JSON data model: `1 == 1.0 == True`, dicts compare as unordered maps,
 * lists element-wise, NaN != NaN.
 */
export function pyEquals(a: unknown, b: unknown): boolean {
  const na = isNumeric(a);
  const nb = isNumeric(b);
  if (na || nb) return na && nb && numValue(a) === numValue(b);
  if (a === null || a === undefined) return b === null || b === undefined;
  if (typeof a === 'string') return a === b;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => pyEquals(x, b[i]));
  }
  if (typeof a === 'object' && typeof b === 'object' && b !== null && !Array.isArray(b)) {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && pyEquals((a as any)[k], (b as any)[k]));
  }
  return false;
}

function isNumeric(x: unknown): boolean {
  return typeof x === 'number' || typeof x === 'boolean' || x instanceof PyFloat;
}

/** Deep copy of a tagged value (PyFloat is immutable, so it is shared). */
export function deepCopy<T>(v: T): T {
  if (Array.isArray(v)) return v.map(deepCopy) as T;
  if (v !== null && typeof v === 'object' && !(v instanceof PyFloat) && isPlainObject(v)) {
    const out: Record<string, unknown> = {};
    const ordered = (v as { [KEY_ORDER]?: string[] })[KEY_ORDER] !== undefined;
    const keys = ordered ? orderedKeys(v) : Object.keys(v);
    for (const k of keys) out[k] = deepCopy((v as Record<string, unknown>)[k]);
    if (ordered) Object.defineProperty(out, KEY_ORDER, { value: keys, enumerable: false, writable: true, configurable: true });
    return out as T;
  }
  return v;
}

/** Python `type(x).__name__` for the JSON data model. */
export function pyTypeName(x: unknown): string {
  if (x === null || x === undefined) return 'NoneType';
  if (typeof x === 'boolean') return 'bool';
  if (x instanceof PyFloat) return 'float';
  if (typeof x === 'number') return Number.isInteger(x) ? 'int' : 'float';
  if (typeof x === 'string') return 'str';
  if (Array.isArray(x)) return 'list';
  return 'dict';
}
