// Where the τ²-bench data lives. Troupe never ships a copy: it reads the folder named by TAU2_DATA_DIR.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export class Tau2DataMissingError extends Error {
  constructor(detail: string) {
    super(
      `τ²-bench data not found: ${detail}. Set TAU2_DATA_DIR to the "data" folder of a tau2-bench ` +
        `checkout (the folder that holds tau2/domains/), e.g. ` +
        `"git clone https://github.com/sierra-research/tau2-bench && export TAU2_DATA_DIR=$PWD/tau2-bench/data".`,
    );
    this.name = 'Tau2DataMissingError';
  }
}

/**
 * The τ²-bench data directory (the folder holding `tau2/domains/<domain>/`), from `TAU2_DATA_DIR`.
 * Troupe never ships a copy of the data.
 */
export function tau2DataDir(): string {
  const dir = process.env.TAU2_DATA_DIR;
  if (!dir) throw new Tau2DataMissingError('TAU2_DATA_DIR is not set');
  const abs = resolve(dir);
  if (!existsSync(join(abs, 'tau2', 'domains'))) {
    throw new Tau2DataMissingError(`${abs} has no tau2/domains folder`);
  }
  return abs;
}

/** Folder of one τ² domain's data files, e.g. `<TAU2_DATA_DIR>/tau2/domains/airline`. */
export function tau2DomainDir(domain: string): string {
  return join(tau2DataDir(), 'tau2', 'domains', domain);
}
