// Equality of two databases as τ²'s DB check sees them: `sha256(json.dumps(x, sort_keys=True,
// default=str))` equal. Walking both trees is exact and far cheaper than serialising megabytes of
// airline or retail data twice per grade: two values are equal here iff their dumps are equal.
import { PyFloat } from '../pycompat/pyjson.ts';

type Kind = 'null' | 'bool' | 'int' | 'float' | 'str' | 'list' | 'dict' | 'other';

function kindOf(v: unknown): Kind {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'boolean') return 'bool';
  if (v instanceof PyFloat) return 'float';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'string') return 'str';
  if (Array.isArray(v)) return 'list';
  if (typeof v === 'object') {
    const proto = Object.getPrototypeOf(v);
    if (proto === Object.prototype || proto === null) return 'dict';
  }
  return 'other';
}

function floatValue(v: unknown): number {
  return v instanceof PyFloat ? v.value : (v as number);
}

export function sameDump(a: unknown, b: unknown): boolean {
  const ka = kindOf(a);
  const kb = kindOf(b);
  // `default=str` turns anything else into its text, which then compares as a string.
  if (ka === 'other' || kb === 'other') {
    const sa = ka === 'other' ? String(a) : a;
    const sb = kb === 'other' ? String(b) : b;
    return typeof sa === 'string' && typeof sb === 'string' && sa === sb;
  }
  if (ka !== kb) return false;
  switch (ka) {
    case 'null':
      return true;
    case 'float': {
      const x = floatValue(a);
      const y = floatValue(b);
      return Object.is(x, y) || (Number.isNaN(x) && Number.isNaN(y));
    }
    case 'list': {
      const la = a as unknown[];
      const lb = b as unknown[];
      if (la.length !== lb.length) return false;
      for (let i = 0; i < la.length; i++) if (!sameDump(la[i], lb[i])) return false;
      return true;
    }
    case 'dict': {
      const oa = a as Record<string, unknown>;
      const ob = b as Record<string, unknown>;
      const keys = Object.keys(oa);
      if (keys.length !== Object.keys(ob).length) return false;
      for (const k of keys) {
        if (!Object.prototype.hasOwnProperty.call(ob, k) || !sameDump(oa[k], ob[k])) return false;
      }
      return true;
    }
    default:
      return a === b || String(a) === String(b);
  }
}
