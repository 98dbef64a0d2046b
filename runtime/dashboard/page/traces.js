// Traces: the list of a run's traces, and one trace as the causal tree `troupe trace` prints (same
// server code), each span with a bar on a shared timeline.
import { api, clear, fmtDuration, h, notice } from './dom.js';

export async function showTraces(root, params) {
  clear(root);
  const run = params.get('run') ?? '';
  const q = new URLSearchParams(run ? { run } : {});
  const idInput = h('input', { name: 'id', placeholder: 'trace id or prefix', size: 34, 'aria-label': 'trace id' });
  const open = h('form', { class: 'filters' }, idInput, h('button', { type: 'submit' }, 'Open trace'));
  open.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (idInput.value.trim()) location.hash = `#/trace/${encodeURIComponent(idInput.value.trim())}${run ? `?run=${encodeURIComponent(run)}` : ''}`;
  });
  const list = h('div', {}, h('p', { class: 'muted' }, 'reading span files…'));
  root.append(open, list);
  try {
    const t = await api(`/api/traces?${q}`);
    clear(list).append(
      h('p', { class: 'muted' }, `${t.total} trace(s) in run ${t.run}${t.total > t.traces.length ? `, newest ${t.traces.length} shown` : ''}${t.unreadableLines ? `; ${t.unreadableLines} unreadable span line(s) skipped` : ''}`),
      h('table', { class: 'traces', id: 'traces' },
        h('thead', {}, h('tr', {}, ['trace', 'started', 'spans', 'processes', 'duration', 'root', ''].map((c) => h('th', {}, c)))),
        h('tbody', {}, t.traces.map((x) => h('tr', {},
          h('td', { class: 'mono' }, h('a', { href: `#/trace/${x.traceId}${run ? `?run=${encodeURIComponent(run)}` : ''}`, class: 'trace-link' }, x.traceId)),
          h('td', {}, new Date(x.startMs).toLocaleTimeString()),
          h('td', { class: 'num' }, x.spans), h('td', { class: 'num' }, x.processes), h('td', { class: 'num' }, fmtDuration(x.durationMs)),
          h('td', {}, x.root), h('td', { class: 'error' }, x.errors ? `${x.errors} error(s)` : ''))))));
  } catch (err) {
    clear(list);
    notice(`traces: ${err.message}`, 'error');
  }
}

export async function showTrace(root, id, params) {
  clear(root);
  const run = params.get('run') ?? '';
  const q = new URLSearchParams({ id, ...(run ? { run } : {}) });
  root.append(h('p', { class: 'muted' }, `reading trace ${id}…`));
  let t;
  try {
    t = await api(`/api/trace?${q}`);
  } catch (err) {
    clear(root).append(h('p', {}, h('a', { href: '#/traces' }, '← all traces')));
    return notice(`trace ${id}: ${err.message}`, 'error');
  }
  notice('');
  const total = Math.max(t.durationMs, 1e-3);
  const rows = t.rows.map((r) => {
    const bar = h('div', { class: `bar ${r.kind}${r.error ? ' error' : ''}` });
    // Positions are set through the CSSOM: the page's CSP allows no inline style attributes.
    bar.style.left = `${(100 * r.offsetMs) / total}%`;
    bar.style.width = `${Math.max(0.3, (100 * r.durationMs) / total)}%`;
    const name = h('td', { class: 'span-name' }, r.orphan ? '… ' : '', r.name);
    name.style.paddingLeft = `${0.4 + r.depth * 1.1}em`;
    return h('tr', { class: r.error ? 'error' : '', 'data-span': r.spanId },
      name, h('td', { class: 'mono' }, r.process), h('td', { class: 'num' }, `+${fmtDuration(r.offsetMs)}`), h('td', { class: 'num' }, fmtDuration(r.durationMs)),
      h('td', { class: 'timeline' }, h('div', { class: 'lane' }, bar)), h('td', { class: 'attrs' }, r.attrs));
  });
  clear(root).append(
    h('p', {}, h('a', { href: `#/traces${run ? `?run=${encodeURIComponent(run)}` : ''}` }, '← all traces')),
    h('h2', { id: 'trace-title' }, `trace ${t.traceId}`),
    h('p', { class: 'muted' }, `${t.rows.length} spans, ${t.processes.length} processes (${t.processes.join(', ')}), ${fmtDuration(t.durationMs)}; run ${t.run}. Parents before children, siblings by start time; … = parent span not in the files.`),
    h('table', { class: 'trace', id: 'trace' },
      h('thead', {}, h('tr', {}, ['span', 'process', 'start', 'duration', 'timeline', 'attributes'].map((c) => h('th', {}, c)))),
      h('tbody', {}, rows)));
}
