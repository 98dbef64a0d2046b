// Run reports (synth, evolve, train): the list, and one report's markdown rendered with its SVG plots.
import { api, clear, h, notice } from './dom.js';
import { renderMarkdown } from './markdown.js';

export async function showReports(root, id) {
  clear(root);
  const side = h('aside', { class: 'report-list', id: 'report-list' }, h('p', { class: 'muted' }, 'looking for reports…'));
  const body = h('article', { class: 'report', id: 'report' });
  root.append(h('section', { class: 'reports' }, side, body));
  let reports;
  try {
    reports = (await api('/api/reports')).reports;
  } catch (err) {
    return notice(`reports: ${err.message}`, 'error');
  }
  clear(side).append(
    h('h2', {}, 'Reports'),
    reports.length ? h('ul', {}, reports.map((r) => h('li', { class: r.id === id ? 'selected' : '' },
      h('a', { href: `#/reports/${encodeURIComponent(r.id)}` }, r.title),
      h('div', { class: 'muted' }, `${r.kind} · ${r.id} · ${new Date(r.mtimeMs).toLocaleString()}`))))
      : h('p', { class: 'muted' }, 'No reports yet: troupe synth, evolve and train write them into their run directories.'));
  const pick = id ?? reports[0]?.id;
  if (!pick) return;
  try {
    const r = await api(`/api/report?id=${encodeURIComponent(pick)}`);
    const src = (file) => `/api/report-file?id=${encodeURIComponent(pick)}&file=${encodeURIComponent(file)}`;
    clear(body).append(renderMarkdown(r.markdown, (file) => (r.plots.includes(file) ? src(file) : undefined)));
  } catch (err) {
    notice(`report ${pick}: ${err.message}`, 'error');
  }
}
