// An embedded nats-server child process on 127.0.0.1 with JetStream, a generated credential and its
// store under the run directory. Used when no NATS URL is given.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';

export interface EmbeddedNats {
  url: string;
  user: string;
  pass: string;
  pid: number;
  storeDir: string;
  stop(): Promise<void>;
}

export class NatsServerMissingError extends Error {
  constructor() {
    super(
      'nats-server not found (looked at $TROUPE_NATS_SERVER, $PATH, /usr/sbin, /usr/local/bin). Install it: ' +
        '"sudo apt-get install nats-server" (Debian/Ubuntu), "brew install nats-server" (macOS), or download a ' +
        'release from https://github.com/nats-io/nats-server/releases; or pass --nats URL / set TROUPE_NATS_URL.',
    );
    this.name = 'NatsServerMissingError';
  }
}

export function findNatsServer(): string {
  const explicit = process.env.TROUPE_NATS_SERVER;
  if (explicit) {
    if (!existsSync(explicit)) throw new NatsServerMissingError();
    return explicit;
  }
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/bin', '/usr/bin'];
  for (const d of dirs) {
    if (d && existsSync(join(d, 'nats-server'))) return join(d, 'nats-server');
  }
  throw new NatsServerMissingError();
}

/** Ports this process has already handed to an embedded server. */
const portsGiven = new Set<number>();

function probePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * A free loopback port that this process has not used before. A client of an earlier, stopped
 * embedded server keeps reconnecting to its URL; if a later server got the same port, that client
 * would reach it with the old credentials and be thrown out mid-handshake.
 */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const port = await probePort();
    if (!portsGiven.has(port)) {
      portsGiven.add(port);
      return port;
    }
  }
  throw new Error('no unused loopback port found after 20 tries');
}

/** Start nats-server with JetStream under `dir` (store, config, log). Resolves once it accepts clients. */
export async function startEmbeddedNats(dir: string, opts: { port?: number } = {}): Promise<EmbeddedNats> {
  const bin = findNatsServer();
  mkdirSync(dir, { recursive: true });
  const storeDir = join(dir, 'jetstream');
  const port = opts.port ?? (await freePort());
  const user = 'troupe';
  const pass = randomBytes(18).toString('base64url');
  const conf = join(dir, 'nats-server.conf');
  const pidFile = join(dir, 'nats-server.pid');
  await waitForPreviousServer(pidFile, dir);
  // JSON is valid nats-server config syntax, which spares us quoting rules.
  writeFileSync(
    conf,
    JSON.stringify({
      host: '127.0.0.1',
      port,
      jetstream: { store_dir: storeDir },
      authorization: { user, password: pass },
      max_payload: 8 * 1024 * 1024,
      pid_file: pidFile,
    }),
    { mode: 0o600 },
  );
  const child: ChildProcess = spawn(bin, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nats-server did not start within 15s:\n${log.slice(-2000)}`)), 15_000);
    child.stderr!.on('data', (b: Buffer) => {
      log += b.toString();
      if (log.includes('Server is ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`nats-server exited with code ${code}:\n${log.slice(-2000)}`));
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(t);
  };
  // Never leave an orphan server behind when our process exits: on a normal exit through the
  // 'exit' hook, and when we are killed outright (SIGKILL, an unhandled SIGTERM: no hook runs)
  // through a watchdog that outlives us and stops the server within about a second.
  const onExit = () => {
    if (child.exitCode === null) child.kill('SIGKILL');
  };
  process.once('exit', onExit);
  startWatchdog(process.pid, child.pid!);
  try {
    await ready;
  } catch (err) {
    onExit();
    throw err;
  }
  child.stderr!.removeAllListeners('data');
  child.stderr!.resume();
  return { url: `nats://127.0.0.1:${port}`, user, pass, pid: child.pid!, storeDir, stop };
}

/**
 * A run resumed right after its process was killed may find the old server still on this store (its
 * watchdog stops it within about a second, and it flushes before exiting). Two servers on one store
 * would corrupt it: wait for the old one to go, up to 15 s, then fail naming its pid.
 */
async function waitForPreviousServer(pidFile: string, dir: string): Promise<void> {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile, 'utf8').trim());
  } catch {
    return;
  }
  const isOurs = () => {
    try {
      process.kill(pid, 0);
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      return cmd.includes('nats-server') && cmd.includes(dir); // pids get reused
    } catch {
      return false;
    }
  };
  for (let i = 0; i < 150 && isOurs(); i++) await new Promise((r) => setTimeout(r, 100));
  if (isOurs()) throw new Error(`a nats-server (pid ${pid}) still runs on ${dir}; stop it first (troupe down, or kill ${pid})`);
}

/** True when a nats-server binary can be found (for tests and `npm run setup`). */
export function natsServerAvailable(): boolean {
  try {
    const bin = findNatsServer();
    return spawnSync(bin, ['--version']).status === 0;
  } catch {
    return false;
  }
}

/**
 * A detached shell that polls both pids every second and stops the server (SIGTERM, so JetStream
 * flushes its store) once its owner is gone; it exits by itself when the server stops first.
 */
export function startWatchdog(ownerPid: number, serverPid: number): void {
  const script = 'while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 1; done; kill -TERM "$2" 2>/dev/null; exit 0';
  try {
    const w = spawn('/bin/sh', ['-c', script, 'troupe-nats-watchdog', String(ownerPid), String(serverPid)], { detached: true, stdio: 'ignore' });
    w.on('error', () => {});
    w.unref();
  } catch {
    // Without /bin/sh the 'exit' hook and `troupe down` still clean up.
  }
}
