// TensorFlow.js backend choice at start-up: the fastest one that loads, logged once.
//   1. @tensorflow/tfjs-node-gpu (CUDA 12; optional: `npm run setup:gpu`, scripts/install-tfjs-node.sh
//      --gpu). Tried only where an NVIDIA driver is visible; without a GPU it loads and TF runs on the
//      CPU, which the choice reports (`device`), so a run never claims a GPU it did not have.
//   2. @tensorflow/tfjs-node (native CPU; installed by setup: scripts/install-tfjs-node.sh)
//   3. @tensorflow/tfjs-backend-wasm (SIMD, single-threaded here)  4. the plain JS cpu backend.
// A backend can be forced (train.backend, `troupe train --backend`, TROUPE_TF_BACKEND); a forced
// backend that cannot load is an error, never a fallback. Everything else in the learner imports
// `tf` from here, so one module decides.
import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

// TF's C++ INFO lines (CPU instruction sets, oneDNN) on every start are noise; warnings stay.
process.env.TF_CPP_MIN_LOG_LEVEL ??= '1';

export { tf };
export const BACKEND_NAMES = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = typeof BACKEND_NAMES[number];

export interface BackendChoice {
  name: BackendName;
  /** True when the backend was asked for rather than picked. */
  forced: boolean;
  /** Why each earlier candidate was skipped (the reasons for a fallback). */
  skipped: string[];
  /** Where the kernels run: 'gpu' only when TensorFlow found a GPU device (tfjs-node-gpu). */
  device: 'gpu' | 'cpu';
}

/** Files an NVIDIA driver provides (also inside containers that are given a GPU). */
export const NVIDIA_DRIVER_FILES = ['/proc/driver/nvidia/version', '/dev/nvidiactl'];

/**
 * Why the automatic choice skips tensorflow-gpu here, or undefined when an NVIDIA driver is visible.
 * Without a driver tfjs-node-gpu would load its ~3 GB of CUDA libraries only to run on the CPU, and
 * once loaded it keeps tfjs-node out of the process.
 */
export function gpuUnavailable(exists: (path: string) => boolean = existsSync): string | undefined {
  return NVIDIA_DRIVER_FILES.some((f) => exists(f)) ? undefined : `no NVIDIA driver (none of ${NVIDIA_DRIVER_FILES.join(', ')})`;
}

/**
 * The device a loaded backend computes on. tfjs-node(-gpu)'s backend object says whether TensorFlow's
 * eager context listed a GPU (`isUsingGpuDevice`, set by the addon from TFE_ContextListDevices; it
 * falls back to the host CPU when there is none).
 */
export function deviceOf(name: BackendName, backend: { isUsingGpuDevice?: unknown } | undefined): 'gpu' | 'cpu' {
  return name === 'tensorflow-gpu' && backend?.isUsingGpuDevice === true ? 'gpu' : 'cpu';
}

const NATIVE_PKG: Record<'tensorflow-gpu' | 'tensorflow', string> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
};

/** Validates a backend name from a flag, config or env var (`where` names the source). */
export function parseBackendName(s: string, where: string): BackendName {
  if ((BACKEND_NAMES as readonly string[]).includes(s)) return s as BackendName;
  throw new Error(`${where}: unknown TensorFlow.js backend "${s}" (one of ${BACKEND_NAMES.join(', ')})`);
}

// What loaded, per backend name: so a process can switch (tests compare backends) without
// importing a package twice; a failed load is remembered with its reason.
const loaded = new Map<BackendName, Promise<void>>();
let nativeKind: keyof typeof NATIVE_PKG | undefined; // both native packages register the same 'tensorflow' backend

function firstLine(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  return m.split('\n').find((l) => l.trim())?.trim() ?? m;
}

function wasmDistDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + '/';
}

async function loadBackend(name: BackendName): Promise<void> {
  if (name === 'tensorflow-gpu' || name === 'tensorflow') {
    if (nativeKind && nativeKind !== name) throw new Error(`${NATIVE_PKG[nativeKind]} is already loaded in this process`);
    const pkg = NATIVE_PKG[name];
    try {
      // Dynamic specifier so tsc does not resolve the optional GPU package.
      const spec = pkg;
      await import(spec);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
        throw new Error(`${pkg} is not installed (${name === 'tensorflow' ? 'npm run setup' : 'npm run setup:gpu'} installs it)`);
      }
      throw new Error(`${pkg} failed to load (run scripts/install-tfjs-node.sh${name === 'tensorflow' ? '' : ' --gpu'}): ${firstLine(err)}`);
    }
    if (!tf.findBackend('tensorflow')) throw new Error(`${pkg} loaded but registered no "tensorflow" backend`);
    nativeKind = name;
  } else if (name === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths(wasmDistDir());
    // No threads: node worker_threads inside the wasm backend do not work here; we
    // parallelise over our own workers instead (nn/backend/pool.ts).
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  }
}

/** Loads `name` (once per process) and makes it the active backend; throws with the reason. */
export async function useBackend(name: BackendName): Promise<void> {
  let p = loaded.get(name);
  if (!p) { p = loadBackend(name); loaded.set(name, p); }
  await p;
  const tfName = name === 'tensorflow-gpu' ? 'tensorflow' : name;
  if (!(await tf.setBackend(tfName))) throw new Error(`tf.setBackend('${tfName}') failed (see the TensorFlow.js warning above)`);
  await tf.ready();
}

/** The backend the process is running on, as initBackend/useBackend last set it. */
export function activeBackend(): BackendName | undefined {
  const b = tf.getBackend();
  return b === 'tensorflow' ? nativeKind : b === 'wasm' || b === 'cpu' ? b : undefined;
}

async function choose(prefer: BackendName | undefined, why: string): Promise<BackendChoice> {
  const skipped: string[] = [];
  if (prefer) {
    try {
      await useBackend(prefer);
    } catch (err) {
      throw new Error(`TensorFlow.js backend "${prefer}" was asked for (${why}) but cannot start: ${firstLine(err)}`);
    }
    return done({ name: prefer, forced: true, skipped, device: deviceOf(prefer, tf.backend() as { isUsingGpuDevice?: unknown }) });
  }
  for (const name of BACKEND_NAMES) {
    const absent = name === 'tensorflow-gpu' ? gpuUnavailable() : undefined;
    if (absent) { skipped.push(`${name}: ${absent}`); continue; }
    try {
      await useBackend(name);
      return done({ name, forced: false, skipped, device: deviceOf(name, tf.backend() as { isUsingGpuDevice?: unknown }) });
    } catch (err) {
      skipped.push(`${name}: ${firstLine(err)}`);
    }
  }
  throw new Error(`no TensorFlow.js backend could start (${skipped.join('; ')})`);
}

function done(c: BackendChoice): BackendChoice {
  if (!process.env.TROUPE_QUIET_BACKEND) console.error(`[learner] ${describeBackend(c)}`);
  return c;
}

/** One line for logs and reports: the backend, its device, how it was chosen, and why others were skipped. */
export function describeBackend(c: BackendChoice): string {
  const simd = c.name === 'wasm' ? ` simd=${String(tf.env().getBool('WASM_HAS_SIMD_SUPPORT'))} threads=no` : '';
  return `tfjs backend: ${c.name}${simd} device=${describeDevice(c)}${c.forced ? ' (forced)' : ''}${c.skipped.length ? ` (skipped: ${c.skipped.join('; ')})` : ''}`;
}

/** `GPU`, `CPU`, or for tensorflow-gpu without a GPU the fallback spelled out (logs, run report). */
export function describeDevice(c: Pick<BackendChoice, 'name' | 'device'>): string {
  if (c.device === 'gpu') return 'GPU';
  return c.name === 'tensorflow-gpu' ? 'CPU (fallback: TensorFlow found no usable GPU; tfjs-node-gpu runs on the CPU)' : 'CPU';
}

let chosen: { prefer: BackendName | undefined; choice: Promise<BackendChoice> } | undefined;

/**
 * Initialises the backend once per process: `prefer` (train.backend, --backend) or else
 * `TROUPE_TF_BACKEND`, or the best that loads. A forced backend that cannot load throws. A later
 * call asking for another backend switches to it (tests compare backends in one process).
 */
export function initBackend(prefer?: BackendName): Promise<BackendChoice> {
  const env = process.env.TROUPE_TF_BACKEND;
  const want = prefer ?? (env ? parseBackendName(env, 'TROUPE_TF_BACKEND') : undefined);
  if (chosen && (want === undefined || want === chosen.prefer)) return chosen.choice;
  const why = prefer ? 'train.backend / --backend' : 'TROUPE_TF_BACKEND';
  const choice = choose(want, why);
  chosen = { prefer: want, choice };
  return choice;
}
