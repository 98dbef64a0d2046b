// Reading and writing τ²'s results.json. Files are parsed with Python's int/float distinction kept
// (tool-call arguments are replayed into tools, where `1` and `1.0` can end up in different DB
// states) and written back the same way, so a round trip through Troupe changes no value.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { ResultsSchema, type Message, type Results, type SimulationRun } from '../../protocols/tau2/results.ts';
import { PyFloat, floatRepr, orderedKeys, parse as pyParse } from '../pycompat/pyjson.ts';

export class ResultsFormatError extends Error {
  constructor(path: string, detail: string) {
    super(`${path} is not a τ² results file: ${detail}`);
    this.name = 'ResultsFormatError';
  }
}

/** Parses and validates results JSON text. */
export function parseResults(text: string, source = 'results'): Results {
  let raw: unknown;
  try {
    raw = pyParse(text);
  } catch (err) {
    throw new ResultsFormatError(source, `invalid JSON (${(err as Error).message})`);
  }
  const r = ResultsSchema.safeParse(raw);
  if (!r.success) {
    const first = r.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ResultsFormatError(source, first.join('; '));
  }
  return r.data;
}

export function readResultsFile(path: string): Results {
  return parseResults(readFileSync(path, 'utf8'), path);
}

/**
 * Messages in τ²'s stored order: sorted by timestamp (stable, so equal or missing timestamps keep
 * their order) and `turn_idx` renumbered from 0.
 */
export function orderMessages(messages: readonly Message[]): Message[] {
  const indexed = messages.map((m, i) => ({ m, i }));
  indexed.sort((a, b) => {
    const ta = a.m.timestamp ?? '';
    const tb = b.m.timestamp ?? '';
    if (ta && tb && ta !== tb) return ta < tb ? -1 : 1;
    return a.i - b.i;
  });
  return indexed.map(({ m }, turn) => ({ ...m, turn_idx: turn }) as Message);
}

/** JSON text with 2-space indentation in which Python floats keep their `.0`. */
export function toPythonJson(value: unknown, indent = 2): string {
  const out: string[] = [];
  const write = (v: unknown, depth: number): void => {
    const pad = ' '.repeat(indent * (depth + 1));
    const close = ' '.repeat(indent * depth);
    if (v === null || v === undefined) out.push('null');
    else if (typeof v === 'boolean') out.push(v ? 'true' : 'false');
    else if (typeof v === 'string') out.push(JSON.stringify(v));
    else if (v instanceof PyFloat) out.push(floatText(v.value));
    else if (typeof v === 'number') out.push(Number.isInteger(v) ? String(v) : floatText(v));
    else if (Array.isArray(v)) {
      if (v.length === 0) return void out.push('[]');
      out.push('[\n');
      v.forEach((x, i) => {
        out.push(pad);
        write(x, depth + 1);
        out.push(i < v.length - 1 ? ',\n' : '\n');
      });
      out.push(close + ']');
    } else if (typeof v === 'object') {
      const obj = v as Record<string, unknown>;
      // Python key order (JS would move integer-like keys first).
      const entries = orderedKeys(obj).map((k) => [k, obj[k]] as const).filter(([, x]) => x !== undefined);
      if (entries.length === 0) return void out.push('{}');
      out.push('{\n');
      entries.forEach(([k, x], i) => {
        out.push(pad + JSON.stringify(k) + ': ');
        write(x, depth + 1);
        out.push(i < entries.length - 1 ? ',\n' : '\n');
      });
      out.push(close + '}');
    } else throw new TypeError(`cannot write ${typeof v} to results JSON`);
  };
  write(value, 0);
  return out.join('');
}

function floatText(x: number): string {
  if (!Number.isFinite(x)) throw new TypeError(`results JSON cannot hold ${x}`);
  return floatRepr(x);
}

/** Validates, orders each simulation's messages, and writes the file. */
export function writeResultsFile(path: string, results: Results): void {
  const ordered: Results = {
    ...results,
    simulations: results.simulations.map((s: SimulationRun) => ({ ...s, messages: orderMessages(s.messages) })),
  };
  const check = ResultsSchema.safeParse(ordered);
  if (!check.success) {
    const first = check.error.issues.slice(0, 5).map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ResultsFormatError(path, `refusing to write invalid results: ${first.join('; ')}`);
  }
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, toPythonJson(ordered) + '\n');
}
