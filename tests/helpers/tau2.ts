// τ²-bench data for tests: from TAU2_DATA_DIR, as everywhere else. `.ci/run` sets it to
// ../shared/tau2/data; a developer exports it once (README).
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tau2DataDir } from '../../domains/core/data-dir.ts';

/** The τ² data folder (holds tau2/domains); throws a clear error when TAU2_DATA_DIR is unset. */
export const TAU2_DATA = tau2DataDir();

/**
 * The legacy v0.2.0 task files' data folder: TAU2_LEGACY_DATA_DIR, else the `legacy-v0.2.0/data`
 * folder beside TAU2_DATA_DIR's parent (the layout of the shared copy).
 */
export const TAU2_LEGACY_DATA = resolve(process.env.TAU2_LEGACY_DATA_DIR ?? join(TAU2_DATA, '..', 'legacy-v0.2.0', 'data'));

export const hasLegacyData = existsSync(join(TAU2_LEGACY_DATA, 'tau2', 'domains'));
