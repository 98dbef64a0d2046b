// Spans still buffered when a process calls process.exit() reach the span file.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

it('writes buffered spans from the exit hook', () => {
  const dir = mkdtempSync(join(tmpdir(), 'troupe-exit-'));
  try {
    const file = join(dir, 'spans.jsonl');
    const fixture = fileURLToPath(new URL('./fixtures/exit-early.ts', import.meta.url));
    const r = spawnSync(process.execPath, ['--import', 'tsx', fixture, file], { encoding: 'utf8', cwd: fileURLToPath(new URL('../..', import.meta.url)) });
    expect(r.status, r.stderr).toBe(3);
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ name: 'last words', attributes: { password: '[REDACTED]' }, resource: { service: 'exit-early', pid: r.pid } });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
