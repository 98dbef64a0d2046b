/** τ²'s `retail` domain: products, users and orders; agent tools only (no user side). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tau2DomainDir } from '../core/data-dir.ts';
import { Db } from '../core/db.ts';
import type { DomainSpec } from '../core/domain.ts';
import { Environment } from '../core/environment.ts';
import { deepCopy } from '../pycompat/pyjson.ts';
import { Toolkit } from '../core/tool.ts';
import { loadDomainTasks, loadSplits } from '../tasks/load.ts';
import { RetailDB, type RetailDbData } from './models.ts';
import { retailToolkit } from './tools.ts';

let cached: RetailDbData | undefined;

/** The validated `db.json`, loaded once per process; callers must copy before mutating. */
export function retailBaseDb(): RetailDbData {
  cached ??= Db.load<RetailDbData>(RetailDB, join(tau2DomainDir('retail'), 'db.json')).data;
  return cached;
}

export const retailDomain: DomainSpec = {
  name: 'retail',
  policy: () => readFileSync(join(tau2DomainDir('retail'), 'policy.md'), 'utf8'),
  createEnvironment(opts = {}) {
    return new Environment({
      domainName: 'retail',
      policy: retailDomain.policy(opts),
      tools: new Toolkit(retailToolkit, new Db(RetailDB, deepCopy(retailBaseDb()))),
      soloMode: opts.solo,
    });
  },
  loadTasks: (opts) => loadDomainTasks(tau2DomainDir('retail'), opts),
  splits: () => loadSplits(tau2DomainDir('retail')),
};
