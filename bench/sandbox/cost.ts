// Sandbox benchmark: cost per checker run of the QuickJS/wasm engine (sandbox/, a pooled
// worker, a fresh wasm instance per run) against the engine it replaced (a fresh worker thread + node:vm
// context per run; its code is kept below, verbatim from commit c8c2046, for this comparison only).
// Workloads: an honest checker on a tiny state, and one on two copies of the retail domain DB (what
// the verifier passes when judging a retail dialogue). Sequential runs (p50/p90/mean after one cold
// run), then 8 concurrent runs (a verifier validating one checker on 8 cases).
// Run: `TAU2_DATA_DIR=... npx tsx bench/sandbox/cost.ts [--runs 20]`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { runChecker, type CheckerInput, type SandboxLimits } from '../../sandbox/checker-sandbox.ts';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '20' } } });
const RUNS = Number(values.runs);

// ---- the old engine (worker_threads + node:vm), for comparison only: it is escapable (issue 14) ----
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

async function runCheckerOld(source: string, input: CheckerInput, limits: SandboxLimits = {}): Promise<{ status: string; pass: boolean; reasons: string[]; durationMs: number }> {
  const { timeoutMs, memoryMb, maxOutputBytes } = { timeoutMs: 1000, memoryMb: 64, maxOutputBytes: 65_536, ...limits };
  const started = performance.now();
  const done = (status: string, reasons: string[]) => ({
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
  return new Promise<{ status: string; pass: boolean; reasons: string[]; durationMs: number }>((resolve) => {
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
    const finish = (v: Awaited<ReturnType<typeof runCheckerOld>>) => {
      if (settled) return;
      settled = true;
      clearTimeout(hardStop);
      void worker.terminate();
      resolve(v);
    };
    // Hard stop: the vm timeout covers synchronous code; this covers everything else (and startup).
    const hardStop = setTimeout(() => finish(done('timeout', [`checker did not finish within ${timeoutMs} ms (worker terminated)`])), timeoutMs + 2000);
    worker.on('message', (m: { status: string; reasons: string[] }) => finish(done(m.status, m.reasons)));
    worker.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'ERR_WORKER_OUT_OF_MEMORY' || /out of memory|heap limit/i.test(err.message)) {
        finish(done('memory', [`checker exceeded its memory limit of ${memoryMb} MB`]));
      } else finish(done('error', [`checker worker failed: ${err.message}`]));
    });
    worker.on('exit', (code) => finish(done('error', [`checker worker exited (code ${code}) without a verdict`])));
  });
}

// ---- end of the old engine ----

const tiny: CheckerInput = {
  initialState: { agent: { tasks: { t1: { status: 'pending' } } } },
  finalState: { agent: { tasks: { t1: { status: 'completed' } } } },
  trajectory: [{ role: 'user', content: 'hi' }],
};
const TINY_CHECKER = `function check(initialState, finalState) { const ok = finalState.agent.tasks.t1.status === 'completed'; return { pass: ok, reasons: ok ? [] : ['t1 not completed'] }; }`;
const dataDir = process.env.TAU2_DATA_DIR;
if (!dataDir) throw new Error('set TAU2_DATA_DIR to the tau2-bench data folder (the retail DB is one workload)');
const retailDb = JSON.parse(readFileSync(join(dataDir, 'tau2/domains/retail/db.json'), 'utf8'));
const retail: CheckerInput = { initialState: { agent: retailDb, user: {} }, finalState: { agent: retailDb, user: {} }, trajectory: [] };
// Walks both states the way a compiled diff checker does (every order, one path compared).
const RETAIL_CHECKER = `function check(a, b) { const reasons = []; let n = 0;
  for (const id of Object.keys(b.agent.orders)) { n++; if (b.agent.orders[id].status !== a.agent.orders[id].status) reasons.push(id + ' status changed'); }
  return { pass: n > 0 && reasons.length === 0, reasons }; }`;

type Run = (source: string, input: CheckerInput, limits?: SandboxLimits) => Promise<{ status: string }>;
const quantile = (xs: number[], q: number) => [...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor(q * xs.length))];

async function measure(name: string, run: Run, source: string, input: CheckerInput) {
  const t0 = performance.now();
  const first = await run(source, input);
  const cold = performance.now() - t0;
  if (first.status !== 'pass') throw new Error(`${name}: expected pass, got ${first.status}`);
  const ms: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    await run(source, input);
    ms.push(performance.now() - t);
  }
  const t1 = performance.now();
  await Promise.all(Array.from({ length: 8 }, () => run(source, input)));
  const batch = performance.now() - t1;
  const mean = ms.reduce((s, x) => s + x, 0) / ms.length;
  const f = (x: number) => x.toFixed(1);
  console.log(`| ${name} | ${f(cold)} | ${f(quantile(ms, 0.5))} | ${f(quantile(ms, 0.9))} | ${f(mean)} | ${f(batch)} |`);
}

console.log(`runs=${RUNS}, node ${process.version}, load average ${(await import('node:os')).loadavg().map((x) => x.toFixed(2)).join(' ')}`);
console.log('| engine / workload | cold ms | p50 ms | p90 ms | mean ms | 8 concurrent, wall ms |');
console.log('|---|---|---|---|---|---|');
await measure('old vm+worker / tiny', runCheckerOld, TINY_CHECKER, tiny);
await measure('QuickJS wasm / tiny', runChecker, TINY_CHECKER, tiny);
await measure('old vm+worker / retail DB x2', runCheckerOld, RETAIL_CHECKER, retail);
await measure('QuickJS wasm / retail DB x2', runChecker, RETAIL_CHECKER, retail);
