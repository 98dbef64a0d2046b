// The checker sandbox: run an untrusted per-task checker — JavaScript source defining
// `check(initialState, finalState, trajectory)` → `{ pass, reasons }` — in isolation.
//
// Layers (see docs/synthesis.md, "The checker sandbox", for why and the known limits):
//  1. A fresh worker thread per run with V8 heap limits (`resourceLimits`), an empty environment,
//     no stdin and captured stdout/stderr. The parent terminates it on a wall-clock deadline: the
//     hard stop for anything the inner timeout misses.
//  2. Inside the worker, a new `vm` context whose global object has no prototype and holds nothing of
//     Node (no require, process, import, fetch, timers), with string/wasm code generation disabled.
//  3. Only primitives cross into the context: the inputs go in as one JSON string and are parsed and
//     deep-frozen by the context's own JSON/Object, the verdict comes back as one JSON string. No
//     object of the worker's realm is reachable, so `x.constructor.constructor` yields the context's
//     own (code-generation-disabled) Function, never the worker's.
//  4. `runInContext` has a CPU timeout and `microtaskMode: 'afterEvaluate'`, so promise loops are
//     bounded by the same timeout.
import { Worker } from 'node:worker_threads';

export interface CheckerInput {
  initialState: unknown;
  finalState: unknown;
  trajectory: unknown;
}

export interface SandboxLimits {
  /** CPU/wall time the checker may take (default 1000 ms). */
  timeoutMs?: number;
  /** V8 old-generation heap of the worker (default 64 MB). */
  memoryMb?: number;
  /** Largest verdict JSON accepted (default 64 kB). */
  maxOutputBytes?: number;
}

/**
 * `pass`/`fail`: the checker ran and answered. Everything else is a failure to run, never a pass:
 * `error` (it threw, or its answer had the wrong shape), `timeout`, `memory` (heap limit hit),
 * `forbidden` (it tried to generate code or reach something the sandbox does not provide),
 * `invalid` (the source does not compile or defines no `check`).
 */
export type CheckerStatus = 'pass' | 'fail' | 'error' | 'timeout' | 'memory' | 'forbidden' | 'invalid';

export interface CheckerVerdict {
  status: CheckerStatus;
  pass: boolean;
  reasons: string[];
  durationMs: number;
}

const DEFAULTS = { timeoutMs: 1000, memoryMb: 64, maxOutputBytes: 65_536 };

// Runs inside the worker (plain JS, evaluated with `eval: true`, so no loader is involved).
const WORKER_SOURCE = String.raw`(() => {
const { parentPort, workerData } = require('node:worker_threads');
const vm = require('node:vm');
const { source, inputJson, timeoutMs, maxOutputBytes } = workerData;
function send(v) { parentPort.postMessage(v); }
let ctx;
try {
  ctx = vm.createContext(Object.create(null), {
    name: 'troupe-checker',
    codeGeneration: { strings: false, wasm: false },
    microtaskMode: 'afterEvaluate',
  });
} catch (e) { send({ status: 'error', reasons: ['sandbox setup failed: ' + e.message] }); return; }
// Install the input as a primitive, then parse and freeze it with the context's own builtins.
ctx.__input = inputJson;
const prelude = '"use strict";' +
  'const __deepFreeze = (o) => { if (o && typeof o === "object" && !Object.isFrozen(o)) { Object.freeze(o); for (const k of Object.keys(o)) __deepFreeze(o[k]); } return o; };' +
  'const __in = __deepFreeze(JSON.parse(globalThis.__input)); delete globalThis.__input;';
const wrapped = prelude + '\n' + source + '\n;(() => {' +
  ' if (typeof check !== "function") return JSON.stringify({ __invalid: "the checker source defines no function named check" });' +
  ' let r; try { r = check(__in.initialState, __in.finalState, __in.trajectory); }' +
  ' catch (e) { return JSON.stringify({ __threw: String(e && e.stack || e).slice(0, 2000), __name: String(e && e.name) }); }' +
  ' if (r && typeof r.then === "function") return JSON.stringify({ __shape: "check returned a promise; it must answer synchronously" });' +
  ' if (!r || typeof r !== "object" || typeof r.pass !== "boolean") return JSON.stringify({ __shape: "check must return { pass: boolean, reasons: string[] }" });' +
  ' const reasons = Array.isArray(r.reasons) ? r.reasons.map((x) => String(x).slice(0, 500)).slice(0, 50) : [];' +
  ' return JSON.stringify({ pass: r.pass, reasons });' +
  '})()';
let out;
try {
  const script = new vm.Script(wrapped, { filename: 'checker.js' });
  out = script.runInContext(ctx, { timeout: timeoutMs, breakOnSigint: false, displayErrors: false });
} catch (e) {
  const msg = String(e && e.message || e);
  if (e && e.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') send({ status: 'timeout', reasons: ['checker exceeded its CPU time limit of ' + timeoutMs + ' ms'] });
  else if (e && e.name === 'SyntaxError') send({ status: 'invalid', reasons: ['checker does not compile: ' + msg] });
  else if (/Code generation from strings disallowed|WebAssembly/.test(msg)) send({ status: 'forbidden', reasons: ['code generation is not allowed in a checker: ' + msg] });
  else send({ status: 'error', reasons: ['checker failed: ' + msg] });
  return;
}
if (typeof out !== 'string') { send({ status: 'error', reasons: ['checker produced no verdict'] }); return; }
if (out.length > maxOutputBytes) { send({ status: 'error', reasons: ['checker verdict is larger than ' + maxOutputBytes + ' bytes'] }); return; }
const v = JSON.parse(out);
if (v.__invalid) send({ status: 'invalid', reasons: [v.__invalid] });
else if (v.__shape) send({ status: 'error', reasons: [v.__shape] });
else if (v.__threw !== undefined) {
  const forbidden = /is not defined|Code generation from strings disallowed|WebAssembly/.test(v.__threw) && /(require|process|import|fetch|setTimeout|setInterval|WebAssembly|eval|Function|Buffer|globalThis\.|XMLHttpRequest|WebSocket|queueMicrotask|Code generation)/.test(v.__threw);
  send({ status: forbidden ? 'forbidden' : 'error', reasons: ['checker threw: ' + v.__threw.split('\n')[0]] });
} else send({ status: v.pass ? 'pass' : 'fail', reasons: v.reasons });
})();
`;

/** Run `source` (which must define `function check(initialState, finalState, trajectory)`) on `input`. */
export async function runChecker(source: string, input: CheckerInput, limits: SandboxLimits = {}): Promise<CheckerVerdict> {
  const { timeoutMs, memoryMb, maxOutputBytes } = { ...DEFAULTS, ...limits };
  const started = performance.now();
  const done = (status: CheckerStatus, reasons: string[]): CheckerVerdict => ({
    status,
    pass: status === 'pass',
    reasons,
    durationMs: Math.round((performance.now() - started) * 10) / 10,
  });
  let inputJson: string;
  try {
    inputJson = JSON.stringify(input);
  } catch (e) {
    return done('error', [`checker input is not JSON-serialisable: ${(e as Error).message}`]);
  }
  return new Promise<CheckerVerdict>((resolve) => {
    let settled = false;
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { source, inputJson, timeoutMs, maxOutputBytes },
      env: {},
      argv: [],
      execArgv: [],
      stdin: false,
      stdout: true,
      stderr: true,
      resourceLimits: { maxOldGenerationSizeMb: memoryMb, maxYoungGenerationSizeMb: Math.max(4, Math.floor(memoryMb / 4)), codeRangeSizeMb: 16, stackSizeMb: 4 },
    });
    // Drain captured output so a chatty checker cannot block on a full pipe.
    worker.stdout?.resume();
    worker.stderr?.resume();
    const finish = (v: CheckerVerdict) => {
      if (settled) return;
      settled = true;
      clearTimeout(hardStop);
      void worker.terminate();
      resolve(v);
    };
    // Hard stop: the vm timeout covers synchronous code; this covers everything else (and startup).
    const hardStop = setTimeout(() => finish(done('timeout', [`checker did not finish within ${timeoutMs} ms (worker terminated)`])), timeoutMs + 2000);
    worker.on('message', (m: { status: CheckerStatus; reasons: string[] }) => finish(done(m.status, m.reasons)));
    worker.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'ERR_WORKER_OUT_OF_MEMORY' || /out of memory|heap limit/i.test(err.message)) {
        finish(done('memory', [`checker exceeded its memory limit of ${memoryMb} MB`]));
      } else finish(done('error', [`checker worker failed: ${err.message}`]));
    });
    worker.on('exit', (code) => finish(done('error', [`checker worker exited (code ${code}) without a verdict`])));
  });
}
