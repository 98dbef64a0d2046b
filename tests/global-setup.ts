// Removes the temporary runs folder that vitest.config.ts made for this test run.
import { rmSync } from 'node:fs';

export default function setup(): () => void {
  return () => {
    const dir = process.env.TROUPE_RUNS_DIR;
    if (dir && process.env.TROUPE_TEST_RUNS_DIR_OWNED === '1') rmSync(dir, { recursive: true, force: true });
  };
}
