// Just enough markdown for Troupe's run reports, built as DOM nodes (text stays text): headings,
// paragraphs, pipe tables, bullet lists, images, `code` and **bold**. `imageSrc(file)` maps a
// report-relative image to a URL, or undefined to leave it out.
import { h } from './dom.js';

function inline(text, imageSrc) {
  const out = [];
  const re = /!\[([^\]]*)\]\(([^)\s]+)\)|`([^`]+)`|\*\*([^*]+)\*\*/g;
  let last = 0;
  for (const m of text.matchAll(re)) {
    if (m.index > last) out.push(text.slice(last, m.index));
    if (m[2] !== undefined) {
      const src = imageSrc(m[2]);
      out.push(src ? h('img', { src, alt: m[1], class: 'plot' }) : h('span', { class: 'muted' }, `[${m[1] || m[2]}: not available]`));
    } else if (m[3] !== undefined) out.push(h('code', {}, m[3]));
    else out.push(h('strong', {}, m[4]));
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

const cells = (line) => line.trim().replace(/^\|/, '').replace(/\|$/, '').split('|').map((c) => c.trim());

export function renderMarkdown(md, imageSrc) {
  const root = h('div', { class: 'markdown' });
  const lines = md.split('\n');
  let para = [];
  const flush = () => {
    if (para.length) root.append(h('p', {}, inline(para.join(' '), imageSrc)));
    para = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const heading = /^(#{1,4})\s+(.*)$/.exec(line);
    if (heading) {
      flush();
      root.append(h(`h${heading[1].length + 1}`, {}, inline(heading[2], imageSrc)));
    } else if (/^\s*\|/.test(line) && /^\s*\|?\s*:?-{2,}/.test(lines[i + 1] ?? '')) {
      flush();
      const head = cells(line);
      const align = cells(lines[i + 1]).map((c) => (c.endsWith(':') ? 'num' : ''));
      i += 2;
      const body = [];
      for (; i < lines.length && /^\s*\|/.test(lines[i]); i++) body.push(cells(lines[i]));
      i--;
      root.append(h('table', { class: 'md-table' },
        h('thead', {}, h('tr', {}, head.map((c, j) => h('th', { class: align[j] }, inline(c, imageSrc))))),
        h('tbody', {}, body.map((r) => h('tr', {}, r.map((c, j) => h('td', { class: align[j] }, inline(c, imageSrc))))))));
    } else if (/^\s*[-*]\s+/.test(line)) {
      flush();
      const items = [];
      for (; i < lines.length && /^\s*[-*]\s+/.test(lines[i]); i++) items.push(lines[i].replace(/^\s*[-*]\s+/, ''));
      i--;
      root.append(h('ul', {}, items.map((t) => h('li', {}, inline(t, imageSrc)))));
    } else if (!line.trim()) flush();
    else para.push(line.trim());
  }
  flush();
  return root;
}
