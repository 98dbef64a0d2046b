// Worker entry for the checker sandbox: hosts the QuickJS engine so the parent can terminate() it —
// the hard wall-clock fence for anything the engine's own interrupt handler cannot stop (a native
// builtin looping inside wasm without polling, e.g. `new Array(2**32-1).includes(1)`).
// Protocol: parent posts {id, job}; the worker answers {id, started: true} when checker code is about
// to run (the input is parsed), then {id, outcome} or {id, crash}.
import { parentPort } from 'node:worker_threads';
import { loadEngine } from './quickjs-engine.mjs';

const engine = loadEngine();
parentPort.on('message', async ({ id, job }) => {
  try {
    parentPort.postMessage({ id, outcome: await engine.run(job, () => parentPort.postMessage({ id, started: true })) });
  } catch (e) {
    // A wasm trap or engine fault (e.g. the native stack overflowed): the instance is discarded anyway.
    parentPort.postMessage({ id, crash: String(e && e.message || e).slice(0, 300) });
  }
});
