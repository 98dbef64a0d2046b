// Docs name files and folders of the tree; after a move each of those names must still be true.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const ROOMS = 'protocols|domains|sandbox|runtime|llm|nn|actors|cli|bin|tests|bench|scripts|deploy|docs';
/** Git-ignored outputs that docs name (run results, the GPU bench's build). */
const IGNORED = ['bench/results', 'bench/gpu/dist', 'bench/gpu/.build'];
const PATH = new RegExp(`(?<![\\w./-])((?:${ROOMS})/[\\w./-]*[\\w/])`, 'g');

/** Repo paths a markdown text names (globs, placeholders and run outputs left out). */
export function namedPaths(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(PATH)) {
    const p = m[1]!.replace(/\.$/, '');
    // Globs and placeholders are not paths; build outputs (git-ignored) exist only after a build.
    if (/[*<{]/.test(p) || IGNORED.some((d) => p.startsWith(d))) continue;
    out.push(p);
  }
  return out;
}

describe('doc paths', () => {
  const docs = ['README.md', 'bench/README.md', 'deploy/README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

  it('finds paths the way docs write them', () => {
    expect(namedPaths('see `actors/scene/machine.ts`, cli/main.ts. And runtime/nats/ too; not bench/results/x.json or actors/<role>/role.ts')).toEqual([
      'actors/scene/machine.ts',
      'cli/main.ts',
      'runtime/nats/',
    ]);
  });

  it('every file or folder named in README and docs/ exists', () => {
    const missing: string[] = [];
    for (const d of docs) {
      readFileSync(join(root, d), 'utf8').split('\n').forEach((line, i) => {
        for (const p of namedPaths(line)) if (!existsSync(join(root, p))) missing.push(`${d}:${i + 1}: ${p}`);
      });
    }
    expect(missing).toEqual([]);
  });
});
