/**
 * Binary arithmetic/comparison on raw Python values with Python's TypeError texts for mixed types
 * (e.g. an LLM passing `"2"` for an int parameter). Numbers follow `pynum.ts` promotion rules.
 */
import { PyFloat } from './pyjson.ts';
import { isPyNum, pyAdd, pyMul, pySub, type PyNum } from './pynum.ts';
import { pyTypeName } from './pyjson.ts';
import { PyError } from './errors.ts';

function opError(op: string, a: unknown, b: unknown): never {
  throw new PyError(`unsupported operand type(s) for ${op}: '${pyTypeName(a)}' and '${pyTypeName(b)}'`, 'TypeError');
}

export function add(a: unknown, b: unknown, op = '+'): PyNum {
  if (!isPyNum(a) || !isPyNum(b)) opError(op, a, b);
  return pyAdd(a, b);
}

export function sub(a: unknown, b: unknown, op = '-'): PyNum {
  if (!isPyNum(a) || !isPyNum(b)) opError(op, a, b);
  return pySub(a, b);
}

/** `a * b` for numbers; `int * str` is string repetition in Python and is returned as such. */
export function mul(a: unknown, b: unknown): PyNum | string {
  if (isPyNum(a) && isPyNum(b)) return pyMul(a, b);
  if (typeof b === 'string' && typeof a === 'number' && Number.isInteger(a)) return b.repeat(Math.max(0, a));
  if (typeof a === 'string' && typeof b === 'number' && Number.isInteger(b)) return a.repeat(Math.max(0, b));
  if ((typeof a === 'string' || typeof b === 'string') && (a instanceof PyFloat || b instanceof PyFloat || typeof a === 'number' || typeof b === 'number')) {
    const [s, n] = typeof a === 'string' ? [a, b] : [b, a];
    void s;
    throw new PyError(`can't multiply sequence by non-int of type '${pyTypeName(n)}'`, 'TypeError');
  }
  opError('*', a, b);
}

const cmpName: Record<string, string> = { '<': '<', '<=': '<=', '>': '>', '>=': '>=' };

/** `a < b` etc. Numbers compare numerically; str with str by code point; otherwise TypeError. */
export function cmp(op: '<' | '<=' | '>' | '>=', a: unknown, b: unknown): boolean {
  let x: number;
  let y: number;
  if (isPyNum(a) && isPyNum(b)) {
    x = Number(a);
    y = Number(b);
  } else if (typeof a === 'string' && typeof b === 'string') {
    x = a < b ? -1 : a > b ? 1 : 0; // UTF-16 order equals code point order for BMP text
    y = 0;
  } else {
    throw new PyError(`'${cmpName[op]}' not supported between instances of '${pyTypeName(a)}' and '${pyTypeName(b)}'`, 'TypeError');
  }
  switch (op) {
    case '<':
      return x < y;
    case '<=':
      return x <= y;
    case '>':
      return x > y;
    case '>=':
      return x >= y;
  }
}

/** Python `==` for scalars (1 == 1.0 == True; "1" != 1). */
export function eq(a: unknown, b: unknown): boolean {
  if (isPyNum(a) && isPyNum(b)) return Number(a) === Number(b);
  return a === b;
}
