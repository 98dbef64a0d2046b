/**
 * Python numeric semantics over the tagged representation of `pyjson.ts` (JS number = int,
 * PyFloat = float, boolean = bool). Arithmetic follows Python's promotion: any float operand makes
 * a float result; bools act as 0/1 ints. These helpers are what tools use on DB amounts and LLM
 * arguments, so `1.0 + 1` stays a float and prints `2.0` as Python would.
 */
import { PyFloat, floatRepr, isPyFloat, numValue } from './pyjson.ts';

/** Any Python number in tagged form. */
export type PyNum = number | PyFloat | boolean;

export function isPyNum(x: unknown): x is PyNum {
  return typeof x === 'number' || typeof x === 'boolean' || x instanceof PyFloat;
}

/** True when `x` is a Python float (tagged, or a non-integral JS number from float arithmetic). */
export function isFloatLike(x: unknown): boolean {
  return isPyFloat(x) || (typeof x === 'number' && !Number.isInteger(x));
}

function wrap(result: number, float: boolean): PyNum {
  return float ? new PyFloat(result) : result;
}

function anyFloat(...xs: unknown[]): boolean {
  return xs.some(isFloatLike);
}

export function pyAdd(a: PyNum, b: PyNum): PyNum {
  return wrap(numValue(a) + numValue(b), anyFloat(a, b));
}

export function pySub(a: PyNum, b: PyNum): PyNum {
  return wrap(numValue(a) - numValue(b), anyFloat(a, b));
}

export function pyMul(a: PyNum, b: PyNum): PyNum {
  return wrap(numValue(a) * numValue(b), anyFloat(a, b));
}

export function pyNeg(a: PyNum): PyNum {
  return wrap(-numValue(a), anyFloat(a));
}

/** Python `sum(xs)` (start 0). */
export function pySum(xs: PyNum[]): PyNum {
  return xs.reduce<PyNum>((acc, x) => pyAdd(acc, x), 0);
}

/** Python `abs(x)`. */
export function pyAbs(a: PyNum): PyNum {
  return wrap(Math.abs(numValue(a)), anyFloat(a));
}

/** Python `max(a, b)`: returns the first of equal values, keeping its type. */
export function pyMax(a: PyNum, b: PyNum): PyNum {
  return numValue(b) > numValue(a) ? b : a;
}

/** Python `float(x)` of a number. */
export function pyToFloat(a: PyNum): PyFloat {
  return new PyFloat(numValue(a));
}

/**
 * Python `round(x, 2)`: an int comes back unchanged; a float is rounded half-to-even on its exact
 * binary value (so 2.675 -> 2.67 and 0.125 -> 0.12), then converted back to the nearest double.
 */
export function round2(x: PyNum): PyNum {
  if (typeof x === 'boolean') return x ? 1 : 0;
  if (!isFloatLike(x)) return x;
  return new PyFloat(roundFloat(numValue(x), 2));
}

/** Python `round(x, ndigits)` for a float value, returned as a JS number. */
export function roundFloat(x: number, ndigits: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  // Exact rational value of the double: mant * 2^exp with integer mant.
  const { mant, exp } = decompose(Math.abs(x));
  const scale = 10n ** BigInt(ndigits);
  let q: bigint;
  if (exp >= 0) {
    return x; // integral with no fractional part at this scale (|x| >= 2^53)
  } else {
    const num = mant * scale;
    const den = 1n << BigInt(-exp);
    q = num / den;
    const r2 = (num % den) * 2n;
    if (r2 > den || (r2 === den && q % 2n === 1n)) q += 1n;
  }
  const value = Number(`${q}e-${ndigits}`);
  const signed = x < 0 ? -value : value;
  return signed === 0 && x < 0 ? -0 : signed;
}

function decompose(x: number): { mant: bigint; exp: number } {
  const buf = new DataView(new ArrayBuffer(8));
  buf.setFloat64(0, x);
  const hi = buf.getUint32(0);
  const lo = buf.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let exp: number;
  if (biased === 0) exp = -1074;
  else {
    mant |= 1n << 52n;
    exp = biased - 1075;
  }
  return { mant, exp };
}

/** Python `f"{x:.2f}"` (correct rounding on the binary value, half-to-even on exact ties). */
export function formatFixed2(x: PyNum): string {
  const v = numValue(x);
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf';
  const r = roundFloat(v, 2);
  const s = Math.abs(r).toFixed(2); // r is the nearest double to a 2-decimal value; toFixed prints it
  return (r < 0 || Object.is(r, -0) || (v < 0 && r === 0) ? '-' : '') + s;
}

/** Python `str()` of a number. */
export function numStr(x: PyNum): string {
  if (typeof x === 'boolean') return x ? 'True' : 'False';
  if (isFloatLike(x)) return floatRepr(numValue(x));
  return String(x);
}
