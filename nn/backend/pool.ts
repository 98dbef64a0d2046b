// A pool of worker_threads, each with its own TF.js backend (the wasm backend is single-threaded
// here, so parallelism comes from several backends). The pool only moves messages; what a worker
// computes is up to the module it runs. Requests carry an id; each worker handles one at a time.
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

/** An ESM bootstrap (data: URL) that registers tsx in the worker, then imports the .ts module. */
function tsBootstrap(moduleUrl: URL): URL {
  const tsxApi = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  const code = `import { register } from ${JSON.stringify(tsxApi)}; register(); await import(${JSON.stringify(moduleUrl.href)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(code)}`);
}

interface Pending { resolve: (v: unknown) => void; reject: (e: Error) => void }

export class WorkerPool {
  private workers: Worker[] = [];
  private pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;

  /** Starts `size` workers running `moduleUrl` (a .ts module: loaded through tsx). */
  constructor(moduleUrl: URL, readonly size: number, workerData: unknown) {
    for (let i = 0; i < size; i++) {
      const w = new Worker(tsBootstrap(moduleUrl), { workerData: { index: i, ...(workerData as object) } });
      w.on('message', (msg: { id: number; ok: boolean; value?: unknown; error?: string }) => {
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        if (msg.ok) p.resolve(msg.value);
        else p.reject(new Error(`worker ${i}: ${msg.error}`));
      });
      w.on('error', (err) => this.failAll(new Error(`worker ${i} crashed: ${err.message}`)));
      w.on('exit', (code) => { if (!this.closed && code !== 0) this.failAll(new Error(`worker ${i} exited with code ${code}`)); });
      this.workers.push(w);
    }
  }

  private failAll(err: Error) {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  /** Sends one request to worker `i`; `transfer` lists buffers to move rather than copy. */
  call<T>(i: number, request: object, transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.closed) return Promise.reject(new Error('worker pool is closed'));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.workers[i].postMessage({ id, ...request }, transfer);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** Worker side: answers requests with `handle`, reporting errors back instead of crashing. */
export function serveRequests(port: import('node:worker_threads').MessagePort, handle: (req: Record<string, unknown>) => Promise<{ value: unknown; transfer?: ArrayBuffer[] }>): void {
  port.on('message', async (msg: Record<string, unknown> & { id: number }) => {
    try {
      const { value, transfer } = await handle(msg);
      port.postMessage({ id: msg.id, ok: true, value }, transfer ?? []);
    } catch (err) {
      port.postMessage({ id: msg.id, ok: false, error: err instanceof Error ? err.stack ?? err.message : String(err) });
    }
  });
}
