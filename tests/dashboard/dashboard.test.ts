// The dashboard in a real headless Chromium against a real society (the runtime's three-stage test
// pipeline, real worker processes, a real nats-server): it refuses requests without the control
// token, shows the society as a graph with live edge rates, streams messages with filters, opens a
// trace, shows a run report with its plot, and a swap / drain made from the page shows in the
// control plane and in `troupe ps`. Set TROUPE_DASHBOARD_SHOTS=docs/img to refresh the screenshots.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FunnelSummary } from '../../actors/kit/funnel.ts';
import { funnelSvg, reportMarkdown } from '../../cli/drivers/synth/report.ts';
import { PipelineStage0 } from '../../protocols/runtime-messages.ts';
import { createControlClient, readControlEndpoint, type ControlClient } from '../../runtime/control/index.ts';
import { startSocietyDashboard, type Dashboard } from '../../runtime/dashboard/index.ts';
import { Bus } from '../../runtime/nats/bus.ts';
import { RunHandle, getRun, openRuns } from '../../runtime/registry/runs.ts';
import { parseSocietyConfig } from '../../runtime/society/config.ts';
import { Society } from '../../runtime/society/society.ts';
import { TEST_ROLES } from '../fixtures/roles/catalog.ts';
import { launchChromium } from '../helpers/browser.ts';
import { startTestNats, type TestNats } from '../helpers/nats.ts';

const REPO = resolve(import.meta.dirname, '../..');
const SHOTS = process.env.TROUPE_DASHBOARD_SHOTS ? resolve(REPO, process.env.TROUPE_DASHBOARD_SHOTS) : mkdtempSync(join(tmpdir(), 'troupe-dashboard-shots-'));
const REPORT_RUN = 'synth-mock-demo';

let nats: TestNats;
let society: Society;
let dashboard: Dashboard;
let control: ControlClient;
let browser: Browser;
let page: Page;
let feeding = true;
let feeder: Promise<void>;

/** A raw HTTP request (node:http, so Host and Cookie are exactly what the test says). */
function http(path: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((ok, fail) => {
    const req = request({ host: '127.0.0.1', port: dashboard.port, path, method: opts.method ?? 'GET', headers: { Host: `127.0.0.1:${dashboard.port}`, ...opts.headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => ok({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      // An SSE stream never ends by itself: the headers are what the test wants.
      if ((res.headers['content-type'] ?? '').startsWith('text/event-stream')) {
        ok({ status: res.statusCode!, headers: res.headers, body: '' });
        req.destroy();
      }
    });
    req.on('error', fail);
    req.end(opts.body);
  });
}

function writeSynthReport(runsRoot: string): void {
  const s: FunnelSummary = {
    runId: REPORT_RUN, items: 8, plansIssued: 2, plansRejected: 0, drafted: 8, proposed: 8, revisionsRequested: 2, acceptedByCritic: 6,
    checkerValidated: 5, dialoguesPlayed: 5, dialoguePassed: 3, dialogueFailed: 2, dropped: { 'critic rejected': 2, 'checker invalid': 1 },
    blame: { actor: 1, 'user-simulator': 1 }, blameKinds: {}, terminal: 8, tokens: { prompt: 41_000, completion: 9_500 }, checkerOrigins: {},
    dropReasons: [], failures: [],
  };
  const out = join(runsRoot, REPORT_RUN, 'synth');
  mkdirSync(out, { recursive: true });
  const info = { runId: REPORT_RUN, domain: 'mock', plans: 2, tasksPerPlan: 4, startedAt: Date.now() - 95_000, endedAt: Date.now(), models: { scriptwriter: 'local', critic: 'local' }, instructions: { critic: 3 }, complete: true };
  writeFileSync(join(out, 'funnel.svg'), funnelSvg(s, `troupe synth mock — ${REPORT_RUN}`));
  writeFileSync(join(out, 'report.md'), reportMarkdown(info, s, 'funnel.svg'));
}

async function shot(name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `dashboard-${name}.png`) as `${string}.png` });
}

async function until<T>(what: string, f: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const bearer = () => ({ Authorization: `Bearer ${society.controlToken}` });

beforeAll(async () => {
  nats = await startTestNats();
  process.env.TROUPE_RUNS_DIR = nats.dir;
  writeSynthReport(nats.dir);
  society = new Society({
    catalog: TEST_ROLES,
    config: parseSocietyConfig({ roles: { 'stage-a': {}, 'stage-b': {}, 'stage-c': { replicas: 2 } } }),
    nats: nats.settings,
    log: () => {},
  });
  const [b] = await Promise.all([launchChromium(), society.start()]);
  browser = b;
  dashboard = await startSocietyDashboard(society);
  const ep = readControlEndpoint(society.runDir);
  control = createControlClient(ep.address, ep.token);
  // A steady trickle of work through the pipeline, so the graph has rates and the stream has rows.
  const bus = new Bus(nats.nc, { role: 'feeder', instance: 'feeder-dashboard' });
  feeder = (async () => {
    for (let seq = 0; feeding; seq++) {
      await bus.publish(PipelineStage0, { seq, payload: `item ${seq}`, hops: [] }, { key: `dash-${seq}` });
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  page = await browser.newPage();
  page.on('dialog', (d) => void d.accept());
}, 120_000);

afterAll(async () => {
  feeding = false;
  await feeder;
  await browser?.close();
  control?.close();
  await dashboard?.close();
  await society?.stop();
  await nats?.stop();
});

describe('the dashboard door', () => {
  it('refuses every request without the control token, and lets the token and a one-time link in', async () => {
    for (const path of ['/', '/index.html', '/static/app.js', '/api/society', '/api/messages', '/api/stream', '/api/traces', '/api/reports', `/api/report?id=${REPORT_RUN}/synth`]) {
      expect((await http(path)).status, path).toBe(401);
    }
    const swap = JSON.stringify({ role: 'stage-b', model: 'x' });
    expect((await http('/api/swap', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: swap })).status).toBe(401);
    expect((await http('/api/society', { headers: { Authorization: 'Bearer not-the-token' } })).status).toBe(401);
    expect((await http('/api/society', { headers: { Cookie: 'troupe_dashboard=forged' } })).status).toBe(401);
    expect((await http('/api/society', { headers: { Authorization: `Basic ${Buffer.from(`x:${society.controlToken}`).toString('base64')}` } })).status).toBe(401);
    // Only the one credential: the bearer token opens the API; a name other than 127.0.0.1/localhost does not.
    expect((await http('/api/society', { headers: bearer() })).status).toBe(200);
    expect((await http('/api/society', { headers: { ...bearer(), Host: `evil.example:${dashboard.port}` } })).status).toBe(421);
    expect((await http('/api/swap', { method: 'POST', headers: { ...bearer(), 'Content-Type': 'application/json', Origin: 'http://evil.example' }, body: swap })).status).toBe(403);

    // A login link works once; its cookie then opens the page.
    const link = new URL(dashboard.loginUrl());
    const first = await http(link.pathname + link.search);
    expect(first.status).toBe(303);
    const cookie = String(first.headers['set-cookie']).split(';')[0];
    expect(cookie).toMatch(/^troupe_dashboard=/);
    expect(String(first.headers['set-cookie'])).toMatch(/HttpOnly/);
    expect(cookie).not.toContain(society.controlToken!);
    expect((await http(link.pathname + link.search)).status).toBe(401);
    expect((await http('/api/society', { headers: { Cookie: cookie } })).status).toBe(200);

    // Bounded inputs: a bad filter or trace id is a 400 naming the parameter, not a crash.
    expect((await http('/api/messages?kind=../../etc', { headers: bearer() })).body).toMatch(/kind/);
    expect((await http(`/api/messages?limit=999999`, { headers: bearer() })).status).toBe(400);
    expect((await http(`/api/trace?id=${'z'.repeat(40)}`, { headers: bearer() })).status).toBe(400);
    expect((await http(`/api/report?id=../../etc`, { headers: bearer() })).status).toBe(400);
    expect((await http(`/api/report-file?id=${REPORT_RUN}/synth&file=report.md`, { headers: bearer() })).status).toBe(400);

    // The browser, without the cookie, gets the sign-in page and no data.
    const ctx = await browser.createBrowserContext();
    const anon = await ctx.newPage();
    const res = await anon.goto(dashboard.url);
    expect(res?.status()).toBe(401);
    expect(await anon.$eval('#login-message', (e) => e.textContent)).toMatch(/Sign in/);
    expect(await anon.$('#view')).toBeNull();
    await ctx.close();
  });
});

describe('the dashboard page', () => {
  it('signs in with the one-time link and shows the running society as a graph with live rates', async () => {
    await page.goto(dashboard.loginUrl());
    expect(page.url()).toBe(dashboard.url);
    await page.waitForSelector('.node[data-role="stage-c"]');
    const titles = await page.$$eval('.node.role .node-title', (els) => els.map((e) => e.textContent));
    expect(titles).toEqual(expect.arrayContaining(['stage-a', 'stage-b', 'stage-c']));
    // stage-a → stage-b → stage-c along the kinds they declare; the feeder shows as an outside sender.
    const edges = () => page.$$eval('.edge', (els) => els.map((e) => ({ from: e.getAttribute('data-from'), to: e.getAttribute('data-to'), kind: e.getAttribute('data-kind'), rate: Number(e.getAttribute('data-rate')) })));
    await until('a live rate on stage-a → stage-b', async () => (await edges()).some((e) => e.from === 'stage-a' && e.to === 'stage-b' && e.kind === 'pipeline.stage1' && e.rate > 0));
    const all = await edges();
    expect(all).toContainEqual(expect.objectContaining({ from: 'stage-b', to: 'stage-c', kind: 'pipeline.stage2' }));
    expect(all).toContainEqual(expect.objectContaining({ from: 'feeder', to: 'stage-a', kind: 'pipeline.stage0' }));
    // The node counts what the registry holds (the control plane's ListRoles), refreshed every 2 s.
    await until('stage-c with its instance count', async () => {
      const n = (await control.listRoles('stage-c')).length;
      return n >= 2 && (await page.$eval('.node[data-role="stage-c"]', (e) => e.textContent))?.includes(`${n} instances`);
    });
    expect(await page.$eval('.node[data-role="stage-b"]', (e) => e.textContent)).toMatch(/stage-b@1/);
    // Handled counts arrive with the instances' heartbeats (every 2 s).
    await page.waitForFunction(`/handled [1-9]/.test(document.querySelector('.node[data-role="stage-c"]')?.textContent ?? '')`, { timeout: 20_000 });
    await page.click('.node[data-role="stage-b"]');
    await page.waitForSelector('#role-panel tr[data-instance]');
    await shot('graph');
  });

  it('streams messages, filtered by kind', async () => {
    await page.goto(`${dashboard.url}#/messages?kind=pipeline.stage2`);
    await page.waitForFunction(`document.querySelectorAll('#messages tbody tr').length >= 5`);
    const kinds = await page.$$eval('#messages tbody tr', (rows) => rows.map((r) => r.getAttribute('data-kind')));
    expect(new Set(kinds)).toEqual(new Set(['pipeline.stage2']));
    expect(await page.$$eval('#messages tbody tr', (rows) => rows.map((r) => r.getAttribute('data-role')))).toContain('stage-b');
    // And by sending role, all kinds.
    await page.goto(`${dashboard.url}#/messages?role=stage-a`);
    await page.waitForFunction(`document.querySelectorAll('#messages tbody tr').length >= 5`);
    expect(new Set(await page.$$eval('#messages tbody tr', (rows) => rows.map((r) => r.getAttribute('data-role'))))).toEqual(new Set(['stage-a']));
    await page.goto(`${dashboard.url}#/messages`);
    await page.waitForFunction(`document.querySelectorAll('#messages tbody tr').length >= 12`);
    await shot('stream');
  });

  it('opens a trace from the stream: the tree across the three stages, with a timeline', async () => {
    await page.goto(`${dashboard.url}#/messages?kind=pipeline.done`);
    await page.waitForSelector('#messages tbody tr a.trace-link');
    const href = await page.$eval('#messages tbody tr:last-child a.trace-link', (a) => a.getAttribute('href')!);
    const traceId = href.replace('#/trace/', '');
    // Workers write spans every 200 ms: wait until this trace's last stage is on disk, then open it.
    await until('the trace on disk', async () => {
      const r = await http(`/api/trace?id=${traceId}`, { headers: bearer() });
      return r.status === 200 && JSON.parse(r.body).rows.some((x: { name: string }) => x.name === 'handle stage-c pipeline.stage2');
    });
    await page.click(`a.trace-link[href="${href}"]`);
    await page.waitForSelector('#trace tbody tr');
    expect(await page.$eval('#trace-title', (e) => e.textContent)).toContain(traceId);
    const names = await page.$$eval('#trace tbody td.span-name', (tds) => tds.map((t) => t.textContent));
    for (const n of ['handle stage-a pipeline.stage0', 'handle stage-b pipeline.stage1', 'handle stage-c pipeline.stage2']) expect(names).toContain(n);
    // Causal order: stage-a's handling comes before stage-b's, which comes before stage-c's.
    expect(names.indexOf('handle stage-a pipeline.stage0')).toBeLessThan(names.indexOf('handle stage-b pipeline.stage1'));
    expect(names.indexOf('handle stage-b pipeline.stage1')).toBeLessThan(names.indexOf('handle stage-c pipeline.stage2'));
    expect(await page.$$eval('#trace .bar', (bars) => bars.length)).toBe(names.length);
    await shot('trace');
    // The list of traces links to it too.
    await page.goto(`${dashboard.url}#/traces`);
    await page.waitForSelector(`#traces a[href="#/trace/${traceId}"]`);
  });

  it('shows a run report with its plot', async () => {
    await page.goto(`${dashboard.url}#/reports`);
    await page.waitForSelector('#report img.plot');
    await page.waitForFunction(`[...document.querySelectorAll('#report img.plot')].every((i) => i.complete && i.naturalWidth > 0)`);
    expect(await page.$eval('#report h2', (e) => e.textContent)).toBe(`Synthesis run ${REPORT_RUN}`);
    expect(await page.$$eval('#report table.md-table', (t) => t.length)).toBeGreaterThan(0);
    expect(await page.$eval('#report-list', (e) => e.textContent)).toContain(`${REPORT_RUN}/synth`);
    await shot('reports');
  });

  it('swaps a role from the page; the control plane and troupe ps show the new implementation', async () => {
    await page.goto(`${dashboard.url}#/society`);
    await page.waitForSelector('.node[data-role="stage-b"]');
    await page.click('.node[data-role="stage-b"]');
    await page.waitForSelector('#swap-form textarea');
    await page.select('#swap-form select', 'impl');
    await page.type('#swap-form textarea', 'tests/fixtures/roles/stage-b-v2.ts');
    await page.click('#swap-form button[type="submit"]');
    await page.waitForSelector('#swap-result.ok', { timeout: 60_000 });
    expect(await page.$eval('#swap-result', (e) => e.textContent)).toMatch(/stage-b now serves stage-b@2/);

    const live = await control.listRoles('stage-b');
    expect(live.map((r) => r.implementation)).toEqual(['stage-b@2']);
    const { stdout } = await promisify(execFile)(process.execPath, [join(REPO, 'bin/troupe.js'), 'ps', '--json', '--run-id', society.runId], { env: { ...process.env, TROUPE_RUNS_DIR: nats.dir }, cwd: REPO });
    const ps = JSON.parse(stdout) as { roles: { role: string; implementation: string }[] };
    expect(ps.roles.filter((r) => r.role === 'stage-b').map((r) => r.implementation)).toEqual(['stage-b@2']);
    await page.waitForFunction(`document.querySelector('.node[data-role="stage-b"]')?.textContent?.includes('stage-b@2')`);
  }, 90_000);

  it('drains one instance from the page, and cancels a run from it (an unknown run is refused)', async () => {
    const before = await control.listRoles('stage-c');
    expect(before).toHaveLength(2);
    await page.click('.node[data-role="stage-c"]');
    await page.waitForSelector(`#role-panel tr[data-instance="${before[0].instanceId}"] button.drain`);
    await page.click(`#role-panel tr[data-instance="${before[0].instanceId}"] button.drain`);
    await page.waitForSelector('#notice.ok', { timeout: 60_000 });
    expect((await control.listRoles('stage-c')).map((r) => r.instanceId)).toEqual([before[1].instanceId]);

    await page.goto(`${dashboard.url}#/messages?run=some-run`);
    await page.click('#cancel-run');
    await page.waitForSelector('#notice.error');
    expect(await page.$eval('#notice', (e) => e.textContent)).toMatch(/no run "some-run" in the run table/);

    const run = await RunHandle.start(nats.nc, 'dash-run', 'test');
    await page.goto(`${dashboard.url}#/messages?run=dash-run`);
    await page.click('#cancel-run');
    await page.waitForSelector('#notice.ok', { timeout: 30_000 });
    expect((await getRun(await openRuns(nats.nc), 'dash-run'))?.state).toBe('cancelled');
    expect(await run.cancelled()).toBe(true);
  }, 90_000);
});
