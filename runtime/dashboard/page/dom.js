// Small DOM and API helpers shared by the views. Text always goes in as text (never as HTML).

/** h('div', { class: 'x', onclick: fn }, child, 'text', [more]) */
export function h(tag, attrs = {}, ...children) {
  const svg = ['svg', 'g', 'path', 'rect', 'text', 'line', 'marker', 'defs', 'polygon', 'title', 'tspan'].includes(tag);
  const el = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Show a message in the banner; errors stay until the next message. */
export function notice(text, kind = 'info') {
  const n = document.getElementById('notice');
  n.textContent = text;
  n.className = kind;
  n.hidden = !text;
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** JSON from the dashboard API; a 401 sends the browser to the sign-in page. */
export async function api(path, body) {
  const init = body === undefined ? {} : { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) };
  const res = await fetch(path, { credentials: 'same-origin', ...init });
  if (res.status === 401) {
    location.href = '/login';
    throw new ApiError(401, 'not signed in');
  }
  const text = await res.text();
  let data;
  try {
    data = JSON.parse(text);
  } catch {
    throw new ApiError(res.status, `${path}: ${res.status} ${text.slice(0, 200)}`);
  }
  if (!res.ok) throw new ApiError(res.status, data.error ?? `${path}: ${res.status}`);
  return data;
}

export function fmtDuration(ms) {
  if (!Number.isFinite(ms)) return '-';
  if (ms < 1) return `${Math.round(ms * 1000)}µs`;
  if (ms < 1000) return `${ms.toFixed(ms < 10 ? 2 : 1)}ms`;
  return `${(ms / 1000).toFixed(2)}s`;
}

export function fmtBytes(n) {
  if (n < 1024) return `${n}B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)}kB`;
  return `${(n / 1024 / 1024).toFixed(1)}MB`;
}

export function fmtRate(r) {
  if (!r) return '0/s';
  return r < 10 ? `${r.toFixed(1)}/s` : `${Math.round(r)}/s`;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}
