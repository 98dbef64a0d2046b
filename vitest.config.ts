import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

// Run directories made by tests (embedded nats-server stores, span files, eval results) go to a
// temporary folder, not the user's ~/.troupe/runs; tests/global-setup.ts removes it afterwards.
if (!process.env.TROUPE_RUNS_DIR) {
  process.env.TROUPE_RUNS_DIR = mkdtempSync(join(tmpdir(), 'troupe-test-runs-'));
  process.env.TROUPE_TEST_RUNS_DIR_OWNED = '1';
}

// One process per test file: node-llama-cpp, the wasm TF backend and child nats-servers all hold
// native resources that are simplest to reason about per process. Two cores, so two files at a time.
export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    globalSetup: ['tests/global-setup.ts'],
    env: { TROUPE_RUNS_DIR: process.env.TROUPE_RUNS_DIR },
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
