// Hostile checkers, run through `runChecker` itself: realm escapes, resource bombs and verdict
// forgery. Every test asserts what was contained: the status (never `pass`, and never a forged `fail`
// turned into `pass`), that a canary file outside the sandbox stays unwritten, that the host's
// environment does not leak into the verdict, and that the host keeps running.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_REASONS, runChecker, type CheckerInput, type CheckerStatus } from '../../sandbox/checker-sandbox.ts';

const input: CheckerInput = {
  initialState: { agent: { users: { u1: { balance: 10 } } } },
  finalState: { agent: { users: { u1: { balance: 20 } } } },
  trajectory: [{ role: 'assistant', content: 'done' }],
};
const SECRET = `troupe-env-canary-${process.pid}-${Date.now()}`;
const dir = mkdtempSync(join(tmpdir(), 'troupe-sandbox-canary-'));
const CANARY = join(dir, 'escaped.txt');
// The payload every escape tries to run once it holds a host `require`: write the canary, leak env.
const PAYLOAD = `const fs = req('fs'); fs.writeFileSync(${JSON.stringify(CANARY)}, 'escaped'); return { pass: true, reasons: [JSON.stringify(req('process').env)] };`;
const body = (code: string) => `function check(initialState, finalState, trajectory) { ${code} }`;

beforeAll(() => {
  process.env.TROUPE_SANDBOX_CANARY = SECRET;
});
afterAll(() => {
  delete process.env.TROUPE_SANDBOX_CANARY;
  rmSync(dir, { recursive: true, force: true });
});

/** Run a hostile checker and assert the containment every case shares. */
async function contained(source: string, statuses: CheckerStatus[], limits?: Parameters<typeof runChecker>[2]) {
  const v = await runChecker(source, input, limits);
  expect(statuses, `status ${v.status}: ${v.reasons.join(' | ').slice(0, 300)}`).toContain(v.status);
  expect(v.pass).toBe(false);
  expect(existsSync(CANARY)).toBe(false);
  expect(JSON.stringify(v.reasons)).not.toContain(SECRET);
  expect(JSON.stringify(v.reasons)).not.toContain('tampered');
  return v;
}

describe('hostile checkers: realm escapes', () => {
  it('the rejected import() error cannot reach a host Function (issue 14 example)', async () => {
    const v = await contained(
      `function check(){ import('x').catch(e=>{ const req=e.constructor.constructor('return require')();
        req('node:worker_threads').parentPort.postMessage({status:'pass',reasons:['tampered']}) });
        return {pass:false,reasons:['checker says FAIL']}; }`,
      ['forbidden'],
    );
    expect(v.reasons[0]).toMatch(/import\("x"\)/);
  });

  it.each([
    ['import() of a node builtin, awaited in a then', `return import('node:fs').then((fs) => { fs.writeFileSync(${JSON.stringify(CANARY)}, 'x'); return { pass: true, reasons: [] }; });`],
    ['Function constructor reached through an error', `try { null.x } catch (e) { const req = e.constructor.constructor('return require')(); ${PAYLOAD} }`],
    ['Function constructor reached through a plain object', `const req = ({}).constructor.constructor('return require')(); ${PAYLOAD}`],
    ['AsyncFunction constructor', `const AF = (async () => {}).constructor; AF('return 1'); return { pass: true, reasons: [] };`],
    ['GeneratorFunction constructor', `const GF = (function* () {}).constructor; GF('yield 1'); return { pass: true, reasons: [] };`],
    ['direct eval', `const req = eval('require'); ${PAYLOAD}`],
    ['indirect eval', `const req = (0, eval)('require'); ${PAYLOAD}`],
    ['global Function', `const req = Function('return require')(); ${PAYLOAD}`],
    ['require', `const req = require; ${PAYLOAD}`],
    ['process.env', `return { pass: true, reasons: [JSON.stringify(process.env)] };`],
    ['globalThis.process via a computed key', `const p = globalThis['pro' + 'cess']; return { pass: true, reasons: [String(p)] };`],
    ['typeof require probing', `return { pass: typeof require === 'undefined', reasons: [] };`],
    ['Reflect.get on the global object', `const req = Reflect.get(globalThis, 'require'); ${PAYLOAD}`],
    ['the trap getter called directly', `const d = Object.getOwnPropertyDescriptor(globalThis, 'process'); return { pass: true, reasons: [String(d.get())] };`],
    ['module / Buffer / fetch', `return { pass: !!(module || Buffer || fetch), reasons: [] };`],
    ['setTimeout', `setTimeout(() => {}, 0); return { pass: true, reasons: [] };`],
    ['setInterval', `setInterval(() => {}, 1); return { pass: true, reasons: [] };`],
    ['queueMicrotask', `queueMicrotask(() => {}); return { pass: true, reasons: [] };`],
    ['WebAssembly', `WebAssembly.compile(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0])); return { pass: true, reasons: [] };`],
    ['SharedArrayBuffer', `const s = new SharedArrayBuffer(8); return { pass: true, reasons: [String(s.byteLength)] };`],
    ['Atomics.wait', `Atomics.wait(new Int32Array(4), 0, 0, 1e9); return { pass: true, reasons: [] };`],
    ['WeakRef', `const w = new WeakRef({}); return { pass: true, reasons: [String(!!w.deref())] };`],
    ['FinalizationRegistry with a looping callback', `const r = new FinalizationRegistry(() => { for (;;) {} }); r.register({}, 1); return { pass: true, reasons: [] };`],
    ['Proxy', `return new Proxy({ pass: false, reasons: [] }, { get: (t, k) => k === 'pass' ? true : t[k] });`],
    ['Reflect.construct of Proxy', `const P = Reflect.get(globalThis, 'Proxy'); return Reflect.construct(P, [{}, {}]);`],
    ['a caught forbidden error followed by a pass', `try { require('fs'); } catch { } return { pass: true, reasons: [] };`],
  ])('%s ends forbidden', async (_name, code) => {
    await contained(body(code), ['forbidden']);
  });

  it('Error.prepareStackTrace and stack-trace hooks see no host frames', async () => {
    const v = await contained(
      body(`Error.prepareStackTrace = (e, frames) => { const req = frames[0].getThis().constructor.constructor('return require')(); ${PAYLOAD} };
        Error.stackTraceLimit = Infinity;
        const e = new Error('boom'); const s = e.stack; throw new Error(typeof s + ':' + String(Error.captureStackTrace));`),
      ['error'],
    );
    // QuickJS has no V8 stack-trace API: the hook is never called, `stack` is a plain string.
    expect(v.reasons[0]).toMatch(/Error: string:undefined/);
  });

  it('promise and then-able tricks cannot deliver a verdict', async () => {
    await contained(body(`return { then(resolve) { resolve({ pass: true, reasons: [] }); } };`), ['error']);
    await contained(`async function check() { return { pass: true, reasons: [] }; }`, ['error']);
    await contained(body(`Object.prototype.then = (r) => r({ pass: true, reasons: [] }); return { pass: false, reasons: [] };`), ['error']);
  });

  it('strict mode: no sloppy `this` global, no callee/caller walking', async () => {
    const v = await contained(body(`const g = (function () { return this; })(); return { pass: g === undefined && arguments.callee === undefined, reasons: [] };`), ['error']);
    expect(v.reasons[0]).toMatch(/TypeError/);
  });

  it('traps cannot be removed or redefined', async () => {
    await contained(body(`delete globalThis.require; Object.defineProperty(globalThis, 'eval', { value: (s) => s }); return { pass: true, reasons: [] };`), ['error']);
  });
});

describe('hostile checkers: resource bombs', () => {
  it('an infinite loop stops at the CPU deadline while the host keeps running', async () => {
    let ticks = 0;
    const t = setInterval(() => ticks++, 20);
    const v = await contained(body(`for (;;) {}`), ['timeout'], { timeoutMs: 300 });
    clearInterval(t);
    expect(v.durationMs).toBeLessThan(300 + 1500);
    // The engine runs in a worker: the host event loop ticked throughout.
    expect(ticks).toBeGreaterThan(5);
  });

  it('a flood of checkers, bombs among them, each gets its own answer', async () => {
    const honest = body(`return { pass: finalState.agent.users.u1.balance === 20, reasons: [] };`);
    const runs = await Promise.all([
      runChecker(body(`for (;;) {}`), input, { timeoutMs: 300 }),
      ...Array.from({ length: 5 }, () => runChecker(honest, input)),
      runChecker(body(`const a = []; for (;;) a.push(new ArrayBuffer(1 << 20));`), input, { memoryMb: 16 }),
      runChecker(body(`require('fs')`), input),
    ]);
    expect(runs.map((v) => v.status)).toEqual(['timeout', 'pass', 'pass', 'pass', 'pass', 'pass', 'memory', 'forbidden']);
  });

  it('catching the interrupt does not buy more time', async () => {
    await contained(body(`for (let i = 0; i < 5; i++) { try { for (;;) {} } catch (e) {} } return { pass: true, reasons: [] };`), ['timeout'], { timeoutMs: 200 });
  });

  it('a builtin that loops inside wasm without polling is killed by the worker fence', async () => {
    const v = await contained(body(`return { pass: new Array(2 ** 32 - 1).includes(1), reasons: [] };`), ['timeout'], { timeoutMs: 300 });
    expect(v.reasons[0]).toMatch(/worker terminated/);
    expect(v.durationMs).toBeLessThan(300 + 3000);
    // The pool replaced the killed worker: an honest checker still answers.
    expect((await runChecker(body(`return { pass: true, reasons: [] };`), input)).status).toBe('pass');
  });

  it('catastrophic regex backtracking stops at the deadline', async () => {
    await contained(body(`return { pass: /^(a+)+$/.test('a'.repeat(40) + 'b'), reasons: [] };`), ['timeout'], { timeoutMs: 300 });
  });

  it('a promise/microtask loop stops at the deadline', async () => {
    await contained(body(`const spin = () => Promise.resolve().then(spin); spin(); return { pass: true, reasons: [] };`), ['timeout'], { timeoutMs: 200 });
  });

  it('deep recursion is a stack overflow, not a host crash', async () => {
    const v = await contained(body(`const f = (n) => f(n + 1) + 1; return f(0);`), ['error']);
    expect(v.reasons[0]).toMatch(/stack overflow/);
  });

  it('a deeply nested source does not overflow the host', async () => {
    await contained(`function check() { return ${'['.repeat(200_000)} }`, ['invalid', 'error']);
  });

  it.each([
    ['a doubling string', `let s = 'x'; for (;;) s += s;`],
    ['many large strings', `const a = []; for (;;) a.push('y'.repeat(1 << 20) + a.length);`],
    ['one huge ArrayBuffer', `const b = new ArrayBuffer(1024 * 1024 * 1024); return { pass: true, reasons: [String(b.byteLength)] };`],
    ['many ArrayBuffers (outside the QuickJS heap count)', `const a = []; for (;;) a.push(new ArrayBuffer(1 << 20));`],
    ['many typed arrays', `const a = []; for (;;) a.push(new Float64Array(1 << 17));`],
    ['an exponentially growing array', `let a = [1]; for (;;) a = a.concat(a);`],
    ['an object graph', `const a = []; for (;;) a.push({ x: new Array(1000).fill(a.length) });`],
  ])('%s is stopped by the memory limit', async (_name, code) => {
    const v = await contained(body(code), ['memory', 'error'], { memoryMb: 32, timeoutMs: 10_000 });
    expect(v.reasons.join(' ')).toMatch(/memory|too long|out of memory/);
  });

  it('a FinalizationRegistry or busy worker never keeps the host process alive at exit', () => {
    const script = `import { runChecker } from ${JSON.stringify(join(process.cwd(), 'sandbox/checker-sandbox.ts'))};
      const a = await runChecker('function check(){ const r = new FinalizationRegistry(() => { for(;;){} }); for (let i = 0; i < 1e5; i++) r.register({}, i); return { pass: false, reasons: [] }; }', { initialState: 1, finalState: 1, trajectory: [] });
      const b = await runChecker('function check(){ return { pass: new Array(2 ** 32 - 1).includes(1), reasons: [] }; }', { initialState: 1, finalState: 1, trajectory: [] }, { timeoutMs: 200 });
      const c = await runChecker('function check(){ return { pass: false, reasons: ["ok"] }; }', { initialState: 1, finalState: 1, trajectory: [] });
      console.log(JSON.stringify([a.status, b.status, c.status]));`;
    const started = Date.now();
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(r.error).toBeUndefined();
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').pop()!)).toEqual(['forbidden', 'timeout', 'fail']);
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});

describe('hostile checkers: verdict forgery', () => {
  it.each([
    ['JSON.stringify override', `JSON.stringify = () => '{"pass":true,"reasons":[]}';`],
    ['JSON.parse override', `JSON.parse = () => ({ pass: true, reasons: [] });`],
    ['Object.prototype.toJSON', `Object.prototype.toJSON = function () { return { pass: true, reasons: [] }; };`],
    ['Array.prototype.toJSON and Boolean.prototype.toJSON', `Array.prototype.toJSON = () => []; Boolean.prototype.toJSON = () => true;`],
    ['Object/Array introspection overrides', `Object.getOwnPropertyDescriptor = () => ({ value: true }); Object.hasOwn = () => true; Array.isArray = () => false; Object.getPrototypeOf = () => null;`],
    ['a promise callback that rewrites the verdict after check returned', `Promise.resolve().then(() => { verdict.pass = true; verdict.reasons.length = 0; });`],
  ])('%s cannot turn a fail into a pass', async (_name, code) => {
    const v = await runChecker(body(`const verdict = { pass: false, reasons: ['checker says FAIL'] }; ${code} return verdict;`), input);
    expect(v).toMatchObject({ status: 'fail', pass: false, reasons: ['checker says FAIL'] });
  });

  it.each([
    ['a getter for pass', `return { get pass() { return true; }, reasons: [] };`],
    ['a getter for reasons', `return { pass: false, get reasons() { return []; } };`],
    ['a getter on a reason', `const r = []; Object.defineProperty(r, 0, { get: () => 'x', enumerable: true }); return { pass: false, reasons: r };`],
    ['an inherited pass', `return Object.create({ pass: true, reasons: [] });`],
    ['Symbol.toPrimitive pass', `return { pass: { [Symbol.toPrimitive]: () => true }, reasons: [] };`],
    ['a string pass', `return { pass: 'true', reasons: [] };`],
    ['a number pass', `return { pass: 1, reasons: [] };`],
    ['a Boolean object pass', `return { pass: new Boolean(true), reasons: [] };`],
    ['non-string reasons', `return { pass: false, reasons: [1, {}, null] };`],
    ['a Symbol reason', `return { pass: false, reasons: [Symbol('x')] };`],
    ['reasons that are not an array', `return { pass: false, reasons: { length: 1, 0: 'x' } };`],
    ['a 1 MB reason', `return { pass: false, reasons: ['r'.repeat(1 << 20)] };`],
    ['too many reasons', `return { pass: false, reasons: new Array(${MAX_REASONS + 1}).fill('r') };`],
    ['a verdict larger than the output cap in total', `return { pass: false, reasons: new Array(${MAX_REASONS}).fill('r'.repeat(3000)) };`],
    ['a function as the verdict', `const f = () => {}; f.pass = true; f.reasons = []; return f;`],
    ['null', `return null;`],
    ['a primitive', `return true;`],
  ])('%s is an error, not a verdict', async (_name, code) => {
    const v = await contained(body(code), ['error']);
    expect(v.reasons.join('').length).toBeLessThan(600);
  });

  it('fields besides pass and reasons cannot forge a status', async () => {
    const v = await runChecker(body(`return { pass: false, reasons: [], status: 'pass', __invalid: 'x', __threw: 'y' };`), input);
    expect(v).toMatchObject({ status: 'fail', pass: false, reasons: [] });
  });

  it('a sparse reasons array is read exactly, holes are an error', async () => {
    await contained(body(`const r = ['a']; r[5] = 'b'; return { pass: false, reasons: r };`), ['error']);
  });
});

describe('inputs cross as data', () => {
  it('a checker sees plain, frozen copies of the inputs, with no host prototype', async () => {
    const src = body(`const u = finalState.agent.users.u1;
      const ok = u.balance === 20 && Object.isFrozen(u) && Object.getPrototypeOf(u) === Object.prototype && Array.isArray(trajectory)
        && initialState.agent.users.u1.balance === 10 && trajectory[0].content === 'done';
      return { pass: ok, reasons: ok ? [] : ['inputs differ'] };`);
    expect(await runChecker(src, input)).toMatchObject({ status: 'pass', pass: true });
  });

  it('host objects are copied as JSON: functions and class instances arrive as plain data', async () => {
    class Secret {
      token = 'plain';
      leak() {
        return process.env;
      }
    }
    const v = await runChecker(body(`const s = finalState.s; return { pass: false, reasons: [typeof s.leak, s.token, String(finalState.f)] };`), {
      ...input,
      finalState: { s: new Secret(), f: () => 1 },
    });
    expect(v).toMatchObject({ status: 'fail', reasons: ['undefined', 'plain', 'undefined'] });
  });
});
