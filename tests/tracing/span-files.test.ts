import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { newestRunDir, readSpanFiles, spanFilesOfRun } from '../../runtime/tracing/span-files.ts';

const root = mkdtempSync(join(tmpdir(), 'troupe-runs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const line = (traceId: string, spanId: string) =>
  JSON.stringify({ traceId, spanId, name: `s${spanId}`, kind: 'internal', startMs: 1, endMs: 2, durationMs: 1, status: { code: 'unset' }, attributes: {}, resource: { service: 'x' } });

describe('span files of a run', () => {
  it('picks the newest run that has spans, and lists its .jsonl files', () => {
    for (const [name, age, spans] of [['old', 100, true], ['new', 10, true], ['newest-no-spans', 1, false]] as const) {
      const dir = join(root, name);
      mkdirSync(spans ? join(dir, 'spans') : dir, { recursive: true });
      const t = Date.now() / 1000 - age;
      if (spans) utimesSync(join(dir, 'spans'), t, t);
      utimesSync(dir, t, t);
    }
    expect(newestRunDir(root)).toBe(join(root, 'new'));
    expect(newestRunDir(join(root, 'missing'))).toBeUndefined();
    writeFileSync(join(root, 'new', 'spans', 'b-2.jsonl'), '');
    writeFileSync(join(root, 'new', 'spans', 'a-1.jsonl'), '');
    writeFileSync(join(root, 'new', 'spans', 'notes.txt'), '');
    expect(spanFilesOfRun(join(root, 'new')).map((f) => f.split('/').pop())).toEqual(['a-1.jsonl', 'b-2.jsonl']);
    expect(() => spanFilesOfRun(join(root, 'newest-no-spans'))).toThrow(/no spans\/ folder/);
  });

  it('reads files line by line, filters by trace id prefix, reports bad lines with their number', async () => {
    const f = join(root, 'new', 'spans', 'a-1.jsonl');
    writeFileSync(f, [line('aa11', '1'), line('bb22', '2'), '{broken', line('aa11', '3')].join('\n') + '\n');
    const all = await readSpanFiles([f]);
    expect(all.spans.map((s) => s.spanId)).toEqual(['1', '2', '3']);
    expect(all.errors).toHaveLength(1);
    expect(all.errors[0]).toMatch(/a-1\.jsonl:3: /);
    const some = await readSpanFiles([f], { traceIdPrefix: 'AA' });
    expect(some.spans.map((s) => s.spanId)).toEqual(['1', '3']);
  });
});
