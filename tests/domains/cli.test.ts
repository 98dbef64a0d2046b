// `troupe tau2 tools | replay | grade` through the command module (real τ² data, temp files).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/commands/tau2.ts';
import { dumps, parse } from '../../domains/pycompat/pyjson.ts';

import { TAU2_LEGACY_DATA } from '../helpers/tau2.ts';

let logs: string[];
beforeEach(() => {
  logs = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void logs.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void logs.push(a.join(' ')));
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
});
afterEach(() => vi.restoreAllMocks());

describe('troupe tau2', () => {
  it('tools --json prints the OpenAI schemas; plain tools lists signatures', async () => {
    expect(await main(['tools', '--domain', 'retail', '--json'])).toBe(0);
    const schemas = JSON.parse(logs.join('\n'));
    expect(schemas).toHaveLength(16);
    expect(schemas[0]).toMatchObject({ type: 'function', function: { name: 'calculate', parameters: { required: ['expression'] } } });
    logs = [];
    expect(await main(['tools', '--domain', 'mock', '--user'])).toBe(0);
    expect(logs[0]).toBe('check_notifications()  [read]');
    expect(await main(['tools', '--domain', 'airline', '--user'])).toBe(2);
  });

  it('replay writes one {task_id, agent_db, user_db} line per task with Python JSON text', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'troupe-replay-')), 'mock.jsonl');
    expect(await main(['replay', '--domain', 'mock', '--out', out])).toBe(0);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(10);
    const first = parse(lines[0]) as any;
    expect(Object.keys(first)).toEqual(['task_id', 'agent_db', 'user_db']);
    expect(first.task_id).toBe('create_task_1');
    expect(first.agent_db.tasks.task_2).toEqual({ task_id: 'task_2', title: 'Important Meeting', description: null, status: 'pending' });
    expect(lines[0]).toContain('"description": null'); // Python separators, nulls kept
  });

  it('replay of a task file on a domain without a user side writes user_db null', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'troupe-replay-'));
    // three legacy v0.2.0 tasks, written back with Python number types intact
    const legacy = parse(readFileSync(join(TAU2_LEGACY_DATA, 'tau2/domains/airline/tasks.json'), 'utf8')) as unknown[];
    writeFileSync(join(dir, 'tasks.json'), dumps(legacy.slice(0, 3)));
    const out = join(dir, 'a.jsonl');
    expect(await main(['replay', '--domain', 'airline', '--tasks', join(dir, 'tasks.json'), '--out', out])).toBe(0);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0].endsWith(', "user_db": null}')).toBe(true);
  });

  it('errors: unknown subcommand, unknown domain, missing options; grade is delegated', async () => {
    expect(await main(['frobnicate'])).toBe(2);
    await expect(main(['tools', '--domain', 'nope'])).rejects.toThrow(/unknown τ² domain "nope"; known domains: mock, airline, retail/);
    expect(await main(['replay', '--domain', 'mock'])).toBe(2);
    expect(await main(['grade', '--help'])).toBe(0);
    expect(logs.join('\n')).toContain('usage: troupe tau2 grade');
  });
});
