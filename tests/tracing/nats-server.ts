// Test helper: a throwaway nats-server child on a free loopback port, without credentials (the
// tracing tests exercise plain connections; runtime/nats/embedded.ts is the authenticated one).
import { spawn, type ChildProcess } from 'node:child_process';
import { connect as tcpConnect } from 'node:net';
import { freePort } from '../../runtime/nats/embedded.ts';

export { freePort };

export interface TestNatsServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = tcpConnect(port, '127.0.0.1', () => {
        s.end();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nats-server did not listen on ${port} within ${timeoutMs}ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startNatsServer(bin = process.env.NATS_SERVER_BIN ?? 'nats-server'): Promise<TestNatsServer> {
  const port = await freePort();
  const child: ChildProcess = spawn(bin, ['-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('error', () => {});
  await waitForPort(port, 5000);
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
