// Every role of the design card is a machine the runtime hosts: `troupe up` with scriptwriter,
// critic, actor, user-simulator, verifier, evolver and learner starts one worker each, and `troupe ps`
// lists all seven, ready. (The roles' work is tested elsewhere: tests/dialogue, tests/evolver,
// tests/learner; here, that each loads from the role table, registers and serves.)
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { natsServerAvailable } from '../../runtime/nats/embedded.ts';
import { TAU2_DATA } from '../helpers/tau2.ts';
import { connectNats } from '../../runtime/nats/connect.ts';
import { readNatsCredentials } from '../../runtime/society/state.ts';
import { callRpc } from '../../runtime/rpc/rpc.ts';
import { UserTurnAnswered, UserTurnAsked, userTurnSubject } from '../../protocols/dialogue.ts';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'troupe.js');
const home = mkdtempSync(join(tmpdir(), 'troupe-all-roles-'));
const env: NodeJS.ProcessEnv = { ...process.env, TROUPE_RUNS_DIR: join(home, 'runs'), TAU2_DATA_DIR: TAU2_DATA };
delete env.TROUPE_NATS_URL;
const ROLES = ['scriptwriter', 'critic', 'actor', 'user-simulator', 'verifier', 'evolver', 'learner'];
const config = join(home, 'society.json');
writeFileSync(config, JSON.stringify({ roles: Object.fromEntries(ROLES.map((r) => [r, {}])) }));
let up: ChildProcess | undefined;

const troupe = (...args: string[]) => run(process.execPath, [BIN, ...args], { env, timeout: 120_000 });

afterAll(() => {
  if (up && up.exitCode === null) up.kill('SIGKILL');
  rmSync(home, { recursive: true, force: true });
});

describe('the seven roles in one society', () => {
  it('troupe ps lists scriptwriter, critic, actor, user-simulator, verifier, evolver and learner', async () => {
    if (!natsServerAvailable()) throw new Error('nats-server is missing: install it (apt-get install nats-server)');
    let out = '';
    up = spawn(process.execPath, [BIN, 'up', '--config', config, '--run-id', 'all-roles'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    up.stdout!.on('data', (b) => (out += b));
    up.stderr!.on('data', (b) => (out += b));
    for (let i = 0; i < 600 && !existsSync(join(home, 'runs', 'all-roles', 'control.json')); i++) {
      if (up.exitCode !== null) throw new Error(`troupe up exited with ${up.exitCode}: ${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    type Row = { role: string; implementation: string; state: string };
    let rows: Row[] = [];
    for (let i = 0; i < 120; i++) {
      rows = (JSON.parse((await troupe('ps', '--json', '--run-id', 'all-roles')).stdout) as { roles: Row[] }).roles;
      if (rows.filter((r) => r.state === 'ready').length >= ROLES.length) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    expect(rows.map((r) => r.role).sort(), out.slice(-3000)).toEqual([...ROLES].sort());
    expect(rows.every((r) => r.state === 'ready')).toBe(true);
    expect(Object.fromEntries(rows.map((r) => [r.role, r.implementation]))).toMatchObject({ actor: 'actor-llm@1', 'user-simulator': 'user-simulator-llm@1', evolver: 'evolver@1', learner: 'learner@1' });
    const table = (await troupe('ps', '--run-id', 'all-roles')).stdout;
    for (const r of ROLES) expect(table).toMatch(new RegExp(`^${r}\\s`, 'm'));
    // The user simulator's machine answers on its request subject in the society: a turn without a
    // task is refused by its guard, as an rpc-error naming why (no model call needed).
    const nc = await connectNats(readNatsCredentials(join(home, 'runs', 'all-roles'))!);
    try {
      const turn = callRpc(nc, userTurnSubject('mock'), UserTurnAsked, { dialogueId: 'd1', domain: 'mock', history: [] }, UserTurnAnswered, { from: { role: 'test', instance: 'test' }, timeoutMs: 30_000 });
      await expect(turn).rejects.toThrow(/without taskId: the user simulator needs the task/);
    } finally {
      await nc.close();
    }
    await troupe('down', '--run-id', 'all-roles');
  }, 240_000);
});
