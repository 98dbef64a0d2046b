/**
 * `eval()` of the arithmetic expressions τ²'s `calculate` tool accepts (digits, `+ - * /`, parentheses, dot and space),
 * with Python semantics: arbitrary-precision ints, `/` true division to float, `//` floor division,
 * `**` power (right-associative, binds tighter than unary minus on its left), float promotion,
 * and Python's exception texts for the common failures.
 */
import { PyError } from './errors.ts';

type Val = { kind: 'int'; v: bigint } | { kind: 'float'; v: number } | { kind: 'tuple' };

type Tok = { t: 'num'; text: string } | { t: 'op'; text: string } | { t: 'end' };

function syntaxError(): never {
  throw new PyError('invalid syntax (<string>, line 1)', 'SyntaxError');
}

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (c === ' ') {
      i++;
      continue;
    }
    const num = /^(\d+\.\d*|\.\d+|\d+)/.exec(src.slice(i));
    if (num) {
      const text = num[0];
      if (/^0\d/.test(text) && !text.includes('.') && !/^0+$/.test(text)) {
        throw new PyError(
          'leading zeros in decimal integer literals are not permitted; use an 0o prefix for octal integers (<string>, line 1)',
          'SyntaxError',
        );
      }
      out.push({ t: 'num', text });
      i += text.length;
      // `1.2.3` / `1..2`: a number directly followed by `.` is a syntax error in this alphabet
      if (src[i] === '.') syntaxError();
      continue;
    }
    if (src.startsWith('**', i) || src.startsWith('//', i)) {
      out.push({ t: 'op', text: src.slice(i, i + 2) });
      i += 2;
      continue;
    }
    if ('+-*/()'.includes(c)) {
      out.push({ t: 'op', text: c });
      i++;
      continue;
    }
    syntaxError();
  }
  out.push({ t: 'end' });
  return out;
}

const toFloat = (a: Val): number => {
  if (a.kind === 'float') return a.v;
  if (a.kind === 'int') {
    const n = Number(a.v);
    if (!Number.isFinite(n)) throw new PyError('int too large to convert to float', 'OverflowError');
    return n;
  }
  throw new PyError("unsupported operand type(s) for tuple", 'TypeError');
};

function opTypeError(op: string, a: Val, b: Val): never {
  const n = (x: Val) => (x.kind === 'tuple' ? 'tuple' : x.kind);
  throw new PyError(`unsupported operand type(s) for ${op}: '${n(a)}' and '${n(b)}'`, 'TypeError');
}

function checkFloat(x: number): Val {
  if (!Number.isFinite(x)) throw new PyError('(34, \'Numerical result out of range\')', 'OverflowError');
  return { kind: 'float', v: x };
}

function floorDivBig(a: bigint, b: bigint): bigint {
  const q = a / b;
  return (a % b !== 0n && (a < 0n) !== (b < 0n)) ? q - 1n : q;
}

function binary(op: string, a: Val, b: Val): Val {
  if (a.kind === 'tuple' || b.kind === 'tuple') opTypeError(op, a, b);
  if (op === '+' || op === '-' || op === '*') {
    if (a.kind === 'int' && b.kind === 'int') return { kind: 'int', v: op === '+' ? a.v + b.v : op === '-' ? a.v - b.v : a.v * b.v };
    const x = toFloat(a);
    const y = toFloat(b);
    return checkFloat(op === '+' ? x + y : op === '-' ? x - y : x * y);
  }
  if (op === '/') {
    if ((b.kind === 'int' && b.v === 0n) || (b.kind === 'float' && b.v === 0)) {
      throw new PyError(a.kind === 'int' && b.kind === 'int' ? 'division by zero' : 'float division by zero', 'ZeroDivisionError');
    }
    if (a.kind === 'int' && b.kind === 'int') {
      const r = Number(a.v) / Number(b.v);
      if (!Number.isFinite(r)) throw new PyError('integer division result too large for a float', 'OverflowError');
      return { kind: 'float', v: r };
    }
    return checkFloat(toFloat(a) / toFloat(b));
  }
  if (op === '//') {
    if (a.kind === 'int' && b.kind === 'int') {
      if (b.v === 0n) throw new PyError('integer division or modulo by zero', 'ZeroDivisionError');
      return { kind: 'int', v: floorDivBig(a.v, b.v) };
    }
    const y = toFloat(b);
    if (y === 0) throw new PyError('float floor division by zero', 'ZeroDivisionError');
    return { kind: 'float', v: Math.floor(toFloat(a) / y) };
  }
  // '**'
  if (a.kind === 'int' && b.kind === 'int') {
    if (b.v >= 0n) {
      if (b.v > 100000n && a.v !== 0n && a.v !== 1n && a.v !== -1n) throw new PyError('exponent too large', 'OverflowError');
      return { kind: 'int', v: a.v ** b.v };
    }
    if (a.v === 0n) throw new PyError('0.0 cannot be raised to a negative power', 'ZeroDivisionError');
    return checkFloat(Math.pow(Number(a.v), Number(b.v)));
  }
  const x = toFloat(a);
  const y = toFloat(b);
  if (x === 0 && y < 0) throw new PyError('0.0 cannot be raised to a negative power', 'ZeroDivisionError');
  if (x < 0 && !Number.isInteger(y)) throw new PyError('complex results are not supported here', 'TypeError');
  return checkFloat(Math.pow(x, y));
}

type Node =
  | { k: 'num'; v: Val }
  | { k: 'unary'; op: string; x: Node }
  | { k: 'bin'; op: string; a: Node; b: Node }
  | { k: 'call'; f: Node; arg?: Node };

/** Parses the whole expression first (syntax errors win over evaluation errors, as in Python). */
class ExprParser {
  private i = 0;
  constructor(private readonly toks: Tok[]) {}

  private peek(): Tok {
    return this.toks[this.i];
  }
  private isOp(text: string): boolean {
    const t = this.peek();
    return t.t === 'op' && t.text === text;
  }
  private take(): string {
    return (this.toks[this.i++] as { text: string }).text;
  }

  parse(): Node {
    if (this.peek().t === 'end') syntaxError();
    const v = this.expr();
    if (this.peek().t !== 'end') syntaxError();
    return v;
  }

  private expr(): Node {
    let v = this.term();
    while (this.isOp('+') || this.isOp('-')) {
      const op = this.take();
      v = { k: 'bin', op, a: v, b: this.term() };
    }
    return v;
  }

  private term(): Node {
    let v = this.factor();
    while (this.isOp('*') || this.isOp('/') || this.isOp('//')) {
      const op = this.take();
      v = { k: 'bin', op, a: v, b: this.factor() };
    }
    return v;
  }

  private factor(): Node {
    if (this.isOp('+') || this.isOp('-')) {
      const op = this.take();
      return { k: 'unary', op, x: this.factor() };
    }
    return this.power();
  }

  private power(): Node {
    const base = this.primary();
    if (this.isOp('**')) {
      this.i++;
      return { k: 'bin', op: '**', a: base, b: this.factor() };
    }
    return base;
  }

  private primary(): Node {
    let v = this.atom();
    while (this.isOp('(')) {
      this.i++;
      let arg: Node | undefined;
      if (!this.isOp(')')) arg = this.expr();
      if (!this.isOp(')')) syntaxError();
      this.i++;
      v = { k: 'call', f: v, arg };
    }
    return v;
  }

  private atom(): Node {
    const t = this.peek();
    if (t.t === 'num') {
      this.i++;
      return { k: 'num', v: t.text.includes('.') ? { kind: 'float', v: Number(t.text) } : { kind: 'int', v: BigInt(t.text) } };
    }
    if (t.t === 'op' && t.text === '(') {
      this.i++;
      if (this.isOp(')')) {
        this.i++;
        return { k: 'num', v: { kind: 'tuple' } };
      }
      const v = this.expr();
      if (!this.isOp(')')) syntaxError();
      this.i++;
      return v;
    }
    syntaxError();
  }
}

function evaluate(n: Node): Val {
  switch (n.k) {
    case 'num':
      return n.v;
    case 'bin':
      return binary(n.op, evaluate(n.a), evaluate(n.b));
    case 'unary': {
      const v = evaluate(n.x);
      if (v.kind === 'tuple') throw new PyError(`bad operand type for unary ${n.op}: 'tuple'`, 'TypeError');
      if (n.op === '+') return v;
      return v.kind === 'int' ? { kind: 'int', v: -v.v } : { kind: 'float', v: -v.v };
    }
    case 'call': {
      const f = evaluate(n.f);
      if (n.arg) evaluate(n.arg);
      throw new PyError(`'${f.kind === 'tuple' ? 'tuple' : f.kind}' object is not callable`, 'TypeError');
    }
  }
}

/** Bracket errors come from Python's tokenizer, before any other syntax error. */
function checkBrackets(src: string): void {
  let depth = 0;
  for (const ch of src) {
    if (ch === '(') depth++;
    else if (ch === ')') {
      if (depth === 0) throw new PyError("unmatched ')' (<string>, line 1)", 'SyntaxError');
      depth--;
    }
  }
  if (depth > 0) throw new PyError("'(' was never closed (<string>, line 1)", 'SyntaxError');
}

/** Python `float(eval(expression))` for the calculate alphabet. Throws PyError with Python's text. */
export function evalArithmeticToFloat(expression: string): number {
  if (expression.trim() === '') throw new PyError('invalid syntax (<string>, line 0)', 'SyntaxError');
  checkBrackets(expression);
  const v = evaluate(new ExprParser(tokenize(expression)).parse());
  if (v.kind === 'tuple') throw new PyError("float() argument must be a string or a real number, not 'tuple'", 'TypeError');
  return toFloat(v);
}
