// Where Troupe keeps its files. One place, so every command agrees.
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** Root of Troupe's own state: model cache, run directories. `TROUPE_HOME`, else `~/.troupe`. */
export function troupeHome(): string {
  return resolve(process.env.TROUPE_HOME ?? join(homedir(), '.troupe'));
}

/** Directory of cached model files (GGUF). */
export function modelsDir(): string {
  return join(troupeHome(), 'models');
}

/** Directory under which each run gets its own folder (embedded nats-server store, spans, reports). */
export function runsDir(): string {
  return resolve(process.env.TROUPE_RUNS_DIR ?? join(troupeHome(), 'runs'));
}

export { Tau2DataMissingError, tau2DataDir, tau2DomainDir } from '../../domains/core/data-dir.ts';
