// Unit: our unified line diff.
import { describe, expect, it } from 'vitest';
import { unifiedDiff } from '../../runtime/instructions/diff.ts';

/** Apply a unified diff produced by unifiedDiff to `from` (enough of `patch` to check round trips). */
function applyDiff(from: string, diff: string): string {
  const a = from === '' ? [] : from.replace(/\n$/, '').split('\n');
  const out: string[] = [];
  let pos = 0;
  for (const line of diff.split('\n').slice(2)) {
    const h = /^@@ -(\d+)(?:,(\d+))? /.exec(line);
    if (h) {
      const start = Number(h[2] ?? 1) === 0 ? Number(h[1]) : Number(h[1]) - 1;
      while (pos < start) out.push(a[pos++]);
    } else if (line.startsWith(' ')) {
      expect(a[pos]).toBe(line.slice(1));
      out.push(a[pos++]);
    } else if (line.startsWith('-')) {
      expect(a[pos++]).toBe(line.slice(1));
    } else if (line.startsWith('+')) out.push(line.slice(1));
  }
  while (pos < a.length) out.push(a[pos++]);
  return out.length ? out.join('\n') + '\n' : '';
}

describe('unifiedDiff', () => {
  it('is empty for equal texts', () => {
    expect(unifiedDiff('a\nb\n', 'a\nb\n')).toBe('');
  });

  it('writes one hunk with three lines of context', () => {
    const from = ['1', '2', '3', '4', '5', '6', '7', '8', '9'].join('\n') + '\n';
    const to = ['1', '2', '3', '4', 'five', '6', '7', '8', '9'].join('\n') + '\n';
    expect(unifiedDiff(from, to, { fromLabel: 'critic@3', toLabel: 'critic@5' })).toBe(
      ['--- critic@3', '+++ critic@5', '@@ -2,7 +2,7 @@', ' 2', ' 3', ' 4', '-5', '+five', ' 6', ' 7', ' 8', ''].join('\n'),
    );
  });

  it('splits distant changes into separate hunks and handles empty sides', () => {
    const lines = Array.from({ length: 30 }, (_, i) => `line ${i}`);
    const changed = [...lines];
    changed[2] = 'early';
    changed.splice(25, 1);
    const d = unifiedDiff(lines.join('\n'), changed.join('\n'));
    expect(d.match(/^@@/gm)).toHaveLength(2);
    expect(unifiedDiff('', 'x\ny\n')).toContain('@@ -0,0 +1,2 @@');
    expect(unifiedDiff('x\n', '')).toContain('@@ -1 +0,0 @@');
  });

  it('round-trips through a patch for varied edits', () => {
    const cases: Array<[string, string]> = [
      ['a\nb\nc\n', 'b\nc\nd\n'],
      ['be strict\n', 'be strict\nbut fair\n'],
      [Array.from({ length: 20 }, (_, i) => `r${i}`).join('\n') + '\n', Array.from({ length: 20 }, (_, i) => (i % 7 === 3 ? `x${i}` : `r${i}`)).join('\n') + '\n'],
      ['', 'new\n'],
      ['gone\nalso\n', ''],
    ];
    for (const [from, to] of cases) expect(applyDiff(from, unifiedDiff(from, to))).toBe(to);
  });
});
