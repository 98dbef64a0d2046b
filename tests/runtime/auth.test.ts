// Integration: connecting to a real nats-server with each supported credential type and over TLS
// (certificates made with openssl for 127.0.0.1). The server configs are written here, by hand.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nkeys } from '@nats-io/transport-node';
import { afterAll, describe, expect, it } from 'vitest';
import { connectNats, type NatsSettings } from '../../runtime/nats/connect.ts';
import { findNatsServer, freePort } from '../../runtime/nats/embedded.ts';

const dir = mkdtempSync(join(tmpdir(), 'troupe-auth-'));
const servers: ChildProcess[] = [];

async function serve(config: Record<string, unknown>): Promise<number> {
  const port = await freePort();
  const file = join(dir, `nats-${port}.conf`);
  writeFileSync(file, JSON.stringify({ host: '127.0.0.1', port, ...config }));
  const child = spawn(findNatsServer(), ['-c', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  servers.push(child);
  await new Promise<void>((resolve, reject) => {
    let log = '';
    child.stderr!.on('data', (b) => {
      log += b;
      if (log.includes('Server is ready')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`nats-server exited ${code}: ${log}`)));
  });
  return port;
}

async function roundTrip(s: NatsSettings): Promise<string> {
  const nc = await connectNats(s);
  try {
    const sub = nc.subscribe('auth.test', { max: 1 });
    nc.publish('auth.test', 'hello');
    for await (const m of sub) return m.string();
    return '';
  } finally {
    await nc.close();
  }
}

afterAll(() => {
  for (const s of servers) s.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('NATS credentials', () => {
  it('connects with user/password and refuses a wrong password without echoing it', async () => {
    const port = await serve({ authorization: { user: 'ann', password: 'pw-1' } });
    expect(await roundTrip({ url: `nats://127.0.0.1:${port}`, user: 'ann', pass: 'pw-1' })).toBe('hello');
    const err = await connectNats({ url: `nats://wrong:pw-2@127.0.0.1:${port}`, user: 'ann', pass: 'pw-2' }).catch((e) => e as Error);
    expect(String(err)).toMatch(/cannot connect/);
    expect(String(err)).not.toContain('pw-2');
  });

  it('connects with a token', async () => {
    const port = await serve({ authorization: { token: 'tok-123' } });
    expect(await roundTrip({ url: `nats://127.0.0.1:${port}`, token: 'tok-123' })).toBe('hello');
    await expect(connectNats({ url: `nats://127.0.0.1:${port}`, token: 'nope' })).rejects.toThrow(/cannot connect/);
  });

  it('connects with an nkey seed, given as text or as a file', async () => {
    const user = nkeys.createUser();
    const seed = new TextDecoder().decode(user.getSeed());
    const port = await serve({ authorization: { users: [{ nkey: user.getPublicKey() }] } });
    expect(await roundTrip({ url: `nats://127.0.0.1:${port}`, nkeySeed: seed })).toBe('hello');
    const seedFile = join(dir, 'user.nk');
    writeFileSync(seedFile, `${seed}\n`, { mode: 0o600 });
    expect(await roundTrip({ url: `nats://127.0.0.1:${port}`, nkeySeed: seedFile })).toBe('hello');
  });

  it('connects over TLS with a CA file', async () => {
    const ca = join(dir, 'ca');
    const ssl = (args: string[]) => {
      const r = spawnSync('openssl', args, { cwd: dir });
      if (r.status !== 0) throw new Error(`openssl ${args[0]}: ${r.stderr}`);
    };
    ssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=troupe-test-ca', '-keyout', `${ca}.key`, '-out', `${ca}.pem`]);
    ssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', 'server.key', '-out', 'server.csr']);
    writeFileSync(join(dir, 'san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
    ssl(['x509', '-req', '-in', 'server.csr', '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-days', '1', '-extfile', 'san.ext', '-out', 'server.pem']);
    const port = await serve({ tls: { cert_file: join(dir, 'server.pem'), key_file: join(dir, 'server.key') }, authorization: { user: 'tls', password: 'pw' } });
    expect(await roundTrip({ url: `tls://127.0.0.1:${port}`, user: 'tls', pass: 'pw', tlsCa: `${ca}.pem` })).toBe('hello');
    // Without the CA the server's certificate is not trusted.
    await expect(connectNats({ url: `tls://127.0.0.1:${port}`, user: 'tls', pass: 'pw' })).rejects.toThrow(/cannot connect/);
  });
});
