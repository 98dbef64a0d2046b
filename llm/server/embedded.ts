// The embedded default: roles whose model is "local" share one model server in this process,
// started on first use (and closed on exit). `TROUPE_LOCAL_MODEL` picks the GGUF (path or cached name).
// A process of a society (`troupe up`'s workers) is handed the society's one server instead, through
// TROUPE_LOCAL_MODEL_URL (+ TROUPE_LOCAL_MODEL_ID): one model in memory for the whole society, not
// one per worker process.
import { startModelServer, type RunningModelServer } from './server.ts';

let shared: Promise<RunningModelServer> | undefined;

export interface LocalEndpoint {
  baseURL: string;
  model: string;
}

/** The environment that points another process at this process's local model server. */
export function localModelEnv(ep: LocalEndpoint): Record<string, string> {
  return { TROUPE_LOCAL_MODEL_URL: ep.baseURL, TROUPE_LOCAL_MODEL_ID: ep.model };
}

export async function ensureLocalModelServer(): Promise<LocalEndpoint> {
  const given = process.env.TROUPE_LOCAL_MODEL_URL;
  if (given) return { baseURL: given, model: process.env.TROUPE_LOCAL_MODEL_ID || 'local' };
  shared ??= startModelServer({
    model: process.env.TROUPE_LOCAL_MODEL,
    port: 0,
    host: '127.0.0.1',
    unref: true,
    log: process.env.TROUPE_DEBUG ? (l) => console.error(`[model-server] ${l}`) : undefined,
  });
  try {
    const s = await shared;
    return { baseURL: s.baseURL, model: s.modelId };
  } catch (err) {
    shared = undefined;
    throw err;
  }
}

/** Stop the embedded server if it was started (tests, orderly shutdown). */
export async function stopLocalModelServer(): Promise<void> {
  const s = shared;
  shared = undefined;
  if (s) await (await s).close();
}
