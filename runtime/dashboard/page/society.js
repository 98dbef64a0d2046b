// The society view: roles as boxes laid out along the flow (columns from the server's layout), edges
// labelled with the message kind and its rate; a side panel with the selected role's instances and
// the swap and drain actions.
import { api, clear, fmtRate, h, notice } from './dom.js';

const NODE_W = 210;
const NODE_H = 100;
const COL = 320;
const ROW = 130;
const PAD = 30;

let selected;
let timer;

export function showSociety(root) {
  clear(root);
  const svgBox = h('div', { class: 'graph', id: 'graph' });
  const panel = h('aside', { class: 'panel', id: 'role-panel' }, h('p', { class: 'muted' }, 'Click a role to see its instances, swap it or drain one.'));
  root.append(h('section', { class: 'society' }, svgBox, panel));
  const tick = async () => {
    try {
      const s = await api('/api/society');
      if (!document.body.contains(svgBox)) return;
      drawGraph(svgBox, s.graph, panel);
      if (selected) drawPanel(panel, s, selected);
      document.getElementById('updated').textContent = `updated ${new Date(s.now).toLocaleTimeString()}`;
    } catch (err) {
      notice(`society: ${err.message}`, 'error');
    }
  };
  clearInterval(timer);
  timer = setInterval(tick, 2000);
  tick();
  return () => clearInterval(timer);
}

function nodePos(n) {
  return { x: PAD + n.layer * COL, y: PAD + n.order * ROW };
}

function drawGraph(box, graph, panel) {
  const pos = new Map(graph.nodes.map((n) => [n.id, nodePos(n)]));
  const width = PAD * 2 + Math.max(...graph.nodes.map((n) => n.layer), 0) * COL + NODE_W;
  const loops = graph.edges.some((e) => { const a = graph.nodes.find((n) => n.id === e.from), b = graph.nodes.find((n) => n.id === e.to); return a && b && b.layer <= a.layer; });
  const height = PAD * 2 + Math.max(...graph.nodes.map((n) => n.order), 0) * ROW + NODE_H + (loops ? 90 : 10);
  const svg = h('svg', { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': 'society graph' },
    h('defs', {}, h('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
      h('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrowhead' }))));
  // Several kinds between one pair of roles: fan their curves out so every label stays readable.
  const pairCount = new Map();
  const edgesG = h('g', { class: 'edges' });
  for (const e of graph.edges) {
    const a = pos.get(e.from), b = pos.get(e.to);
    if (!a || !b) continue;
    const key = `${e.from}>${e.to}`;
    const i = pairCount.get(key) ?? 0;
    pairCount.set(key, i + 1);
    const spread = i * 26;
    let d, lx, ly;
    if (b.x > a.x) {
      const x1 = a.x + NODE_W, y1 = a.y + NODE_H / 2 + spread / 2, x2 = b.x, y2 = b.y + NODE_H / 2 + spread / 2;
      const cx = (x2 - x1) / 2;
      d = `M${x1},${y1} C${x1 + cx},${y1} ${x2 - cx},${y2} ${x2},${y2}`;
      lx = (x1 + x2) / 2; ly = (y1 + y2) / 2 - 6 - spread / 2;
    } else {
      // A loop back (or a role feeding itself): go round below.
      const x1 = a.x + NODE_W / 2 + 20, y1 = a.y + NODE_H, x2 = b.x + NODE_W / 2 - 20, y2 = b.y + NODE_H;
      const dip = Math.max(y1, y2) + 40 + spread;
      d = `M${x1},${y1} C${x1},${dip} ${x2},${dip} ${x2},${y2}`;
      lx = (x1 + x2) / 2; ly = dip - 4;
    }
    const w = e.rate > 0 ? Math.min(6, 1.5 + Math.log2(1 + e.rate)) : 1.2;
    edgesG.append(h('g', { class: `edge${e.rate > 0 ? ' live' : ''}`, 'data-from': e.from, 'data-to': e.to, 'data-kind': e.kind, 'data-rate': e.rate.toFixed(3) },
      h('path', { d, 'stroke-width': w, 'marker-end': 'url(#arrow)' }, h('title', {}, `${e.kind}: ${e.count} in the last ${graph.windowMs / 1000}s`)),
      h('text', { x: lx, y: ly, 'text-anchor': 'middle', class: 'edge-label' }, e.kind),
      h('text', { x: lx, y: ly + 19, 'text-anchor': 'middle', class: 'edge-label rate' }, fmtRate(e.rate))));
  }
  svg.append(edgesG);
  const nodesG = h('g', { class: 'nodes' });
  for (const n of graph.nodes) {
    const p = pos.get(n.id);
    const lines = n.type === 'outside'
      ? [n.id === '~in' ? 'messages from outside' : 'not consumed by a role']
      : n.type === 'sender'
        ? ['sends, hosts no instance here']
        : [
            `${n.instances} instance${n.instances === 1 ? '' : 's'} · ${Object.entries(n.states).map(([s, c]) => (c > 1 ? `${c} ${s}` : s)).join(', ') || 'none live'}`,
            `impl ${n.implementations.join(', ') || '-'}`,
            `instructions ${n.instructionsRevisions.filter((r) => r > 0).map((r) => `r${r}`).join(', ') || 'none'}${n.models.length ? ` · model ${n.models.join(', ')}` : ''}`,
            `in-flight ${n.inFlight} · handled ${n.handled}${n.failed ? ` · failed ${n.failed}` : ''}${n.deadLettered ? ` · dlq ${n.deadLettered}` : ''}`,
          ];
    const g = h('g', {
      class: `node ${n.type}${selected === n.id ? ' selected' : ''}${n.type === 'role' && n.instances === 0 ? ' empty' : ''}`,
      transform: `translate(${p.x},${p.y})`, 'data-role': n.id, tabindex: n.type === 'role' ? 0 : undefined,
      onclick: n.type === 'role' ? () => select(n.id, panel) : undefined,
    },
    h('rect', { width: NODE_W, height: n.type === 'role' ? NODE_H : 56, rx: 8 }),
    h('text', { x: 12, y: 22, class: 'node-title' }, n.label),
    lines.map((l, i) => h('text', { x: 12, y: 42 + i * 15, class: 'node-line' }, l.length > 34 ? `${l.slice(0, 33)}…` : l)));
    nodesG.append(g);
  }
  svg.append(nodesG);
  clear(box).append(svg);
}

async function select(role, panel) {
  selected = role;
  document.querySelectorAll('.node').forEach((n) => n.classList.toggle('selected', n.dataset.role === role));
  try {
    drawPanel(panel, await api('/api/society'), role);
  } catch (err) {
    notice(`society: ${err.message}`, 'error');
  }
}

function instanceRows(s, role, panel) {
  const live = s.instances.filter((i) => i.role === role);
  if (!live.length) return [h('tr', {}, h('td', { colspan: 11, class: 'muted' }, 'no live instance'))];
  return live.map((i) => h('tr', { 'data-instance': i.instanceId },
    h('td', { class: 'mono' }, i.instanceId), h('td', {}, i.state), h('td', {}, i.implementation), h('td', {}, i.model || '-'),
    h('td', {}, i.instructionsRevision ? `r${i.instructionsRevision}` : '-'), h('td', { class: 'num' }, i.inFlight), h('td', { class: 'num' }, i.handled),
    h('td', { class: 'num' }, i.failed), h('td', { class: 'num' }, i.deadLettered), h('td', { class: 'num' }, `${((s.now - i.heartbeatMs) / 1000).toFixed(1)}s`),
    h('td', {}, h('button', { class: 'drain', onclick: () => drain(i.instanceId, panel) }, 'Drain'))));
}

/** The panel of `role`: built once per selection; later ticks refresh only its table, so a half-typed swap survives. */
function drawPanel(panel, s, role) {
  const node = s.graph.nodes.find((n) => n.id === role);
  const kinds = node ? `consumes ${node.consumes.join(', ') || '-'}; produces ${node.produces.join(', ') || '-'}` : '';
  if (panel.dataset.role === role) {
    clear(panel.querySelector('tbody')).append(...instanceRows(s, role, panel));
    panel.querySelector('.kinds').textContent = kinds;
    return;
  }
  panel.dataset.role = role;
  const kindInput = h('select', { name: 'change', 'aria-label': 'what to swap' },
    h('option', { value: 'impl' }, 'implementation module'), h('option', { value: 'model' }, 'model'), h('option', { value: 'instructions' }, 'instructions'));
  const valueInput = h('textarea', { name: 'value', rows: 2, placeholder: 'module path or role name', 'aria-label': 'new value' });
  kindInput.addEventListener('change', () => {
    valueInput.placeholder = { impl: 'module path or role name', model: 'model name, e.g. qwen2.5-7b-instruct', instructions: 'the new instructions text' }[kindInput.value];
    valueInput.rows = kindInput.value === 'instructions' ? 8 : 2;
  });
  const result = h('p', { class: 'result', id: 'swap-result' });
  const button = h('button', { type: 'submit' }, 'Swap');
  const form = h('form', { class: 'swap', id: 'swap-form' },
    h('h3', {}, `Swap ${role}`),
    h('label', {}, 'change ', kindInput), valueInput, button, result);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const value = kindInput.value === 'instructions' ? valueInput.value : valueInput.value.trim();
    if (!value.trim()) return void (result.textContent = 'give a value');
    button.disabled = true;
    result.textContent = `swapping ${role}… (new instances start, then the old ones drain)`;
    result.className = 'result';
    try {
      const r = await api('/api/swap', { role, [kindInput.value]: value });
      result.textContent = `${r.message}; old: ${r.oldInstanceIds.join(', ') || '-'}; new: ${r.newInstanceIds.join(', ')}`;
      result.className = 'result ok';
    } catch (err) {
      result.textContent = `swap failed: ${err.message}`;
      result.className = 'result error';
    } finally {
      button.disabled = false;
    }
  });
  clear(panel).append(
    h('h2', {}, role),
    h('p', { class: 'muted kinds' }, kinds),
    h('div', { class: 'panel-body' },
      h('div', { class: 'scroll' }, h('table', { class: 'instances' },
        h('thead', {}, h('tr', {}, ['instance', 'state', 'impl', 'model', 'instr', 'in-flight', 'handled', 'failed', 'dlq', 'heartbeat', ''].map((c) => h('th', {}, c)))),
        h('tbody', {}, instanceRows(s, role, panel)))),
      form));
}

async function drain(instance, panel) {
  if (!confirm(`Drain ${instance}? It finishes what it holds and leaves; the society does not restart it.`)) return;
  notice(`draining ${instance}…`);
  try {
    const r = await api('/api/drain', { instance });
    notice(r.message, 'ok');
  } catch (err) {
    notice(`drain failed: ${err.message}`, 'error');
  }
  if (selected) select(selected, panel);
}
