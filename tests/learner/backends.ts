// The backends the learner's numerical tests run on: the native CPU backend (the default; required —
// if its addon is missing the tests fail with the reason, they never skip) and wasm (the fallback).
import { beforeAll, describe } from 'vitest';
import { useBackend, type BackendName } from '../../nn/backend/backend.ts';

export const TEST_BACKENDS: BackendName[] = ['tensorflow', 'wasm'];

/** `describe` once per test backend, each block switched to its backend before its tests. */
export function describeOnBackends(title: string, body: (backend: BackendName) => void): void {
  describe.each(TEST_BACKENDS)(`${title} [%s]`, (backend) => {
    beforeAll(async () => { await useBackend(backend); });
    body(backend);
  });
}
