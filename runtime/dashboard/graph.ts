// The society as a graph, for the dashboard: one node per role (its live instances summed up), one
// edge per (producer, consumer, kind). Edges come from the kinds each role's implementation declares
// (consumes / produces) plus the senders seen on the bus, so a producer outside the society (a
// driver, a test feeder) shows up too. Pure: no NATS, no HTTP.
import type { RoleInstance } from '../control/types.ts';
import type { RoleKinds } from '../society/society.ts';

/** What the bus showed over the rate window: per kind, per sender role, how many messages. */
export type SeenCounts = Map<string, Map<string, number>>;

/** Synthetic nodes: where messages without a known producer come from, and where unconsumed ones go. */
export const OUTSIDE_IN = '~in';
export const OUTSIDE_OUT = '~out';

export interface GraphNode {
  id: string;
  /** 'role': part of the society; 'sender': seen sending but hosts no instance here; 'outside': synthetic. */
  type: 'role' | 'sender' | 'outside';
  label: string;
  instances: number;
  states: Record<string, number>;
  implementations: string[];
  models: string[];
  /** Instructions revisions in use (0 = none), distinct, ascending. */
  instructionsRevisions: number[];
  inFlight: number;
  handled: number;
  failed: number;
  deadLettered: number;
  consumes: string[];
  produces: string[];
  /** Column (0 = leftmost) and row within it, for drawing left to right along the flow. */
  layer: number;
  order: number;
}

export interface GraphEdge {
  from: string;
  to: string;
  kind: string;
  /** Messages per second of this kind from `from` over the rate window. */
  rate: number;
  /** Messages of this kind from `from` seen in the window. */
  count: number;
}

export interface SocietyGraph {
  nodes: GraphNode[];
  edges: GraphEdge[];
  windowMs: number;
}

const distinct = <T>(xs: T[]) => [...new Set(xs)];

function emptyNode(id: string, type: GraphNode['type'], label: string): GraphNode {
  return {
    id, type, label, instances: 0, states: {}, implementations: [], models: [], instructionsRevisions: [],
    inFlight: 0, handled: 0, failed: 0, deadLettered: 0, consumes: [], produces: [], layer: 0, order: 0,
  };
}

export function buildGraph(instances: RoleInstance[], kinds: Record<string, RoleKinds>, seen: SeenCounts, windowMs: number): SocietyGraph {
  const nodes = new Map<string, GraphNode>();
  const node = (id: string, type: GraphNode['type'] = 'role') => {
    let n = nodes.get(id);
    if (!n) nodes.set(id, (n = emptyNode(id, type, type === 'outside' ? (id === OUTSIDE_IN ? 'outside (in)' : 'outside (out)') : id)));
    return n;
  };
  for (const role of Object.keys(kinds).sort()) {
    const n = node(role);
    n.consumes = [...kinds[role].consumes].sort();
    n.produces = [...kinds[role].produces].sort();
  }
  for (const r of [...instances].sort((a, b) => a.instanceId.localeCompare(b.instanceId))) {
    const n = node(r.role);
    n.instances++;
    n.states[r.state || '?'] = (n.states[r.state || '?'] ?? 0) + 1;
    n.implementations = distinct([...n.implementations, r.implementation]).sort();
    if (r.model) n.models = distinct([...n.models, r.model]).sort();
    n.instructionsRevisions = distinct([...n.instructionsRevisions, r.instructionsRevision]).sort((a, b) => a - b);
    n.inFlight += r.inFlight;
    n.handled += r.handled;
    n.failed += r.failed;
    n.deadLettered += r.deadLettered;
  }

  const allKinds = new Set<string>(seen.keys());
  for (const k of Object.values(kinds)) for (const x of [...k.consumes, ...k.produces]) allKinds.add(x);
  const edges: GraphEdge[] = [];
  const perSecond = (n: number) => (windowMs > 0 ? n / (windowMs / 1000) : 0);
  for (const kind of [...allKinds].sort()) {
    const senders = seen.get(kind) ?? new Map<string, number>();
    const producers = distinct([...Object.keys(kinds).filter((r) => kinds[r].produces.includes(kind)), ...senders.keys()]).sort();
    const consumers = Object.keys(kinds).filter((r) => kinds[r].consumes.includes(kind)).sort();
    for (const p of producers) if (!nodes.has(p)) node(p, 'sender').produces.push(kind);
    const from = producers.length ? producers : [OUTSIDE_IN];
    const to = consumers.length ? consumers : [OUTSIDE_OUT];
    for (const f of from) {
      if (f === OUTSIDE_IN) node(OUTSIDE_IN, 'outside');
      const count = senders.get(f) ?? 0;
      for (const t of to) {
        if (t === OUTSIDE_OUT) node(OUTSIDE_OUT, 'outside');
        edges.push({ from: f, to: t, kind, count, rate: perSecond(count) });
      }
    }
  }
  layout([...nodes.values()], edges);
  return { nodes: [...nodes.values()].sort((a, b) => a.layer - b.layer || a.order - b.order), edges, windowMs };
}

/**
 * Layers along the flow: a node's column is its longest distance from a node nothing feeds
 * (edges that close a loop, e.g. the evolver's feedback, are ignored for this); unconsumed output
 * goes to the right of everything.
 */
function layout(nodes: GraphNode[], edges: GraphEdge[]): void {
  const out = new Map<string, string[]>();
  for (const e of edges) if (e.from !== e.to) out.set(e.from, [...(out.get(e.from) ?? []), e.to]);
  // Depth-first order to find back edges (loops), then longest path over the rest.
  const state = new Map<string, 'open' | 'done'>();
  const back = new Set<string>();
  const order: string[] = [];
  const visit = (id: string) => {
    state.set(id, 'open');
    for (const t of out.get(id) ?? []) {
      if (state.get(t) === 'open') back.add(`${id}\u0000${t}`);
      else if (!state.has(t)) visit(t);
    }
    state.set(id, 'done');
    order.push(id);
  };
  const hasIncoming = new Set(edges.filter((e) => e.from !== e.to).map((e) => e.to));
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const starts = [...nodes].sort((a, b) => Number(hasIncoming.has(a.id)) - Number(hasIncoming.has(b.id)) || a.id.localeCompare(b.id));
  for (const n of starts) if (!state.has(n.id)) visit(n.id);
  const layer = new Map<string, number>(nodes.map((n) => [n.id, 0]));
  for (const id of order.reverse()) {
    for (const t of out.get(id) ?? []) {
      if (back.has(`${id}\u0000${t}`)) continue;
      layer.set(t, Math.max(layer.get(t)!, layer.get(id)! + 1));
    }
  }
  const maxLayer = Math.max(0, ...[...layer.entries()].filter(([id]) => id !== OUTSIDE_OUT).map(([, l]) => l));
  if (byId.has(OUTSIDE_OUT)) layer.set(OUTSIDE_OUT, maxLayer + 1);
  const rows = new Map<number, number>();
  for (const n of [...nodes].sort((a, b) => a.id.localeCompare(b.id))) {
    n.layer = layer.get(n.id)!;
    n.order = rows.get(n.layer) ?? 0;
    rows.set(n.layer, n.order + 1);
  }
}
