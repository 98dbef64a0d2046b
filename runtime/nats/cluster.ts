// A NATS cluster of `size` nodes with JetStream on loopback, each node a nats-server child started
// from deploy/nats/node.conf with its ports, routes and store given by the environment (the same file
// real machines use). For `troupe up --cluster N`, the cluster tests and the failover bench.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NatsSettings } from './connect.ts';
import { findNatsServer, freePort, startWatchdog } from './embedded.ts';

/** deploy/nats/node.conf in this checkout. */
export const NODE_CONF = resolve(fileURLToPath(new URL('../../deploy/nats/node.conf', import.meta.url)));

export interface ClusterNode {
  name: string;
  /** Client URL of this node alone (no credentials). */
  url: string;
  httpPort: number;
  storeDir: string;
  logFile: string;
  readonly pid: number;
  alive(): boolean;
  /** SIGKILL (a crash) or SIGTERM (a clean stop); resolves when the process is gone. */
  kill(signal?: 'SIGKILL' | 'SIGTERM'): Promise<void>;
}

export interface LocalCluster {
  nodes: ClusterNode[];
  /** Every node's URL, comma-separated, with the client credential: what a role connects with. */
  settings: NatsSettings;
  /** The same settings pointed at one node only (clients still learn the others from the server). */
  settingsFor(i: number): NatsSettings;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Start `size` nodes under `dir` (one store and log per node) and resolve once JetStream has a
 * meta leader that sees every node, so streams with `size` replicas can be created at once.
 */
export async function startLocalCluster(dir: string, opts: { size?: number; conf?: string; readyTimeoutMs?: number } = {}): Promise<LocalCluster> {
  // Free ports are picked before the nodes bind them, so another process can take one in between:
  // a node that dies at start-up is retried on fresh ports (twice), and only then is it an error.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(attempt === 1 ? dir : join(dir, `attempt-${attempt}`), opts);
    } catch (err) {
      if (attempt >= 3 || !/exited during start-up/.test((err as Error).message)) throw err;
    }
  }
}

async function startOnce(dir: string, opts: { size?: number; conf?: string; readyTimeoutMs?: number }): Promise<LocalCluster> {
  const size = opts.size ?? 3;
  if (!Number.isInteger(size) || size < 1 || size > 9) throw new Error(`cluster size must be an integer from 1 to 9, got ${size}`);
  const bin = findNatsServer();
  mkdirSync(dir, { recursive: true });
  const user = 'troupe';
  const pass = randomBytes(18).toString('base64url');
  const routeUser = 'route';
  const routePass = randomBytes(18).toString('base64url');
  const ports = [];
  for (let i = 0; i < size; i++) ports.push({ client: await freePort(), route: await freePort(), http: await freePort() });
  const routes = `[${ports.map((p) => `nats-route://${routeUser}:${routePass}@127.0.0.1:${p.route}`).join(', ')}]`;
  const children: ChildProcess[] = [];
  const nodes: ClusterNode[] = ports.map((p, i) => {
    const name = `n${i + 1}`;
    const storeDir = join(dir, name);
    const logFile = join(dir, `${name}.log`);
    mkdirSync(storeDir, { recursive: true });
    const env = {
      ...process.env,
      TROUPE_NATS_NODE: name,
      TROUPE_NATS_LISTEN: `127.0.0.1:${p.client}`,
      TROUPE_NATS_HTTP: `127.0.0.1:${p.http}`,
      TROUPE_NATS_CLUSTER_LISTEN: `127.0.0.1:${p.route}`,
      TROUPE_NATS_ROUTES: routes,
      TROUPE_NATS_STORE_DIR: storeDir,
      TROUPE_NATS_USER: user,
      TROUPE_NATS_PASSWORD: pass,
      TROUPE_NATS_ROUTE_USER: routeUser,
      TROUPE_NATS_ROUTE_PASSWORD: routePass,
    };
    const child = spawn(bin, ['-c', opts.conf ?? NODE_CONF], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.pipe(createWriteStream(logFile));
    child.on('error', () => {});
    children.push(child);
    // Never an orphan: the exit hook on a normal exit, the watchdog when we are killed outright.
    startWatchdog(process.pid, child.pid!);
    const gone = () => child.exitCode !== null || child.signalCode !== null;
    return {
      name,
      url: `nats://127.0.0.1:${p.client}`,
      httpPort: p.http,
      storeDir,
      logFile,
      pid: child.pid!,
      alive: () => !gone(),
      async kill(signal = 'SIGKILL') {
        if (gone()) return;
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        child.kill(signal);
        const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(t);
      },
    };
  });
  const onExit = () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  };
  process.once('exit', onExit);
  const stop = async () => {
    process.off('exit', onExit);
    await Promise.all(nodes.map((n) => n.kill('SIGTERM')));
  };
  try {
    await waitForMeta(nodes, size, opts.readyTimeoutMs ?? 30_000);
  } catch (err) {
    await stop();
    throw err;
  }
  const url = nodes.map((n) => n.url).join(',');
  return {
    nodes,
    settings: { url, user, pass },
    settingsFor: (i) => ({ url: nodes[i].url, user, pass }),
    stop,
  };
}

/** Poll every node's /jsz until each reports a JetStream meta leader and a meta group of `size`. */
async function waitForMeta(nodes: ClusterNode[], size: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const dead = nodes.find((n) => !n.alive());
    if (dead) throw new Error(`nats node ${dead.name} exited during start-up (log: ${dead.logFile})`);
    const ok = await Promise.all(
      nodes.map(async (n) => {
        try {
          const r = await fetch(`http://127.0.0.1:${n.httpPort}/jsz`, { signal: AbortSignal.timeout(2_000) });
          const j = (await r.json()) as { meta_cluster?: { leader?: string; cluster_size?: number } };
          last = JSON.stringify(j.meta_cluster ?? {});
          return !!j.meta_cluster?.leader && (j.meta_cluster.cluster_size ?? 0) >= size;
        } catch (err) {
          last = (err as Error).message;
          return false;
        }
      }),
    );
    if (ok.every(Boolean)) return;
    await sleep(200);
  }
  throw new Error(`nats cluster of ${size} not ready within ${timeoutMs} ms (last /jsz meta: ${last}; logs: ${nodes.map((n) => n.logFile).join(', ')})`);
}
