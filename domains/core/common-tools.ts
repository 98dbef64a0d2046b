/** Tools that several τ² domains define identically. */
import { PyFloat, floatRepr } from '../pycompat/pyjson.ts';
import { evalArithmeticToFloat } from '../pycompat/py-arith.ts';
import { roundFloat } from '../pycompat/pynum.ts';
import { field, t } from './schema.ts';
import { PyError, fail, type ToolDef } from './tool.ts';

export const TRANSFER_TO_HUMAN_AGENTS: ToolDef = {
  name: 'transfer_to_human_agents',
  type: 'generic',
  short: "Transfer the user to a human agent, with a summary of the user's issue.",
  long:
    'Only transfer if\n' +
    ' -  the user explicitly asks for a human agent\n' +
    " -  given the policy and the available tools, you cannot solve the user's issue.",
  params: [field('summary', t.str(), "A summary of the user's issue.")],
  run: () => 'Transfer successful',
};

const CALC_ALPHABET = new Set('0123456789+-*/(). ');

/** `str(round(float(eval(expression)), 2))` over the digits/operators alphabet. */
export function calculate(expression: unknown): string {
  if (typeof expression !== 'string') {
    // Python iterates the argument: a non-iterable raises TypeError.
    const tn = expression === null ? 'NoneType' : typeof expression === 'number' || expression instanceof PyFloat ? (expression instanceof PyFloat || !Number.isInteger(expression) ? 'float' : 'int') : typeof expression === 'boolean' ? 'bool' : Array.isArray(expression) ? 'list' : 'dict';
    if (tn === 'list' || tn === 'dict') {
      throw new PyError('eval() arg 1 must be a string, bytes or code object', 'TypeError');
    }
    throw new PyError(`'${tn}' object is not iterable`, 'TypeError');
  }
  for (const ch of expression) if (!CALC_ALPHABET.has(ch)) fail('Invalid characters in expression');
  const value = evalArithmeticToFloat(expression);
  return floatRepr(roundFloat(value, 2));
}

export const CALCULATE: ToolDef = {
  name: 'calculate',
  type: 'generic',
  short: 'Calculate the result of a mathematical expression.',
  params: [
    field(
      'expression',
      t.str(),
      "The mathematical expression to calculate, such as '2 + 2'. The expression can contain numbers, operators (+, -, *, /), parentheses, and spaces.",
    ),
  ],
  run: (_db, a) => calculate(a.expression),
};
