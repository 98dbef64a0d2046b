// The dashboard page: hash routes to the four views (#/society, #/messages, #/traces, #/trace/ID,
// #/reports/ID); each view fetches from the JSON / SSE API of the same origin.
import { api, notice } from './dom.js';
import { showMessages } from './messages.js';
import { showReports } from './reports.js';
import { showSociety } from './society.js';
import { showTrace, showTraces } from './traces.js';

let leave;

function route() {
  const [path, query] = (location.hash.replace(/^#/, '') || '/society').split('?');
  const params = new URLSearchParams(query ?? '');
  const parts = path.split('/').filter(Boolean);
  const view = document.getElementById('view');
  leave?.();
  leave = undefined;
  notice('');
  const name = parts[0] ?? 'society';
  document.querySelectorAll('nav a').forEach((a) => a.classList.toggle('active', a.dataset.view === (name === 'trace' ? 'traces' : name)));
  document.body.dataset.view = name;
  if (name === 'messages') leave = showMessages(view, params);
  else if (name === 'traces') showTraces(view, params);
  else if (name === 'trace' && parts[1]) showTrace(view, decodeURIComponent(parts[1]), params);
  else if (name === 'reports') showReports(view, parts[1] ? decodeURIComponent(parts.slice(1).join('/')) : undefined);
  else leave = showSociety(view);
}

window.addEventListener('hashchange', route);
api('/api/society')
  .then((s) => {
    document.getElementById('run').textContent = `society ${s.runId}`;
    document.title = `Troupe ${s.runId}`;
  })
  .catch((err) => notice(err.message, 'error'));
route();
