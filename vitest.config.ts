import { defineConfig } from 'vitest/config';

// One process per test file: node-llama-cpp, the wasm TF backend and child nats-servers all hold
// native resources that are simplest to reason about per process. Two cores, so two files at a time.
export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
