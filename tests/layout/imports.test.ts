// The house rules over the real tree, and proof that the check bites: each kind of violation,
// added to a copy of the real graph, is reported.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkGraph, formatViolations, importsOf, readGraph } from '../../scripts/check-imports.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const real = readGraph(root);

function withEdge(from: string, to: string): Map<string, string[]> {
  const g = new Map([...real].map(([k, v]) => [k, [...v]]));
  g.set(from, [...(g.get(from) ?? []), to]);
  return g;
}

describe('layout', () => {
  it('reads the real tree: every room present, a few hundred files', () => {
    const rooms = new Set([...real.keys()].map((p) => p.split('/')[0]));
    for (const r of ['protocols', 'domains', 'sandbox', 'runtime', 'llm', 'nn', 'actors', 'cli', 'bin']) expect(rooms).toContain(r);
    expect(real.size).toBeGreaterThan(150);
  });

  it('the tree as committed breaks no rule', () => {
    const v = checkGraph(real);
    expect(formatViolations(v)).toBe('');
  });

  it('parses the import forms the code uses', () => {
    const src = `import a from './a.ts';\nimport type { B } from '../b/b.ts';\nexport { c } from './c.ts';\nconst d = await import('../d.ts');\nnew URL('./w.ts', import.meta.url);\nimport 'node:fs';\nnew URL('../..', import.meta.url);`;
    expect(importsOf('actors/x/role.ts', src)).toEqual(['actors/x/a.ts', 'actors/b/b.ts', 'actors/x/c.ts', 'actors/d.ts', 'actors/x/w.ts']);
  });

  it('reports an upward import', () => {
    const v = checkGraph(withEdge('runtime/host/host.ts', 'actors/critic/role.ts'));
    expect(v.map((x) => x.kind)).toContain('upward');
  });

  it('reports an import into the top room and out of production rooms', () => {
    expect(checkGraph(withEdge('actors/critic/role.ts', 'cli/main.ts')).map((x) => x.kind)).toContain('upward');
    expect(checkGraph(withEdge('runtime/host/host.ts', 'tests/fixtures/roles/stage-a.ts')).map((x) => x.kind)).toContain('unknown-room');
  });

  it('reports peers importing each other', () => {
    expect(checkGraph(withEdge('sandbox/checker-sandbox.ts', 'domains/core/tool.ts')).map((x) => x.kind)).toContain('sideways');
  });

  it("reports a role reaching into another role's files, and the kit reaching into a role", () => {
    expect(checkGraph(withEdge('actors/critic/role.ts', 'actors/verifier/checker.ts')).map((x) => x.kind)).toContain('role-internals');
    expect(checkGraph(withEdge('actors/kit/ports.ts', 'actors/scene/machine.ts')).map((x) => x.kind)).toContain('role-internals');
  });

  it('reports a file loop and a folder loop', () => {
    const fileLoop = checkGraph(withEdge('actors/learner/phases.ts', 'actors/learner/grpo-trainer.ts'));
    expect(fileLoop.find((x) => x.kind === 'file-loop')?.detail).toMatch(/phases\.ts/);
    const folderLoop = checkGraph(withEdge('domains/pycompat/pyjson.ts', 'domains/core/tool.ts'));
    expect(folderLoop.find((x) => x.kind === 'folder-loop')?.detail).toMatch(/domains\/core.*domains\/pycompat|domains\/pycompat.*domains\/core/);
  });
});
