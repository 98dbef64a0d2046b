// The message stream: server-sent events from /api/stream, filtered by kind, sending role and run on
// the server; newest first, at most MAX_ROWS rows. A trace id opens the trace view.
import { api, clear, fmtBytes, fmtDuration, h, notice } from './dom.js';

const MAX_ROWS = 500;
let source;

export function showMessages(root, params) {
  clear(root);
  const filter = { kind: params.get('kind') ?? '', role: params.get('role') ?? '', run: params.get('run') ?? '' };
  const input = (name, placeholder) => h('input', { name, value: filter[name], placeholder, list: `${name}-list`, size: 22, 'aria-label': name });
  const kind = input('kind', 'kind, e.g. task.proposed');
  const role = input('role', 'sending role');
  const run = input('run', 'run id');
  const lists = ['kind', 'role', 'run'].map((n) => h('datalist', { id: `${n}-list` }));
  const paused = h('input', { type: 'checkbox', name: 'pause' });
  const count = h('span', { class: 'muted', id: 'message-count' });
  const form = h('form', { class: 'filters', id: 'message-filters' },
    kind, role, run, h('button', { type: 'submit' }, 'Filter'),
    h('label', {}, paused, ' pause'),
    h('button', { type: 'button', id: 'cancel-run', onclick: () => cancelRun(run.value.trim()) }, 'Cancel run'),
    count, lists);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams();
    for (const [k, el] of [['kind', kind], ['role', role], ['run', run]]) if (el.value.trim()) q.set(k, el.value.trim());
    location.hash = `#/messages${q.size ? `?${q}` : ''}`;
  });
  const tbody = h('tbody', {});
  root.append(form, h('table', { class: 'messages', id: 'messages' },
    h('thead', {}, h('tr', {}, ['time', 'kind', 'from', 'size', 'latency', 'run', 'trace', ''].map((c) => h('th', {}, c)))), tbody));

  // Suggestions from what the society shows now.
  api('/api/society').then((s) => {
    const kinds = new Set(s.graph.edges.map((e) => e.kind));
    fill(lists[0], kinds);
    fill(lists[1], new Set(s.graph.nodes.filter((n) => n.type !== 'outside').map((n) => n.id)));
    fill(lists[2], new Set(s.runs));
  }).catch((err) => notice(`society: ${err.message}`, 'error'));

  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(filter)) if (v) q.set(k, v);
  source?.close();
  source = new EventSource(`/api/stream?${q}`);
  let n = 0;
  source.onmessage = (m) => {
    if (paused.checked) return;
    const ev = JSON.parse(m.data);
    tbody.prepend(row(ev));
    while (tbody.childElementCount > MAX_ROWS) tbody.lastElementChild.remove();
    count.textContent = `${++n} message${n === 1 ? '' : 's'}`;
  };
  source.onerror = () => {
    // EventSource retries by itself; say so only while it is down.
    if (source.readyState !== EventSource.OPEN) notice('message stream disconnected; retrying…', 'error');
  };
  source.onopen = () => notice('');
  return () => source?.close();
}

function fill(list, values) {
  clear(list).append(...[...values].sort().map((v) => h('option', { value: v })));
}

function row(ev) {
  return h('tr', { class: ev.deadLetter ? 'dead' : '', 'data-kind': ev.kind, 'data-role': ev.senderRole ?? '' },
    h('td', { class: 'mono' }, new Date(ev.time).toISOString().slice(11, 23)),
    h('td', {}, ev.kind),
    h('td', {}, ev.senderRole ?? '-'),
    h('td', { class: 'num' }, fmtBytes(ev.size)),
    h('td', { class: 'num' }, Number.isFinite(ev.latencyMs) ? fmtDuration(ev.latencyMs) : '-'),
    h('td', { class: 'mono' }, ev.runId ?? ''),
    h('td', { class: 'mono' }, ev.traceId ? h('a', { href: `#/trace/${ev.traceId}`, class: 'trace-link' }, ev.traceId.slice(0, 12)) : ''),
    h('td', { class: ev.deadLetter ? 'error' : 'muted' }, ev.detail ?? ''));
}

async function cancelRun(run) {
  if (!run) return notice('cancel: put the run id in the run filter first', 'error');
  try {
    const r = await api('/api/cancel', { run });
    notice(r.message, 'ok');
  } catch (err) {
    notice(`cancel ${run}: ${err.message}`, 'error');
  }
}
