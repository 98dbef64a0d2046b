// The checker sandbox refuses everything outside pure computation on its frozen inputs, and always
// answers with a verdict that names what happened.
import { describe, expect, it } from 'vitest';
import { runChecker, type CheckerInput } from '../../sandbox/checker-sandbox.ts';

const input: CheckerInput = {
  initialState: { agent: { tasks: { t1: { status: 'pending' } } } },
  finalState: { agent: { tasks: { t1: { status: 'completed' } } } },
  trajectory: [{ role: 'user', content: 'hi' }],
};
const body = (code: string) => `function check(initialState, finalState, trajectory) { ${code} }`;

describe('checker sandbox', () => {
  it('runs an honest checker on the frozen inputs', async () => {
    const src = body(`const ok = finalState.agent.tasks.t1.status === 'completed' && initialState.agent.tasks.t1.status === 'pending';
      return { pass: ok, reasons: ok ? [] : ['t1 not completed'] };`);
    const v = await runChecker(src, input);
    expect(v).toMatchObject({ status: 'pass', pass: true, reasons: [] });
    const f = await runChecker(src, { ...input, finalState: input.initialState });
    expect(f).toMatchObject({ status: 'fail', pass: false, reasons: ['t1 not completed'] });
  });

  it('inputs are frozen: a checker cannot rewrite the state it judges', async () => {
    const v = await runChecker(body(`finalState.agent.tasks.t1.status = 'x'; return { pass: true, reasons: [] };`), input);
    expect(v.status).toBe('error');
    expect(v.reasons[0]).toMatch(/read only|read-only|Cannot assign/);
  });

  it.each([
    ['module loading', `const fs = require('fs'); return { pass: true, reasons: [fs.readFileSync('/etc/passwd','utf8')] };`],
    ['process access', `process.exit(0); return { pass: true, reasons: [] };`],
    ['network access', `fetch('http://127.0.0.1:1'); return { pass: true, reasons: [] };`],
    ['prototype escape to Function', `const P = ({}).constructor.constructor('return process')(); return { pass: true, reasons: [String(P.pid)] };`],
    ['eval', `return { pass: eval('true'), reasons: [] };`],
    ['timers', `setTimeout(() => {}, 1); return { pass: true, reasons: [] };`],
    ['WebAssembly', `new WebAssembly.Module(new Uint8Array([0,97,115,109,1,0,0,0])); return { pass: true, reasons: [] };`],
  ])('stops %s with a forbidden verdict', async (_name, code) => {
    const v = await runChecker(body(code), input);
    expect(v.pass).toBe(false);
    expect(v.status).toBe('forbidden');
    expect(v.reasons.join(' ')).toMatch(/not defined|Code generation|not allowed|disallowed/);
  });

  it('dynamic import yields nothing usable', async () => {
    const v = await runChecker(body(`return import('node:fs').then(() => ({ pass: true, reasons: [] }));`), input);
    expect(v.pass).toBe(false);
    expect(v.status).not.toBe('pass');
  });

  it('stops an infinite loop at the CPU limit', async () => {
    const v = await runChecker(body(`for (;;) {}`), input, { timeoutMs: 200 });
    expect(v).toMatchObject({ status: 'timeout', pass: false });
    expect(v.reasons[0]).toMatch(/200 ms/);
  });

  it('stops a promise-loop (microtasks) at the CPU limit', async () => {
    const v = await runChecker(body(`const spin = () => Promise.resolve().then(spin); spin(); return { pass: true, reasons: [] };`), input, { timeoutMs: 200 });
    expect(v.pass).toBe(false);
    expect(v.status).toBe('timeout');
  });

  it('stops a memory bomb at the heap limit', async () => {
    const v = await runChecker(body(`const a = []; for (;;) a.push({ x: new Array(1000).fill(a.length) }); `), input, { timeoutMs: 20_000, memoryMb: 32 });
    expect(v).toMatchObject({ status: 'memory', pass: false });
    expect(v.reasons[0]).toMatch(/32 MB/);
  });

  it('accepts check as a lexical binding, as the old engine did', async () => {
    const v = await runChecker(`const check = (i, f) => ({ pass: f.agent.tasks.t1.status === 'completed', reasons: [] });`, input);
    expect(v).toMatchObject({ status: 'pass', pass: true });
  });

  it('reports a source that does not compile or defines no check', async () => {
    expect((await runChecker('function check( {', input)).status).toBe('invalid');
    expect((await runChecker('const x = 1;', input)).status).toBe('invalid');
  });

  it('rejects answers of the wrong shape', async () => {
    const v = await runChecker(body(`return { pass: 'yes' };`), input);
    expect(v).toMatchObject({ status: 'error', pass: false });
  });
});
