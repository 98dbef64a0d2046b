// The house rules, checked over the import graph: each top-level room imports only rooms below it,
// role folders share only through actors/kit, and no file or folder imports itself round a loop.
// `npx tsx scripts/check-imports.ts` prints the violations (exit 1); tests/layout runs the same check.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

/** Production rooms, bottom to top. A room may import rooms of a lower rank only (and itself). */
export const ROOMS: Record<string, number> = {
  protocols: 0,
  domains: 1,
  sandbox: 1,
  runtime: 2,
  llm: 3,
  nn: 4,
  actors: 5,
  cli: 6,
  bin: 7,
};

/** Folders of actors/ that are not roles: the shared kit every role may use. */
export const ACTOR_KIT = 'kit';

export interface Violation {
  kind: 'upward' | 'sideways' | 'role-internals' | 'file-loop' | 'folder-loop' | 'unknown-room';
  from: string;
  to: string;
  detail: string;
}

// Only specs that name a module file (ending .ts/.js/.mjs): `new URL('../..')` or a .proto is data.
const SPEC = /(?:from\s+|import\s*\(\s*|import\s+|new URL\(\s*)['"](\.{1,2}\/[^'"]*\.(?:ts|js|mjs))['"]/g;

/** Relative imports of one source file, as repo-relative paths (comments and strings inside are not parsed away: keep specs honest). */
export function importsOf(file: string, source: string): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(SPEC)) out.push(normalize(join(dirname(file), m[1]!)).replaceAll('\\', '/'));
  return out;
}

function roomOf(path: string): string {
  return path.split('/')[0]!;
}

/** `actors/critic/role.ts` → `critic`; undefined outside actors/. */
function actorFolder(path: string): string | undefined {
  const parts = path.split('/');
  return parts[0] === 'actors' && parts.length > 2 ? parts[1] : undefined;
}

/**
 * Second-level folder, the unit of the folder-loop check (`domains/core`, `actors/learner`); a file
 * that sits directly in a room (`cli/main.ts`, `domains/registry.ts`) is a unit of its own.
 */
function folderOf(path: string): string {
  const parts = path.split('/');
  return parts.length > 2 ? `${parts[0]}/${parts[1]}` : path;
}

/** Check a graph: file → its relative imports (repo-relative). Only production rooms are judged. */
export function checkGraph(graph: Map<string, string[]>): Violation[] {
  const v: Violation[] = [];
  const prod = (p: string) => Object.hasOwn(ROOMS, roomOf(p));
  for (const [from, tos] of graph) {
    if (!prod(from)) continue;
    for (const to of tos) {
      const rf = roomOf(from);
      const rt = roomOf(to);
      if (!prod(to)) {
        v.push({ kind: 'unknown-room', from, to, detail: `${rf}/ imports ${rt}/, which is not a production room (tests, bench and scripts sit outside)` });
        continue;
      }
      if (rf !== rt) {
        if (ROOMS[rt]! > ROOMS[rf]!) v.push({ kind: 'upward', from, to, detail: `${rf}/ (rank ${ROOMS[rf]}) imports ${rt}/ (rank ${ROOMS[rt]})` });
        else if (ROOMS[rt] === ROOMS[rf]) v.push({ kind: 'sideways', from, to, detail: `${rf}/ and ${rt}/ are peers and must not import each other` });
        continue;
      }
      const af = actorFolder(from);
      const at = actorFolder(to);
      if (af && at && af !== at && at !== ACTOR_KIT) {
        v.push({ kind: 'role-internals', from, to, detail: `role ${af} reaches into role ${at}; share through actors/${ACTOR_KIT}` });
      }
      if (af === ACTOR_KIT && at && at !== ACTOR_KIT) {
        v.push({ kind: 'role-internals', from, to, detail: `the kit imports role ${at}; the kit sits below every role` });
      }
    }
  }
  for (const cyc of cycles(graph, (p) => (prod(p) ? p : undefined))) {
    v.push({ kind: 'file-loop', from: cyc[0]!, to: cyc[cyc.length - 1]!, detail: cyc.join(' → ') });
  }
  for (const cyc of cycles(graph, (p) => (prod(p) ? folderOf(p) : undefined))) {
    v.push({ kind: 'folder-loop', from: cyc[0]!, to: cyc[cyc.length - 1]!, detail: cyc.join(' ↔ ') });
  }
  return v;
}

/** Strongly connected components with more than one node, after mapping files to nodes (Tarjan). */
function cycles(graph: Map<string, string[]>, node: (p: string) => string | undefined): string[][] {
  const adj = new Map<string, Set<string>>();
  for (const [from, tos] of graph) {
    const a = node(from);
    if (!a) continue;
    if (!adj.has(a)) adj.set(a, new Set());
    for (const to of tos) {
      const b = node(to);
      if (b && b !== a) adj.get(a)!.add(b);
    }
  }
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (n: string) => {
    idx.set(n, index);
    low.set(n, index++);
    stack.push(n);
    on.add(n);
    for (const m of adj.get(n) ?? []) {
      if (!idx.has(m)) {
        visit(m);
        low.set(n, Math.min(low.get(n)!, low.get(m)!));
      } else if (on.has(m)) low.set(n, Math.min(low.get(n)!, idx.get(m)!));
    }
    if (low.get(n) === idx.get(n)) {
      const comp: string[] = [];
      let m: string;
      do {
        m = stack.pop()!;
        on.delete(m);
        comp.push(m);
      } while (m !== n);
      if (comp.length > 1) out.push(comp.sort());
    }
  };
  for (const n of adj.keys()) if (!idx.has(n)) visit(n);
  return out;
}

/** The graph of the working tree under `root` (production rooms only). */
export function readGraph(root: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const walk = (dir: string) => {
    for (const name of readdirSync(join(root, dir))) {
      if (name === 'node_modules' || name.startsWith('.')) continue;
      const rel = dir ? `${dir}/${name}` : name;
      if (statSync(join(root, rel)).isDirectory()) walk(rel);
      else if (/\.(ts|js|mjs)$/.test(name)) graph.set(rel, importsOf(rel, readFileSync(join(root, rel), 'utf8')));
    }
  };
  for (const room of Object.keys(ROOMS)) {
    try {
      if (statSync(join(root, room)).isDirectory()) walk(room);
    } catch {
      /* a room may be absent */
    }
  }
  return graph;
}

export function formatViolations(v: readonly Violation[]): string {
  return v.map((x) => `${x.kind}: ${x.from} → ${x.to}: ${x.detail}`).join('\n');
}

if (process.argv[1] && relative(process.argv[1], new URL(import.meta.url).pathname) === '') {
  const root = new URL('..', import.meta.url).pathname;
  const v = checkGraph(readGraph(root));
  if (v.length) {
    console.error(formatViolations(v));
    console.error(`${v.length} layout violation(s)`);
    process.exit(1);
  }
  console.log('layout: no violations');
}
