// The dashboard's pure parts: edges from role kinds and bus senders, layers along the flow, report
// paths that cannot leave the runs directory, one-time login codes and the session cookie.
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RoleInstance } from '../../runtime/control/types.ts';
import { cookieValue, DashboardAuth, sessionValue } from '../../runtime/dashboard/auth.ts';
import { buildGraph, OUTSIDE_IN, OUTSIDE_OUT } from '../../runtime/dashboard/graph.ts';
import { listReports, readReport, readReportFile } from '../../runtime/dashboard/reports.ts';
import { swapFromBody } from '../../runtime/dashboard/server.ts';

const inst = (role: string, id: string, extra: Partial<RoleInstance> = {}): RoleInstance => ({
  role, implementation: `${role}@1`, version: '1', instanceId: id, host: 'h', pid: 1, heartbeatMs: 0, inFlight: 1, model: '',
  handled: 10, failed: 0, deadLettered: 0, instructionsRevision: 0, state: 'ready', ...extra,
});

describe('society graph', () => {
  const kinds = {
    scriptwriter: { consumes: ['plan.issued', 'task.revise'], produces: ['task.proposed'] },
    critic: { consumes: ['task.proposed'], produces: ['task.accepted', 'task.revise'] },
    verifier: { consumes: ['task.accepted'], produces: ['task.ready'] },
  };

  it('draws producer → consumer edges per kind, with rates, outside senders and sinks', () => {
    const seen = new Map([['plan.issued', new Map([['synth-driver', 20]])], ['task.proposed', new Map([['scriptwriter', 5]])]]);
    const g = buildGraph([inst('critic', 'c1', { instructionsRevision: 3 }), inst('critic', 'c2', { instructionsRevision: 4, state: 'draining' }), inst('scriptwriter', 's1')], kinds, seen, 10_000);
    const e = (from: string, to: string, kind: string) => g.edges.find((x) => x.from === from && x.to === to && x.kind === kind);
    expect(e('scriptwriter', 'critic', 'task.proposed')).toMatchObject({ count: 5, rate: 0.5 });
    expect(e('critic', 'scriptwriter', 'task.revise')).toMatchObject({ count: 0, rate: 0 });
    expect(e('synth-driver', 'scriptwriter', 'plan.issued')).toMatchObject({ rate: 2 });
    expect(e('verifier', OUTSIDE_OUT, 'task.ready')).toBeDefined();
    expect(g.nodes.find((n) => n.id === OUTSIDE_IN)).toBeUndefined(); // every consumed kind has a producer here
    const critic = g.nodes.find((n) => n.id === 'critic')!;
    expect(critic).toMatchObject({ instances: 2, states: { ready: 1, draining: 1 }, instructionsRevisions: [3, 4], inFlight: 2, handled: 20 });
    expect(g.nodes.find((n) => n.id === 'synth-driver')!.type).toBe('sender');
    expect(g.nodes.find((n) => n.id === 'verifier')!.instances).toBe(0);
    // Layers follow the flow; the critic → scriptwriter revision loop does not push the scriptwriter right.
    const layer = Object.fromEntries(g.nodes.map((n) => [n.id, n.layer]));
    expect(layer['synth-driver']).toBe(0);
    expect(layer.scriptwriter).toBe(1);
    expect(layer.critic).toBe(2);
    expect(layer.verifier).toBe(3);
    expect(layer[OUTSIDE_OUT]).toBe(4);
  });

  it('a consumed kind nobody produces comes from outside', () => {
    const g = buildGraph([], { scriptwriter: kinds.scriptwriter }, new Map(), 10_000);
    expect(g.edges.filter((x) => x.from === OUTSIDE_IN).map((x) => x.kind).sort()).toEqual(['plan.issued', 'task.revise']);
  });
});

describe('reports on disk', () => {
  const root = mkdtempSync(join(tmpdir(), 'troupe-reports-'));
  mkdirSync(join(root, 'run-1', 'synth'), { recursive: true });
  writeFileSync(join(root, 'run-1', 'synth', 'report.md'), '# Synthesis run run-1\n\n![funnel](funnel.svg)\n');
  writeFileSync(join(root, 'run-1', 'synth', 'funnel.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  mkdirSync(join(root, 'train-sft-x'), { recursive: true });
  writeFileSync(join(root, 'train-sft-x', 'report.md'), '# sft\n');
  const outside = mkdtempSync(join(tmpdir(), 'troupe-outside-'));
  writeFileSync(join(outside, 'secret.svg'), '<svg/>');
  symlinkSync(outside, join(root, 'run-1', 'escape'));
  symlinkSync(join(outside, 'secret.svg'), join(root, 'run-1', 'synth', 'link.svg'));

  it('lists synth, evolve and train reports with their plots', () => {
    const r = listReports(root);
    expect(r.map((x) => [x.id, x.kind, x.title])).toEqual(expect.arrayContaining([['run-1/synth', 'synth', 'Synthesis run run-1'], ['train-sft-x', 'train', 'sft']]));
    expect(r.find((x) => x.id === 'run-1/synth')!.plots).toContain('funnel.svg');
    expect(readReport(root, 'run-1/synth').markdown).toMatch(/^# Synthesis/);
    expect(readReportFile(root, 'run-1/synth', 'funnel.svg').toString()).toMatch(/<svg/);
  });

  it('never leaves the runs directory', () => {
    for (const id of ['..', '../x', 'run-1/../..', '/etc', 'run-1/synth/x', '.hidden']) expect(() => readReport(root, id), id).toThrow(/report id|no report/);
    expect(() => readReport(root, 'run-1/escape')).toThrow(/no report/);
    expect(() => readReportFile(root, 'run-1/synth', 'report.md')).toThrow(/svg/);
    expect(() => readReportFile(root, 'run-1/synth', '../funnel.svg')).toThrow(/svg/);
    expect(() => readReportFile(root, 'run-1/synth', 'link.svg')).toThrow(/no link.svg/);
  });
});

describe('sign-in', () => {
  it('a login code works once; the cookie is derived from the token, not the token', () => {
    const auth = new DashboardAuth('tok-123');
    const code = auth.newLoginCode();
    expect(auth.redeem(code)).toBe(true);
    expect(auth.redeem(code)).toBe(false);
    const late = auth.newLoginCode(0);
    expect(auth.redeem(late, 11 * 60_000)).toBe(false);
    const cookie = auth.setCookieHeader();
    expect(cookie).toContain(sessionValue('tok-123'));
    expect(cookie).not.toContain('tok-123');
    expect(auth.authorized({ cookie: `a=b; troupe_dashboard=${sessionValue('tok-123')}` })).toBe(true);
    expect(auth.authorized({ cookie: `troupe_dashboard=${sessionValue('other')}` })).toBe(false);
    expect(auth.authorized({ authorization: 'Bearer tok-123' })).toBe(true);
    expect(auth.authorized({ authorization: 'Bearer tok-1234' })).toBe(false);
    expect(auth.authorized({})).toBe(false);
    expect(cookieValue('x=1; troupe_dashboard=v', 'troupe_dashboard')).toBe('v');
  });

  it('a swap from the page is checked like a control-plane swap', () => {
    expect(swapFromBody({ role: 'critic', model: 'qwen2.5-7b' })).toEqual({ role: 'critic', model: 'qwen2.5-7b' });
    expect(() => swapFromBody({ role: 'critic', model: 'a', impl: 'b.ts' })).toThrow(/exactly one/);
    expect(() => swapFromBody({ role: '../x', model: 'a' })).toThrow(/role/);
    expect(() => swapFromBody({ role: 'critic', impl: 'x.sh' })).toThrow(/impl/);
    expect(() => swapFromBody({ role: 'critic', instructions: 'x'.repeat(200 * 1024) })).toThrow(/instructions/);
  });
});
