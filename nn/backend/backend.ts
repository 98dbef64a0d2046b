// TensorFlow.js backend choice at start-up: the fastest one that loads, logged once.
//   1. @tensorflow/tfjs-node-gpu (CUDA)  2. @tensorflow/tfjs-node (native CPU)
//   3. @tensorflow/tfjs-backend-wasm (SIMD, single-threaded here)  4. the plain JS cpu backend.
// The native packages are optional dependencies and usually absent, so their imports must fail
// quietly. Everything else in the learner imports `tf` from here, so one module decides.
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export { tf };
export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';

export interface BackendChoice {
  name: BackendName;
  /** Why the earlier candidates were skipped. */
  skipped: string[];
}

let chosen: Promise<BackendChoice> | undefined;

async function tryNative(pkg: string): Promise<boolean> {
  try {
    // Dynamic specifier so bundlers and tsc do not require the optional package.
    const spec = pkg;
    await import(spec);
    return tf.getBackend() === 'tensorflow' || tf.findBackend('tensorflow') !== null;
  } catch {
    return false;
  }
}

function wasmDistDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + '/';
}

async function choose(prefer?: BackendName, log = true): Promise<BackendChoice> {
  const skipped: string[] = [];
  const order: BackendName[] = prefer ? [prefer] : ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];
  for (const name of order) {
    if (name === 'tensorflow-gpu' || name === 'tensorflow') {
      const pkg = name === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
      if (await tryNative(pkg)) {
        await tf.setBackend('tensorflow');
        await tf.ready();
        return done({ name, skipped });
      }
      skipped.push(`${pkg}: not installed or failed to load`);
    } else if (name === 'wasm') {
      try {
        const wasm = await import('@tensorflow/tfjs-backend-wasm');
        wasm.setWasmPaths(wasmDistDir());
        // No threads: node worker_threads inside the wasm backend do not work here; we
        // parallelise over our own workers instead (nn/backend/pool.ts).
        tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
        if (await tf.setBackend('wasm')) {
          await tf.ready();
          return done({ name, skipped });
        }
        skipped.push('wasm: setBackend returned false');
      } catch (err) {
        skipped.push(`wasm: ${(err as Error).message}`);
      }
    } else {
      await tf.setBackend('cpu');
      await tf.ready();
      return done({ name: 'cpu', skipped });
    }
  }
  throw new Error(`no TensorFlow.js backend could start (${skipped.join('; ')})`);

  function done(c: BackendChoice): BackendChoice {
    if (log && !process.env.TROUPE_QUIET_BACKEND) {
      const simd = c.name === 'wasm' ? ` simd=${String(tf.env().getBool('WASM_HAS_SIMD_SUPPORT'))} threads=no` : '';
      console.error(`[learner] tfjs backend: ${c.name}${simd}${c.skipped.length ? ` (skipped: ${c.skipped.join('; ')})` : ''}`);
    }
    return c;
  }
}

/**
 * Initialises the best available backend once per process (or `prefer`, e.g. 'cpu' for exact
 * float checks or `TROUPE_TF_BACKEND`). Later calls return the first choice.
 */
export function initBackend(prefer?: BackendName): Promise<BackendChoice> {
  const env = process.env.TROUPE_TF_BACKEND as BackendName | undefined;
  chosen ??= choose(prefer ?? env);
  return chosen;
}
