// Start `troupe model serve` as a child process on a free port and wait until it serves.
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

export interface ServeProcess {
  baseURL: string;
  url: string;
  modelId: string;
  child: ChildProcess;
  output: () => string;
  stop(): Promise<void>;
}

const repoRoot = resolve(import.meta.dirname, '../..');

export function startServeCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ServeProcess> {
  const child = spawn(process.execPath, ['bin/troupe.js', 'model', 'serve', '--port', '0', ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const stop = () =>
    new Promise<void>((res) => {
      if (child.exitCode !== null) return res();
      child.once('exit', () => res());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
    });
  return new Promise((resolvePromise, reject) => {
    const onData = (b: Buffer) => {
      out += b.toString();
      const m = /OpenAI base URL: (\S+)\s+\(model "([^"]+)"\)/.exec(out);
      if (m) {
        child.stdout!.off('data', onData);
        child.stdout!.on('data', (x: Buffer) => (out += x.toString()));
        resolvePromise({ baseURL: m[1], url: m[1].replace(/\/v1$/, ''), modelId: m[2], child, output: () => out, stop });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    child.once('exit', (code) => reject(new Error(`troupe model serve exited with ${code} before serving:\n${out}`)));
  });
}
