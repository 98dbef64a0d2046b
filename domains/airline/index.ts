/** τ²'s `airline` domain: flights, users and reservations; agent tools only (no user side). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tau2DomainDir } from '../core/data-dir.ts';
import { Db } from '../core/db.ts';
import type { DomainSpec } from '../core/domain.ts';
import { Environment } from '../core/environment.ts';
import { deepCopy } from '../pycompat/pyjson.ts';
import { Toolkit } from '../core/tool.ts';
import { loadDomainTasks, loadSplits } from '../tasks/load.ts';
import { FlightDB, type FlightDbData } from './models.ts';
import { airlineToolkit } from './tools.ts';

let cached: FlightDbData | undefined;

/** The validated `db.json`, loaded once per process; callers must copy before mutating. */
export function airlineBaseDb(): FlightDbData {
  cached ??= Db.load<FlightDbData>(FlightDB, join(tau2DomainDir('airline'), 'db.json')).data;
  return cached;
}

export const airlineDomain: DomainSpec = {
  name: 'airline',
  policy: () => readFileSync(join(tau2DomainDir('airline'), 'policy.md'), 'utf8'),
  createEnvironment(opts = {}) {
    return new Environment({
      domainName: 'airline',
      policy: airlineDomain.policy(opts),
      tools: new Toolkit(airlineToolkit, new Db(FlightDB, deepCopy(airlineBaseDb()))),
      soloMode: opts.solo,
    });
  },
  loadTasks: (opts) => loadDomainTasks(tau2DomainDir('airline'), opts),
  splits: () => loadSplits(tau2DomainDir('airline')),
};
