// The checker engine: QuickJS compiled to WebAssembly (quickjs-emscripten). Plain JavaScript because
// it is loaded by a worker thread, where no TypeScript loader is registered; the host validates
// everything this file answers with a zod schema, so the types are enforced at that boundary.
//
// Why this is a boundary: the checker runs inside the wasm instance's own JS engine. No object of
// Node or V8 exists there; the only bridge is one host function (`trap`) that records an escape
// attempt and throws. Inputs go in as one string and are parsed by the VM; the verdict comes out as
// primitives read field by field through the engine API, then serialised here.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { DefaultIntrinsics, newQuickJSWASMModuleFromVariant, newVariant } from 'quickjs-emscripten-core';
import releaseSync from '@jitl/quickjs-wasmfile-release-sync';

const require = createRequire(import.meta.url);

// Globals a checker may reach for outside pure computation. Touching one (read, write or typeof) is
// an escape attempt: the run ends `forbidden` even if the checker catches the error.
const FORBIDDEN_GLOBALS = [
  'require', 'process', 'module', 'exports', 'global', 'Buffer', 'fetch', 'XMLHttpRequest', 'WebSocket',
  'setTimeout', 'setInterval', 'setImmediate', 'clearTimeout', 'clearInterval', 'clearImmediate', 'queueMicrotask',
  'WebAssembly', 'SharedArrayBuffer', 'Atomics', 'WeakRef', 'FinalizationRegistry', 'Proxy',
  'Deno', 'Bun', 'importScripts', 'postMessage', 'self', 'window', '__dirname', '__filename',
];

// Runs before any checker code, so every builtin it captures is pristine. Returns the parsed, frozen
// inputs and the readers the host uses on the verdict (they never call user code: no Proxy exists, and
// accessors are reported, not invoked).
const PRELUDE = `(function (trap, inputJson, names) {
  'use strict';
  const O = Object, gOPD = O.getOwnPropertyDescriptor, defineProperty = O.defineProperty, hasOwn = O.hasOwn,
    getProto = O.getPrototypeOf, freeze = O.freeze, isArray = Array.isArray,
    parse = JSON.parse, apply = Reflect.apply, slice = String.prototype.slice;
  const g = globalThis;
  const deny = (name) => function () { return trap(name); };
  for (const name of names) defineProperty(g, name, { get: deny(name), set: deny(name), configurable: false });
  // No code generation from strings (eval, Function and its async/generator siblings).
  const noCodegen = deny('code generation (eval/Function)');
  noCodegen.prototype = Function.prototype;
  for (const F of [Function, (async function () {}).constructor, (function* () {}).constructor, (async function* () {}).constructor]) {
    defineProperty(F.prototype, 'constructor', { value: noCodegen, writable: false, enumerable: false, configurable: false });
  }
  defineProperty(g, 'Function', { value: noCodegen, writable: false, enumerable: false, configurable: false });
  defineProperty(g, 'eval', { value: deny('eval'), writable: false, enumerable: false, configurable: false });
  // Deep-frozen while parsing (the reviver runs children first): half the cost of a separate walk.
  const input = parse(inputJson, (k, v) => (typeof v === 'object' && v !== null ? freeze(v) : v));
  // [0] missing, [1] accessor, [2, value] own data property.
  const own = (o, k) => { const d = gOPD(o, k); return d === undefined ? [0] : hasOwn(d, 'value') ? [2, d.value] : [1]; };
  const isList = (o) => isArray(o);
  // Any 'then' on the chain makes a then-able (an async verdict in disguise).
  const thenable = (o) => { for (let i = 0, p = o; i < 64 && p !== null; i++, p = getProto(p)) if (gOPD(p, 'then') !== undefined) return true; return false; };
  const errorText = (e) => {
    if (e === null || (typeof e !== 'object' && typeof e !== 'function')) return typeof e === 'string' ? apply(slice, e, [0, 500]) : typeof e;
    let name = 'Error', p = e;
    for (let i = 0; i < 16 && p !== null; i++, p = getProto(p)) { const d = gOPD(p, 'name'); if (d && hasOwn(d, 'value')) { if (typeof d.value === 'string') name = d.value; break; } }
    const m = gOPD(e, 'message');
    const message = m && hasOwn(m, 'value') && typeof m.value === 'string' ? m.value : '';
    return apply(slice, name, [0, 100]) + ': ' + apply(slice, message, [0, 500]);
  };
  return [input.initialState, input.finalState, input.trajectory, own, isList, errorText, thenable];
})`;

/** Load the variant once per worker: the wasm is compiled here, each run instantiates it afresh. */
export function loadEngine() {
  const wasmModule = new WebAssembly.Module(readFileSync(require.resolve('@jitl/quickjs-wasmfile-release-sync/wasm')));
  return { run: (job, onStarted) => runJob(wasmModule, job, onStarted) };
}

const PAGE = 65536;
// The module's own initial memory (data, shadow stack, allocator), as the prebuilt variant sets it.
const BASE_MEMORY_BYTES = 16 * 2 ** 20;

/**
 * Run one checker in a fresh wasm instance (nothing survives from one run to the next, and a wasm
 * trap — e.g. the native stack overflowing — cannot poison later runs).
 * @param {object} job { source, inputJson, timeoutMs, memoryBytes, stackBytes, maxReasons, maxReasonChars, maxOutputBytes }
 * @returns {Promise<{kind: 'verdict', json: string} | {kind: 'fault', status: string, reason: string}>}
 */
async function runJob(wasmModule, job, onStarted) {
  // The real memory fence. QuickJS's setMemoryLimit only refuses single allocations above the limit on
  // this build (large blocks are not added to its running total: quickjs-emscripten issue #271), so
  // the wasm memory itself gets a maximum: base + room for the parsed input + the checker's allowance.
  // Past it malloc returns NULL and QuickJS throws "out of memory", ArrayBuffers included.
  const maxBytes = BASE_MEMORY_BYTES + 4 * job.inputJson.length + job.memoryBytes;
  const memory = new WebAssembly.Memory({ initial: BASE_MEMORY_BYTES / PAGE, maximum: Math.ceil(maxBytes / PAGE) });
  const QuickJS = await newQuickJSWASMModuleFromVariant(newVariant(releaseSync, { wasmModule, wasmMemory: memory }));
  const atCap = () => memory.buffer.byteLength + 2 * 2 ** 20 >= maxBytes;
  try {
    return await runInInstance(QuickJS, job, onStarted, atCap);
  } catch (e) {
    // A wasm trap (native stack overflow, an allocation failure the glue does not check): the instance
    // is discarded with this call, so only the classification matters.
    if (atCap()) return { kind: 'fault', status: 'memory', reason: `checker exceeded its memory limit of ${Math.round(job.memoryBytes / 2 ** 20)} MB` };
    throw e;
  }
}

async function runInInstance(QuickJS, job, onStarted, atCap) {
  const rt = QuickJS.newRuntime();
  let forbidden = null;
  let interrupted = false;
  let deadline = Infinity; // armed when checker code starts: parsing a large input is not its time
  // Setup (parsing the host's own input) may use what the input needs; the checker's allowance is
  // added on top once the input is in, so a large state does not eat the checker's budget.
  rt.setMemoryLimit(job.memoryBytes + 16 * job.inputJson.length);
  rt.setMaxStackSize(job.stackBytes);
  rt.setInterruptHandler(() => (interrupted ||= performance.now() > deadline));
  rt.setModuleLoader((name) => {
    forbidden ??= `import(${JSON.stringify(String(name).slice(0, 100))})`;
    return { error: new Error('modules are not available in a checker') };
  });
  const ctx = rt.newContext({ intrinsics: { ...DefaultIntrinsics, Proxy: false } });
  const fault = (status, reason) => ({ kind: 'fault', status, reason });
  // Classify an error handle the VM threw; the host-side flags win over anything the message says.
  const classify = (errorText, err, what) => {
    if (forbidden !== null) return fault('forbidden', `checker reached for ${forbidden}, which is not allowed in a checker`);
    if (interrupted) return fault('timeout', `checker exceeded its CPU time limit of ${job.timeoutMs} ms`);
    let text = 'unknown error';
    try {
      text = errorText ? readString(ctx.unwrapResult(ctx.callFunction(errorText, ctx.undefined, err)), 700) ?? text : text;
    } catch { /* the describer itself failed: keep the generic text */ }
    if (forbidden !== null) return fault('forbidden', `checker reached for ${forbidden}, which is not allowed in a checker`);
    if (interrupted) return fault('timeout', `checker exceeded its CPU time limit of ${job.timeoutMs} ms`);
    // At the cap, QuickJS may throw null (no memory left for an error object).
    if (/^InternalError: out of memory/.test(text) || (atCap() && /^(object|unknown error)$/.test(text))) return fault('memory', `checker exceeded its memory limit of ${Math.round(job.memoryBytes / 2 ** 20)} MB`);
    if (what === 'compile' && /^SyntaxError/.test(text)) return fault('invalid', `checker does not compile: ${text}`);
    return fault('error', `checker threw: ${text}`);
  };
  // Copy a VM string out only when its length is within bounds (a 60 MB string never crosses).
  const readString = (h, maxChars) => {
    if (ctx.typeof(h) !== 'string') return undefined;
    const len = ctx.getNumber(ctx.getProp(h, 'length'));
    if (!(len <= maxChars)) return null;
    return ctx.getString(h);
  };

  const trap = ctx.newFunction('trap', (nameHandle) => {
    const name = readString(nameHandle, 100) ?? 'something';
    forbidden ??= name;
    return { error: ctx.newError({ name: 'ForbiddenError', message: `${name} is not available in a checker` }) };
  });
  const prelude = ctx.evalCode(PRELUDE, 'prelude.js', { strict: true });
  if (prelude.error) return fault('error', 'sandbox setup failed');
  const namesJson = ctx.unwrapResult(ctx.evalCode(JSON.stringify(FORBIDDEN_GLOBALS)));
  const setup = ctx.callFunction(prelude.value, ctx.undefined, trap, ctx.newString(job.inputJson), namesJson);
  if (setup.error) return fault('error', `checker input could not be installed: ${ctx.dump(setup.error)?.message ?? 'unknown'}`);
  // Read the prelude's own fresh array now, before any checker code exists.
  const [initialState, finalState, trajectory, own, isList, errorText, thenable] = [0, 1, 2, 3, 4, 5, 6].map((i) => ctx.getProp(setup.value, i));
  const usage = ctx.dump(rt.computeMemoryUsage());
  rt.setMemoryLimit(Number(usage.memory_used_size) + job.memoryBytes);

  onStarted?.();
  deadline = performance.now() + job.timeoutMs;
  const compiled = ctx.evalCode(job.source, 'checker.js', { strict: true });
  if (compiled.error) return classify(errorText, compiled.error, 'compile');
  // `check` must be a plain global function declaration; an accessor here would run code on read.
  const checkSlot = ctx.callFunction(own, ctx.undefined, ctx.global, ctx.newString('check'));
  if (checkSlot.error) return classify(errorText, checkSlot.error, 'run');
  const tag = ctx.getNumber(ctx.getProp(checkSlot.value, 0));
  let checkFn = tag === 2 ? ctx.getProp(checkSlot.value, 1) : undefined;
  if (tag === 0) {
    // `const check = ...`: a lexical binding (read without running checker code), as the old engine allowed.
    const lexical = ctx.evalCode(`typeof check === 'function' ? check : undefined`, 'lookup.js', { strict: true });
    if (lexical.error) return classify(errorText, lexical.error, 'run');
    checkFn = lexical.value;
  }
  if (forbidden !== null || interrupted) return classify(errorText, ctx.undefined, 'run');
  if (!checkFn || ctx.typeof(checkFn) !== 'function') return fault('invalid', 'the checker source defines no function named check');

  const result = ctx.callFunction(checkFn, ctx.undefined, initialState, finalState, trajectory);
  if (result.error) return classify(errorText, result.error, 'run');
  // Read the verdict before any queued job runs, so a callback cannot rewrite it afterwards.
  let verdict;
  try {
    verdict = readVerdict(ctx, result.value, { own, isList, thenable }, readString, job);
  } catch {
    // A reader failed inside the VM: out of time or memory by now, or the engine gave up.
    if (forbidden !== null || interrupted || atCap()) return classify(undefined, ctx.undefined, 'run');
    return fault('error', 'the verdict could not be read');
  }
  // Queued jobs (promise callbacks) run under the same deadline: they may only reveal an escape
  // attempt, a loop or an error, never change the verdict.
  const jobs = rt.executePendingJobs(-1);
  if (jobs.error) return classify(errorText, jobs.error, 'run');
  if (forbidden !== null || interrupted) return classify(errorText, ctx.undefined, 'run');
  if (typeof verdict === 'string') return fault('error', verdict);
  // The worker realm's JSON, untouched by checker code; the size cap applies to what crosses.
  const json = JSON.stringify(verdict);
  if (Buffer.byteLength(json) > job.maxOutputBytes) return fault('error', `checker verdict is larger than ${job.maxOutputBytes} bytes`);
  return { kind: 'verdict', json };
}

/** The verdict as `{pass, reasons}` read field by field, or a string saying what is wrong with it. */
function readVerdict(ctx, r, { own, isList, thenable }, readString, job) {
  const yes = (fn, ...args) => ctx.sameValue(ctx.unwrapResult(ctx.callFunction(fn, ctx.undefined, ...args)), ctx.true);
  const t = ctx.typeof(r);
  if (t === 'object' && ctx.sameValue(r, ctx.null)) return 'check must return { pass: boolean, reasons: string[] }, not null';
  if ((t === 'object' || t === 'function') && (!ctx.getPromiseState(r).notAPromise || yes(thenable, r))) return 'check returned a promise or then-able; it must answer synchronously';
  if (t !== 'object') return `check must return { pass: boolean, reasons: string[] }, not ${t}`;
  const field = (o, k) => {
    const slot = ctx.unwrapResult(ctx.callFunction(own, ctx.undefined, o, typeof k === 'number' ? ctx.newNumber(k) : ctx.newString(k)));
    const tag = ctx.getNumber(ctx.getProp(slot, 0));
    return tag === 2 ? { value: ctx.getProp(slot, 1) } : { tag: tag === 1 ? 'accessor' : 'missing' };
  };
  const pass = field(r, 'pass');
  if (!pass.value) return `verdict.pass is ${pass.tag === 'accessor' ? 'a getter' : 'missing'}; it must be a plain boolean`;
  if (ctx.typeof(pass.value) !== 'boolean') return `verdict.pass must be a boolean, not ${ctx.typeof(pass.value)}`;
  const reasons = field(r, 'reasons');
  const list = [];
  if (reasons.value && ctx.typeof(reasons.value) !== 'undefined') {
    if (!yes(isList, reasons.value)) return 'verdict.reasons must be an array of strings';
    const len = field(reasons.value, 'length');
    const n = len.value ? ctx.getNumber(len.value) : NaN;
    if (!(n <= job.maxReasons)) return `verdict.reasons has more than ${job.maxReasons} entries`;
    for (let i = 0; i < n; i++) {
      const item = field(reasons.value, i);
      if (!item.value) return `verdict.reasons[${i}] is ${item.tag === 'accessor' ? 'a getter' : 'missing'}; it must be a plain string`;
      const s = readString(item.value, job.maxReasonChars);
      if (s === undefined) return `verdict.reasons[${i}] must be a string, not ${ctx.typeof(item.value)}`;
      if (s === null) return `verdict.reasons[${i}] is longer than ${job.maxReasonChars} characters`;
      list.push(s);
    }
  } else if (reasons.tag === 'accessor') return 'verdict.reasons is a getter; it must be a plain array';
  return { pass: ctx.sameValue(pass.value, ctx.true), reasons: list };
}
