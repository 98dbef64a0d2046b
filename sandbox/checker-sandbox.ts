// The checker sandbox: run an untrusted per-task checker — JavaScript source defining
// `check(initialState, finalState, trajectory)` → `{ pass, reasons }` — in isolation.
//
// Layers (see docs/synthesis.md, "The checker sandbox", for why and the known limits):
//  1. The engine is QuickJS compiled to WebAssembly (quickjs-emscripten, quickjs-engine.mjs): the
//     checker's realm holds no object of Node or V8, only QuickJS builtins, a fresh wasm instance
//     per run. Its runtime has a memory limit (ArrayBuffers included), a stack limit and an interrupt
//     handler on a CPU deadline. eval/Function, Proxy, timers, WeakRef/FinalizationRegistry and every
//     Node/browser global are traps: touching one ends the run `forbidden`.
//  2. The engine runs in a worker thread (checker-worker.mjs) that the parent terminate()s on a
//     wall-clock deadline: the fence for a builtin that loops inside wasm without polling the
//     interrupt handler. Workers are reused between runs (each run still gets a fresh wasm instance)
//     and replaced after any failure.
//  3. Only data crosses: the input goes in as one JSON string parsed and deep-frozen by the VM; the
//     verdict comes out as primitives read field by field through the engine API (no user getter,
//     toJSON or JSON override is ever consulted), serialised by the worker, size-capped, and
//     validated here with a zod schema. Anything else is a non-pass status, never `fail`.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { z } from 'zod';

export interface CheckerInput {
  initialState: unknown;
  finalState: unknown;
  trajectory: unknown;
}

export interface SandboxLimits {
  /** CPU/wall time the checker may take (default 1000 ms). */
  timeoutMs?: number;
  /** Memory the checker may allocate on top of its inputs, ArrayBuffers included (default 64 MB). */
  memoryMb?: number;
  /** Largest verdict JSON accepted (default 64 kB). */
  maxOutputBytes?: number;
}

/**
 * `pass`/`fail`: the checker ran and answered. Everything else is a failure to run, never a pass:
 * `error` (it threw, or its answer had the wrong shape or size), `timeout`, `memory` (memory limit
 * hit), `forbidden` (it reached for code generation, a module, or a global the sandbox traps),
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
/** Bounds on the verdict: more reasons, or a longer one, is an `error`, not a truncated answer. */
export const MAX_REASONS = 100;
export const MAX_REASON_CHARS = 4000;
// QuickJS's own stack limit: below the worker's native stack (stackSizeMb) so deep recursion is a
// catchable QuickJS error rather than a wasm trap; ~1400 frames of plain recursion.
const STACK_BYTES = 256 * 1024;
// Slack between the engine's deadline and the parent's terminate(), counted from the moment checker
// code starts; before that (worker start-up, parsing the input) a separate, generous limit applies.
const HARD_STOP_GRACE_MS = 1000;
const SETUP_LIMIT_MS = 30_000;
// At most this many checkers run at once (more would only share the same cores); the rest wait their
// turn, and their deadlines start when they run. Bounds the memory a flood of checkers can take.
const MAX_WORKERS = Math.max(2, availableParallelism());

const FaultStatus = z.enum(['error', 'timeout', 'memory', 'forbidden', 'invalid']);
const WorkerReply = z.union([
  z.object({ id: z.number(), outcome: z.object({ kind: z.literal('verdict'), json: z.string() }).strict() }).strict(),
  z.object({ id: z.number(), outcome: z.object({ kind: z.literal('fault'), status: FaultStatus, reason: z.string().max(2000) }).strict() }).strict(),
  z.object({ id: z.number(), crash: z.string().max(1000) }).strict(),
  z.object({ id: z.number(), started: z.literal(true) }).strict(),
]);
const Verdict = z.object({ pass: z.boolean(), reasons: z.array(z.string().max(MAX_REASON_CHARS)).max(MAX_REASONS) }).strict();

const WORKER_URL = new URL('./checker-worker.mjs', import.meta.url);
const idle: Worker[] = [];
let busy = 0;
const waiting: Array<() => void> = [];
let nextId = 0;

/** A worker for one run: an idle one, a new one while under MAX_WORKERS, or the next one freed. */
async function acquireWorker(): Promise<Worker> {
  while (busy >= MAX_WORKERS) await new Promise<void>((wake) => waiting.push(wake));
  busy++;
  return idle.pop() ?? spawnWorker();
}

function releaseWorker(w: Worker, reusable: boolean): void {
  busy--;
  if (reusable) {
    w.unref();
    idle.push(w);
  } else void w.terminate();
  waiting.shift()?.();
}

function spawnWorker(): Worker {
  const w = new Worker(WORKER_URL, {
    env: {},
    argv: [],
    execArgv: [],
    // Not piped: a piped stream keeps an idle (unref'd) worker holding the process open. The checker
    // has no console; only an engine abort message could reach the parent's stderr.
    stdin: false,
    // The worker's own V8 heap holds only the engine glue; checker memory lives in wasm memory and is
    // bounded by the QuickJS limit. stackSizeMb sizes the native stack that wasm frames use.
    resourceLimits: { maxOldGenerationSizeMb: 96, maxYoungGenerationSizeMb: 16, codeRangeSizeMb: 32, stackSizeMb: 8 },
  });
  w.on('exit', () => {
    const i = idle.indexOf(w);
    if (i >= 0) idle.splice(i, 1);
  });
  // Errors are handled per run; this keeps an idle worker's failure from becoming an uncaught event.
  w.on('error', () => {});
  return w;
}

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
    // Plain data only: whatever the caller passes is copied as JSON, never shared.
    inputJson = JSON.stringify({ initialState: input.initialState ?? null, finalState: input.finalState ?? null, trajectory: input.trajectory ?? null });
  } catch (e) {
    return done('error', [`checker input is not JSON-serialisable: ${(e as Error).message}`]);
  }
  if (typeof source !== 'string') return done('invalid', ['checker source is not a string']);
  const job = {
    source,
    inputJson,
    timeoutMs,
    memoryBytes: memoryMb * 2 ** 20,
    stackBytes: STACK_BYTES,
    maxReasons: MAX_REASONS,
    maxReasonChars: MAX_REASON_CHARS,
    maxOutputBytes,
  };
  const worker = await acquireWorker();
  worker.ref();
  const id = ++nextId;
  return new Promise<CheckerVerdict>((resolve) => {
    let settled = false;
    const finish = (v: CheckerVerdict, reusable: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
      releaseWorker(worker, reusable);
      resolve(v);
    };
    const onMessage = (raw: unknown) => {
      const reply = WorkerReply.safeParse(raw);
      if (!reply.success) return finish(done('error', ['checker worker answered out of protocol']), false);
      const m = reply.data;
      if (m.id !== id) return finish(done('error', ['checker worker answered another run']), false);
      if ('started' in m) {
        clearTimeout(timer);
        timer = setTimeout(hardStop, timeoutMs + HARD_STOP_GRACE_MS);
        return;
      }
      if ('crash' in m) return finish(done('error', [`checker engine failed: ${m.crash}`]), true);
      if (m.outcome.kind === 'fault') return finish(done(m.outcome.status, [m.outcome.reason]), true);
      if (Buffer.byteLength(m.outcome.json) > maxOutputBytes) return finish(done('error', [`checker verdict is larger than ${maxOutputBytes} bytes`]), true);
      let parsed: unknown;
      try {
        parsed = JSON.parse(m.outcome.json);
      } catch {
        return finish(done('error', ['checker verdict is not JSON']), true);
      }
      const v = Verdict.safeParse(parsed);
      if (!v.success) return finish(done('error', [`checker verdict has the wrong shape: ${v.error.issues[0]?.message ?? 'invalid'}`]), true);
      finish(done(v.data.pass ? 'pass' : 'fail', v.data.reasons), true);
    };
    const onError = (err: Error & { code?: string }) => {
      if (err.code === 'ERR_WORKER_OUT_OF_MEMORY') finish(done('memory', [`checker worker exceeded its memory limit`]), false);
      else finish(done('error', [`checker worker failed: ${err.message}`]), false);
    };
    const onExit = (code: number) => finish(done('error', [`checker worker exited (code ${code}) without a verdict`]), false);
    // Hard stop: the engine's interrupt handler covers interpreted code; this covers everything else.
    const hardStop = () => finish(done('timeout', [`checker did not finish within ${timeoutMs} ms (worker terminated)`]), false);
    let timer = setTimeout(
      () => finish(done('error', [`checker sandbox did not start within ${SETUP_LIMIT_MS} ms (worker terminated)`]), false),
      SETUP_LIMIT_MS,
    );
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
    worker.postMessage({ id, job });
  });
}
