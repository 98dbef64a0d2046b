// Python-compatible JSON, float text, rounding and arithmetic. Expected values were produced with
// CPython 3 (`repr`, `json.dumps`, `round`, `'%.2f'`, `eval`).
import { describe, expect, it } from 'vitest';
import { calculate } from '../../domains/core/common-tools.ts';
import { PyFloat, dumps, floatRepr, parse, pyEquals, pyRepr, pyStr } from '../../domains/pycompat/pyjson.ts';
import { formatFixed2, pyAdd, pyMul, pySub, round2 } from '../../domains/pycompat/pynum.ts';

const f = (x: number) => new PyFloat(x);

describe('float repr', () => {
  it('matches Python repr on tricky values', () => {
    const vals = [1.0, 0.1, 1e-5, 0.0001, 1e16, 1e15, 123456789012345678.0, 1.5e-7, -0.0, 2.675, 0.30000000000000004, 100.0, 1e22, 5e-324, 1.7976931348623157e308, 12345.678, 9999999999999998.0, 0.001, 1e-4, 123e-20];
    const python = ['1.0', '0.1', '1e-05', '0.0001', '1e+16', '1000000000000000.0', '1.2345678901234568e+17', '1.5e-07', '-0.0', '2.675', '0.30000000000000004', '100.0', '1e+22', '5e-324', '1.7976931348623157e+308', '12345.678', '9999999999999998.0', '0.001', '0.0001', '1.23e-18'];
    expect(vals.map(floatRepr)).toEqual(python);
  });

  it('str() of ints, floats, bools and None', () => {
    expect([pyStr(3), pyStr(f(3)), pyStr(true), pyStr(null), pyStr('x')]).toEqual(['3', '3.0', 'True', 'None', 'x']);
    expect(pyRepr({ a: [1, f(2), 'it\'s'] })).toBe(`{'a': [1, 2.0, "it's"]}`);
  });
});

describe('dumps', () => {
  it('uses Python separators, ensure_ascii escapes (surrogate pairs, DEL) and sort_keys', () => {
    const v = { b: [1, f(2), null, true], a: 'é😀\n\t"\\\x7f/', c: { z: 1, y: f(-0.5) } };
    expect(dumps(v, { sortKeys: true })).toBe('{"a": "\\u00e9\\ud83d\\ude00\\n\\t\\"\\\\\\u007f/", "b": [1, 2.0, null, true], "c": {"y": -0.5, "z": 1}}');
    expect(dumps({ b: 1, a: 2 })).toBe('{"b": 1, "a": 2}');
  });

  it('writes NaN/Infinity like allow_nan=True and treats non-integral JS numbers as floats', () => {
    expect(dumps([f(NaN), f(Infinity), f(-Infinity), 0.5])).toBe('[NaN, Infinity, -Infinity, 0.5]');
  });

  it('uses default= for values JSON cannot hold, and fails without it', () => {
    expect(dumps({ d: new Date(0) }, { default: () => 'X' })).toBe('{"d": "X"}');
    expect(() => dumps({ d: new Date(0) })).toThrow(/not JSON serializable/);
  });
});

describe('parse', () => {
  it('keeps the int/float distinction', () => {
    const v = parse('{"a": 1, "b": 1.0, "c": 1e2, "d": -0, "e": [2.50]}') as Record<string, unknown>;
    expect(v.a).toBe(1);
    expect(v.b).toBeInstanceOf(PyFloat);
    expect(dumps(v)).toBe('{"a": 1, "b": 1.0, "c": 100.0, "d": 0, "e": [2.5]}');
  });

  it('decodes escapes and rejects bad JSON with a position', () => {
    expect(parse('"\\u00e9\\ud83d\\ude00"')).toBe('é😀');
    expect(() => parse('{"a": }')).toThrow(/Expecting value: char 6/);
    expect(() => parse('[1] x')).toThrow(/Extra data/);
  });

  it('Python equality: 1 == 1.0 == True, "1" != 1, dict order ignored', () => {
    expect(pyEquals({ a: 1, b: [true] }, { b: [f(1)], a: f(1) })).toBe(true);
    expect(pyEquals('1', 1)).toBe(false);
    expect(pyEquals({ a: 1 }, { a: 1, b: null })).toBe(false);
  });
});

describe('round(x, 2) and %.2f', () => {
  it('is half-to-even on the binary value', () => {
    const xs = [2.675, 0.125, 0.375, 1.005, 2.5, -2.675, 0.015, 1234.565, 0.285, 1.0000000001, 2.345, 8.325, -0.001];
    const python = ['2.67', '0.12', '0.38', '1.0', '2.5', '-2.67', '0.01', '1234.57', '0.28', '1.0', '2.35', '8.32', '-0.0'];
    expect(xs.map((x) => pyStr(round2(f(x))))).toEqual(python);
    // An exact tie rounds to even, where Math.round or toFixed round up.
    expect(Math.round(0.125 * 100) / 100).toBe(0.13);
    expect((0.125).toFixed(2)).toBe('0.13');
  });

  it('keeps ints as ints', () => {
    expect(round2(5)).toBe(5);
    expect(pyStr(round2(f(5)))).toBe('5.0');
  });

  it('formats like Python %.2f', () => {
    expect([2.675, 0.125, 0.375, -0.001, 1.005, 100.0].map((x) => formatFixed2(f(x)))).toEqual(['2.67', '0.12', '0.38', '-0.00', '1.00', '100.00']);
  });

  it('arithmetic promotes to float like Python', () => {
    expect(dumps([pyAdd(1, 1), pyAdd(1, f(1)), pySub(f(0.3), f(0.1)), pyMul(50, f(1))])).toBe('[2, 2.0, 0.19999999999999998, 50.0]');
  });
});

describe('calculate', () => {
  it('evaluates like str(round(float(eval(e)), 2))', () => {
    const exprs = ['2 + 2', '10/4', '1/3', '2**10', '-2**2', '7//2', '(1+2)*3.5', '652.61 + 473.43', '0.1+0.2', '10/3*3', '2**-1', '3.0', '100 - 99.99'];
    const python = ['4.0', '2.5', '0.33', '1024.0', '-4.0', '3.0', '10.5', '1126.04', '0.3', '10.0', '0.5', '3.0', '0.01'];
    expect(exprs.map(calculate)).toEqual(python);
  });

  it('raises Python errors', () => {
    expect(() => calculate('2 + x')).toThrow('Invalid characters in expression');
    expect(() => calculate('1/0')).toThrow('division by zero');
    expect(() => calculate('1.0/0')).toThrow('float division by zero');
    expect(() => calculate('2 +')).toThrow('invalid syntax');
    expect(() => calculate('1/0 +')).toThrow('invalid syntax'); // syntax is checked before evaluation
    expect(() => calculate('()')).toThrow("float() argument must be a string or a real number, not 'tuple'");
    expect(() => calculate('2(3)')).toThrow("'int' object is not callable");
    expect(() => calculate('007')).toThrow(/leading zeros/);
    expect(() => calculate('')).toThrow('invalid syntax (<string>, line 0)');
    expect(() => calculate('(1')).toThrow("'(' was never closed (<string>, line 1)");
    expect(() => calculate('1 +)')).toThrow("unmatched ')' (<string>, line 1)");
  });
});

describe('dict key order', () => {
  it('keeps Python insertion order for integer-like keys through parse, copy, merge and validation', async () => {
    const { deepMerge } = await import('../../domains/core/db.ts');
    const { construct, model, field, t } = await import('../../domains/core/schema.ts');
    const { deepCopy, orderedKeys } = await import('../../domains/pycompat/pyjson.ts');
    const text = '{"b": 1, "20": 2, "3": 3, "x": {"9": 1, "1": 2}}';
    const v = parse(text) as Record<string, any>;
    expect(Object.keys(v)).toEqual(['3', '20', 'b', 'x']); // what JS alone would do
    expect(dumps(v)).toBe(text);
    expect(dumps(deepCopy(v))).toBe(text);
    expect(pyRepr(v.x)).toBe("{'9': 1, '1': 2}");
    const M = model('M', [field('d', t.dict(t.int()))]);
    expect(dumps(construct(M, { d: v.x }))).toBe('{"d": {"9": 1, "1": 2}}');
    expect(orderedKeys(deepMerge(v, { '5': 0, b: 7 }))).toEqual(['b', '20', '3', 'x', '5']);
    expect(dumps(v, { sortKeys: true })).toBe('{"20": 2, "3": 3, "b": 1, "x": {"1": 2, "9": 1}}');
  });
});
