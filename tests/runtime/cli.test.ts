// End to end through the CLI: `troupe up` with no NATS URL starts an embedded nats-server; `troupe ps
// --json` lists the roles; `troupe swap` replaces one over the gRPC control plane; `troupe down` stops
// the society, its workers and the embedded server.
import { fileURLToPath } from 'node:url';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { isAlive, SocietyStateSchema, type SocietyState } from '../../runtime/society/state.ts';
import { createControlClient, readControlEndpoint } from '../../runtime/control/index.ts';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'troupe.js');
const home = mkdtempSync(join(tmpdir(), 'troupe-cli-'));
const env = { ...process.env, TROUPE_RUNS_DIR: join(home, 'runs'), TROUPE_NATS_URL: '' };
delete (env as Record<string, string | undefined>).TROUPE_NATS_URL;
let up: ChildProcess | undefined;
// The runtime's test pipeline, named explicitly so the test does not depend on `troupe up`'s default.
const config = join(home, 'society.json');
// The test pipeline's roles are not in the CLI's role table: they are named by module path.
const stage = (r: string) => fileURLToPath(new URL(`../fixtures/roles/${r}.ts`, import.meta.url));
writeFileSync(config, JSON.stringify({ roles: { 'stage-a': { impl: stage('stage-a') }, 'stage-b': { impl: stage('stage-b') }, 'stage-c': { impl: stage('stage-c') } } }));

const troupe = (...args: string[]) => run(process.execPath, [BIN, ...args], { env, timeout: 120_000 });

async function waitForState(runId: string): Promise<SocietyState> {
  const file = join(home, 'runs', runId, 'society.json');
  for (let i = 0; i < 600; i++) {
    if (existsSync(file)) return SocietyStateSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
    if (up?.exitCode !== null) throw new Error(`troupe up exited with ${up?.exitCode}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('troupe up did not write its state file within 60 s');
}

afterAll(() => {
  if (up && up.exitCode === null) up.kill('SIGKILL');
  rmSync(home, { recursive: true, force: true });
});

describe('troupe up / ps / swap / down', () => {
  it('runs a society on an embedded nats-server and controls it from other processes', async () => {
    let out = '';
    up = spawn(process.execPath, [BIN, 'up', '--config', config, '--run-id', 'cli-test'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    up.stdout!.on('data', (b) => (out += b));
    up.stderr!.on('data', (b) => (out += b));
    const state = await waitForState('cli-test');
    expect(state.embeddedNats).toBe(true);
    expect(state.natsUrl).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/);
    expect(isAlive(state.natsPid!)).toBe(true);
    // The generated credential is required: the URL alone is refused.
    const anon = await run(process.execPath, [BIN, 'worker', '--roles', 'stage-a', '--impl', `stage-a=${stage('stage-a')}`, '--nats', state.natsUrl], { env, timeout: 60_000 }).catch((e) => e);
    expect(anon.code).not.toBe(0);
    expect(String(anon.stderr)).toMatch(/cannot connect|Authorization/i);

    const ps = JSON.parse((await troupe('ps', '--json')).stdout) as { runId: string; roles: { role: string; implementation: string; pid: number }[] };
    expect(ps.runId).toBe('cli-test');
    expect(ps.roles.map((r) => r.role).sort()).toEqual(['stage-a', 'stage-b', 'stage-c']);
    expect(ps.roles.every((r) => isAlive(r.pid))).toBe(true);
    // The registry's counters and state travel through the control plane to `ps`.
    const full = ps.roles as unknown as { state: string; handled: number; failed: number; deadLettered: number }[];
    expect(full.every((r) => r.state === 'ready' && r.handled === 0 && r.failed === 0 && r.deadLettered === 0)).toBe(true);
    const table = (await troupe('ps')).stdout;
    expect(table).toMatch(/ROLE\s+IMPL\s+INSTANCE\s+STATE\s+.*HANDLED\s+FAILED\s+DLQ/);
    expect(table.split('\n').filter((l) => /^stage-[abc]\s/.test(l) && /\sready\s/.test(l))).toHaveLength(3);

    // A worker started by hand joins the local society (credential from the run dir) and leaves on SIGTERM.
    const joined = spawn(process.execPath, [BIN, 'worker', '--roles', 'stage-a', '--impl', `stage-a=${stage('stage-a')}`], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let joinedErr = '';
    joined.stderr!.on('data', (b) => (joinedErr += b));
    let stageA: typeof ps.roles = [];
    for (let i = 0; i < 300 && stageA.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 100));
      stageA = (JSON.parse((await troupe('ps', '--json', '--role', 'stage-a')).stdout) as typeof ps).roles;
    }
    expect(stageA.map((r) => r.pid)).toContain(joined.pid);
    const joinedExit = new Promise<number | null>((r) => joined.on('exit', (code) => r(code)));
    joined.kill('SIGTERM');
    expect(await joinedExit).toBe(0);
    expect(joinedErr).toMatch(/drained/);

    const swapped = await troupe('swap', 'stage-b', '--impl', join(import.meta.dirname, '..', 'fixtures', 'roles', 'stage-b-v2.ts'));
    expect(swapped.stdout).toMatch(/stage-b now serves stage-b@2/);
    const after = JSON.parse((await troupe('ps', '--json')).stdout) as typeof ps;
    expect(after.roles.filter((r) => r.role === 'stage-b').map((r) => r.implementation)).toEqual(['stage-b@2']);

    const bad = await troupe('swap', 'stage-b').catch((e) => e);
    expect(bad.code).toBe(2);

    const workerPids = after.roles.map((r) => r.pid);
    await troupe('down');
    expect(isAlive(state.pid)).toBe(false);
    for (let i = 0; i < 50 && isAlive(state.natsPid!); i++) await new Promise((r) => setTimeout(r, 100));
    expect(isAlive(state.natsPid!)).toBe(false);
    expect(workerPids.some(isAlive)).toBe(false);
    expect(out).toMatch(/embedded/);
  }, 180_000);
});

describe('a society killed outright', () => {
  it('takes its workers and its embedded nats-server down with it', async () => {
    up = spawn(process.execPath, [BIN, 'up', '--config', config, '--run-id', 'cli-kill'], { env, stdio: 'ignore' });
    const state = await waitForState('cli-kill');
    const ps = JSON.parse((await troupe('ps', '--json', '--run-id', 'cli-kill')).stdout) as { roles: { pid: number }[] };
    const workers = ps.roles.map((r) => r.pid);
    expect(workers).toHaveLength(3);
    up.kill('SIGKILL');
    for (let i = 0; i < 150 && workers.some(isAlive); i++) await new Promise((r) => setTimeout(r, 100));
    expect(workers.some(isAlive)).toBe(false);
    // The embedded nats-server's watchdog stops it too: nothing is left for `troupe down`.
    for (let i = 0; i < 100 && isAlive(state.natsPid!); i++) await new Promise((r) => setTimeout(r, 100));
    expect(isAlive(state.natsPid!)).toBe(false);
    const down = await troupe('down', '--run-id', 'cli-kill').catch((e) => e);
    expect(down.code).not.toBe(0);
    expect(String(down.stderr)).toMatch(/cli-kill|no society|not running/i);
  }, 120_000);
});

describe('a control plane over TLS', () => {
  it('serves ps over TLS with the configured certificate and refuses plaintext clients', async () => {
    const key = join(home, 'key.pem');
    const cert = join(home, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=troupe-test', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
    const tlsConfig = join(home, 'society-tls.json');
    writeFileSync(tlsConfig, JSON.stringify({ roles: { 'stage-a': { impl: stage('stage-a') } }, control: { tls: { cert, key } } }));
    up = spawn(process.execPath, [BIN, 'up', '--config', tlsConfig, '--run-id', 'cli-tls'], { env, stdio: 'ignore' });
    const state = await waitForState('cli-tls');
    const ep = readControlEndpoint(state.runDir);
    expect(ep.tlsCa).toBe(cert);
    const ps = JSON.parse((await troupe('ps', '--json', '--run-id', 'cli-tls')).stdout) as { roles: { role: string }[] };
    expect(ps.roles.map((r) => r.role)).toEqual(['stage-a']);
    const plain = createControlClient(ep.address, ep.token, { timeoutMs: 5_000 });
    try {
      await expect(plain.listRoles()).rejects.toThrow();
    } finally {
      plain.close();
    }
    await troupe('down', '--run-id', 'cli-tls');
    expect(isAlive(state.pid)).toBe(false);
  }, 120_000);
});
