// The dashboard's HTTP server (Node's http module): the page's static files from ./page, a small JSON
// API and one server-sent-events stream, on loopback only, every request but the login door
// authenticated with the control plane's token (auth.ts). The actions (swap, drain, cancel) call the
// same handlers the gRPC control plane serves, after the same field checks (runtime/control/validate.ts).
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NatsConnection } from '@nats-io/transport-node';
import { KIND_PATTERN } from '../../protocols/subjects.ts';
import { ControlError, type ControlHandlers, type SwapRequest } from '../control/types.ts';
import { checkInstructionsText, checkModel, checkModule, checkRole } from '../control/validate.ts';
import type { RoleKinds } from '../society/society.ts';
import { redactText } from '../tracing/redact.ts';
import { DashboardAuth } from './auth.ts';
import { matches, MessageFeed, type FeedFilter } from './feed.ts';
import { buildGraph } from './graph.ts';
import { listReports, readReport, readReportFile, ReportError } from './reports.ts';
import { listTraces, readTrace, RUN_NAME, runDirOf, TraceError } from './traces.ts';

export const PAGE_DIR = fileURLToPath(new URL('./page/', import.meta.url));
export const DASHBOARD_HOST = '127.0.0.1';

/** What the dashboard shows and steers: the society process's own pieces. */
export interface DashboardBackend {
  runId: string;
  runDir: string;
  /** Where all runs live (reports, other runs' traces). */
  runsDir: string;
  nc: NatsConnection;
  control: Pick<ControlHandlers, 'listRoles' | 'swapRole'>;
  roleKinds(): Record<string, RoleKinds>;
  /** Ask one instance to drain and leave (as a swap does to the old ones). */
  drain(instanceId: string): Promise<void>;
  /** Cancel a run. Absent while the control plane has no cancel call: the page says so. */
  cancelRun?: (runId: string) => Promise<string>;
}

export interface DashboardOptions {
  /** The control plane's token: the one credential. */
  token: string;
  /** 0 or absent = any free port. */
  port?: number;
  backend: DashboardBackend;
}

export interface Dashboard {
  readonly port: number;
  /** http://127.0.0.1:PORT/ */
  readonly url: string;
  /** A one-time login link (valid 10 minutes, once). */
  loginUrl(): string;
  close(): Promise<void>;
}

const MAX_URL = 4096;
const MAX_BODY = 256 * 1024;
const MAX_STREAMS = 16;
const INSTANCE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml' };
const PAGE_CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
// Report plots are data: no scripts, no fetches, even when opened on their own.
const SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox";

export class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

const bad = (msg: string) => new HttpError(400, msg);

/** One query parameter: at most once, at most `max` characters, matching `pattern`. */
function param(q: URLSearchParams, name: string, pattern: RegExp, max = 128): string | undefined {
  const all = q.getAll(name);
  if (all.length > 1) throw bad(`${name}: give it once`);
  const v = all[0];
  if (v === undefined || v === '') return undefined;
  if (v.length > max || !pattern.test(v)) throw bad(`${name}: not a valid value (${v.length > 40 ? `${v.slice(0, 40)}…` : v})`);
  return v;
}

function intParam(q: URLSearchParams, name: string, def: number, min: number, max: number): number {
  const v = param(q, name, /^\d{1,6}$/, 6);
  if (v === undefined) return def;
  const n = Number(v);
  if (n < min || n > max) throw bad(`${name}: between ${min} and ${max}`);
  return n;
}

function feedFilter(q: URLSearchParams): FeedFilter {
  return { kind: param(q, 'kind', KIND_PATTERN), role: param(q, 'role', /^[a-z][a-z0-9-]*$/, 64), run: param(q, 'run', RUN_NAME, 200) };
}

function statusOf(err: unknown): number {
  if (err instanceof HttpError || err instanceof ReportError || err instanceof TraceError) return err.status;
  if (err instanceof ControlError) {
    return ({ INVALID_ARGUMENT: 400, NOT_FOUND: 404, FAILED_PRECONDITION: 409, ALREADY_EXISTS: 409, UNIMPLEMENTED: 501, UNAVAILABLE: 503, DEADLINE_EXCEEDED: 504 } as Record<string, number>)[err.code] ?? 500;
  }
  return 500;
}

function send(res: ServerResponse, status: number, body: string | Buffer, type: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, {
    'Content-Type': type,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Content-Security-Policy': PAGE_CSP,
    ...extra,
  });
  res.end(body);
}

const json = (res: ServerResponse, status: number, v: unknown) => send(res, status, JSON.stringify(v), 'application/json; charset=utf-8');

function loginPage(message: string): string {
  const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Troupe dashboard: sign in</title>
<link rel="stylesheet" href="/static/style.css"></head><body class="login"><main>
<h1>Troupe dashboard</h1><p id="login-message">${esc(message)}</p>
<p>Open the one-time link <code>troupe up</code> printed, or paste the control token (<code>token</code> in the run directory's <code>control.json</code>):</p>
<form method="post" action="/login"><input type="password" name="token" autocomplete="off" aria-label="control token" size="48"> <button type="submit">Sign in</button></form>
</main></body></html>`;
}

async function readBody(req: IncomingMessage, max: number): Promise<string> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > max) throw new HttpError(413, `request body over ${max} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > max) throw new HttpError(413, `request body over ${max} bytes`);
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  // A JSON content type cannot be sent cross-origin without a preflight, which this server never grants.
  if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) throw new HttpError(415, 'send Content-Type: application/json');
  const text = await readBody(req, MAX_BODY);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw bad('body is not JSON');
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw bad('body must be a JSON object');
  return v as Record<string, unknown>;
}

function str(body: Record<string, unknown>, key: string): string | undefined {
  const v = body[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw bad(`${key}: must be a string`);
  return v;
}

/** The swap a form asked for: a role and exactly one change, checked as the gRPC door checks it. */
export function swapFromBody(body: Record<string, unknown>): SwapRequest {
  const role = checkRole('role', body.role);
  const impl = str(body, 'impl');
  const model = str(body, 'model');
  const instructions = str(body, 'instructions');
  const given = [impl, model, instructions].filter((v) => v !== undefined).length;
  if (given !== 1) throw bad('give exactly one of impl, model, instructions');
  if (impl !== undefined) return { role, implModule: checkModule('impl', impl) };
  if (model !== undefined) return { role, model: checkModel('model', model) };
  return { role, instructions: checkInstructionsText('instructions', instructions) };
}

export async function startDashboard(opts: DashboardOptions): Promise<Dashboard> {
  const { backend } = opts;
  const auth = new DashboardAuth(opts.token);
  const feed = new MessageFeed().start(backend.nc);
  // The page's files, read once: only these names are ever served.
  const assets = new Map<string, { body: Buffer; type: string }>();
  for (const f of readdirSync(PAGE_DIR)) {
    const type = TYPES[extname(f)];
    if (type && /^[a-z0-9-]+\.[a-z]+$/.test(f)) assets.set(f, { body: readFileSync(join(PAGE_DIR, f)), type });
  }
  if (!assets.has('index.html')) throw new Error(`dashboard: no index.html in ${PAGE_DIR}`);
  const streams = new Set<ServerResponse>();
  let port = 0;

  const hostOk = (h: string | undefined) => !!h && [`127.0.0.1:${port}`, `localhost:${port}`].includes(h.toLowerCase());
  // A browser names the page's origin on every POST; another origin never gets to act.
  const originOk = (o: string | undefined) => o === undefined || o === `http://127.0.0.1:${port}` || o === `http://localhost:${port}`;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawUrl = req.url ?? '/';
    if (rawUrl.length > MAX_URL) throw new HttpError(414, 'URL too long');
    // DNS rebinding: a page on another name that resolves to 127.0.0.1 is not this dashboard.
    if (!hostOk(req.headers.host)) throw new HttpError(421, 'wrong Host: use http://127.0.0.1:PORT/');
    const url = new URL(rawUrl, `http://127.0.0.1:${port}`);
    const q = url.searchParams;
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'POST') throw new HttpError(405, 'GET or POST');
    if (method === 'POST' && !originOk(req.headers.origin)) throw new HttpError(403, 'cross-origin request refused');

    // The login door and the stylesheet the login page uses are the only open paths.
    if (path === '/static/style.css' && method === 'GET') return void send(res, 200, assets.get('style.css')!.body, TYPES['.css']);
    if (path === '/login' && method === 'GET') {
      const code = param(q, 'code', /^[A-Za-z0-9_-]+$/, 64);
      if (code && auth.redeem(code)) return void send(res, 303, '', 'text/plain', { Location: '/', 'Set-Cookie': auth.setCookieHeader() });
      return void send(res, 401, loginPage(code ? 'That login link was already used or has expired.' : 'Sign in to see the society.'), TYPES['.html']);
    }
    if (path === '/login' && method === 'POST') {
      const form = new URLSearchParams(await readBody(req, 4096));
      if (auth.tokenMatches(form.get('token') ?? '')) return void send(res, 303, '', 'text/plain', { Location: '/', 'Set-Cookie': auth.setCookieHeader() });
      return void send(res, 401, loginPage('That is not the control token of this society.'), TYPES['.html']);
    }

    if (!auth.authorized({ authorization: req.headers.authorization, cookie: req.headers.cookie })) {
      if (path.startsWith('/api/')) return json(res, 401, { error: 'unauthorized: sign in with the link troupe up printed, or send Authorization: Bearer <control token>' });
      return void send(res, 401, loginPage('Sign in to see the society.'), TYPES['.html'], { 'WWW-Authenticate': 'Bearer realm="troupe"' });
    }

    if (method === 'GET') {
      if (path === '/' || path === '/index.html') return void send(res, 200, assets.get('index.html')!.body, TYPES['.html']);
      if (path.startsWith('/static/')) {
        const a = assets.get(path.slice('/static/'.length));
        if (!a) throw new HttpError(404, 'no such file');
        return void send(res, 200, a.body, a.type);
      }
      if (path === '/api/society') {
        const instances = await backend.control.listRoles();
        return json(res, 200, {
          runId: backend.runId,
          runDir: backend.runDir,
          now: Date.now(),
          instances,
          graph: buildGraph(instances, backend.roleKinds(), feed.seen(), feed.windowMs),
          runs: feed.runs().slice(0, 50),
          cancelAvailable: !!backend.cancelRun,
        });
      }
      if (path === '/api/messages') return json(res, 200, { events: feed.recent(feedFilter(q), intParam(q, 'limit', 200, 1, 2000)) });
      if (path === '/api/stream') return stream(req, res, feedFilter(q), intParam(q, 'backlog', 200, 0, 2000));
      if (path === '/api/traces') {
        const run = param(q, 'run', RUN_NAME);
        const dir = run ? runDirOf(backend.runsDir, run) : backend.runDir;
        return json(res, 200, { run: run ?? backend.runId, ...(await listTraces(dir, intParam(q, 'limit', 100, 1, 1000))) });
      }
      if (path === '/api/trace') {
        const id = param(q, 'id', /^[0-9a-fA-F]+$/, 32);
        if (!id) throw bad('id: a trace id is required');
        const run = param(q, 'run', RUN_NAME);
        return json(res, 200, { run: run ?? backend.runId, ...(await readTrace(run ? runDirOf(backend.runsDir, run) : backend.runDir, id)) });
      }
      if (path === '/api/reports') return json(res, 200, { reports: listReports(backend.runsDir) });
      if (path === '/api/report') {
        const id = param(q, 'id', /^[A-Za-z0-9._/-]+$/, 260);
        if (!id) throw bad('id: a report id is required');
        return json(res, 200, readReport(backend.runsDir, id));
      }
      if (path === '/api/report-file') {
        const id = param(q, 'id', /^[A-Za-z0-9._/-]+$/, 260);
        const file = param(q, 'file', /^[A-Za-z0-9._-]+$/, 140);
        if (!id || !file) throw bad('id and file are required');
        return void send(res, 200, readReportFile(backend.runsDir, id, file), TYPES['.svg'], { 'Content-Security-Policy': SVG_CSP });
      }
      throw new HttpError(404, 'not found');
    }

    // POST: the actions.
    if (path === '/api/swap') {
      const r = await backend.control.swapRole(swapFromBody(await readJson(req)));
      return json(res, 200, r);
    }
    if (path === '/api/drain') {
      const instance = str(await readJson(req), 'instance');
      if (!instance || !INSTANCE_ID.test(instance)) throw bad('instance: an instance id');
      const live = await backend.control.listRoles();
      if (!live.some((r) => r.instanceId === instance)) throw new HttpError(404, `no live instance ${instance}`);
      await backend.drain(instance);
      return json(res, 200, { instance, message: `${instance} drained and left` });
    }
    if (path === '/api/cancel') {
      const run = str(await readJson(req), 'run');
      if (!run || !RUN_NAME.test(run)) throw bad('run: a run id');
      if (!backend.cancelRun) {
        throw new HttpError(501, 'run cancellation is not available in this build: the control plane has no cancel call yet (troupe cancel RUN is coming)');
      }
      return json(res, 200, { run, message: await backend.cancelRun(run) });
    }
    throw new HttpError(404, 'not found');
  }

  function stream(req: IncomingMessage, res: ServerResponse, filter: FeedFilter, backlog: number): void {
    if (streams.size >= MAX_STREAMS) throw new HttpError(429, `at most ${MAX_STREAMS} open streams`);
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', Connection: 'keep-alive' });
    streams.add(res);
    const write = (ev: { seq: number }) => res.write(`id: ${ev.seq}\ndata: ${JSON.stringify(ev)}\n\n`);
    for (const ev of feed.recent(filter, backlog)) write(ev);
    const off = feed.subscribe((ev) => {
      if (matches(ev, filter)) write(ev);
    });
    // A comment every 15 s keeps proxies and the browser from timing the stream out.
    const beat = setInterval(() => res.write(': beat\n\n'), 15_000);
    const end = () => {
      clearInterval(beat);
      off();
      streams.delete(res);
    };
    req.on('close', end);
    res.on('close', end);
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      const status = statusOf(err);
      const message = redactText(err instanceof Error ? err.message : String(err));
      if (status >= 500 && status !== 501) console.error(`dashboard: ${req.method} ${(req.url ?? '').slice(0, 200)}: ${message}`);
      if (res.headersSent) return void res.end();
      json(res, status, { error: message });
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 300_000; // a swap waits for the new instances and the old ones' drain
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`dashboard: cannot listen on ${DASHBOARD_HOST}:${opts.port ?? 0}: ${err.message}`)));
    server.listen(opts.port ?? 0, DASHBOARD_HOST, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  const url = `http://${DASHBOARD_HOST}:${port}/`;
  return {
    port,
    url,
    loginUrl: () => `${url}login?code=${auth.newLoginCode()}`,
    close: () =>
      new Promise<void>((resolve) => {
        feed.close();
        for (const s of streams) s.end();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
