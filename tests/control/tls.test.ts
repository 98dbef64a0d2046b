// The control plane over TLS (self-signed certificate made with openssl for 127.0.0.1).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createControlClient, endpointClientOptions, startControlServer, type ControlServer } from '../../runtime/control/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'troupe-tls-'));
let server: ControlServer;
const token = 'tls-test-token';

beforeAll(async () => {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=troupe-test', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
  server = await startControlServer({
    port: 0,
    token,
    tls: { cert: readFileSync(join(dir, 'cert.pem')), key: readFileSync(join(dir, 'key.pem')) },
    handlers: {
      listRoles: async () => [{ role: 'critic', implementation: 'c@1', version: '1', instanceId: 'c-1', host: 'h', pid: 1, heartbeatMs: 5, inFlight: 0, model: '', handled: 0, failed: 0, deadLettered: 0, instructionsRevision: 0, state: 'ready' }],
      swapRole: async () => { throw new Error('unused'); },
      getInstructions: async () => { throw new Error('unused'); },
      setInstructions: async () => { throw new Error('unused'); },
      async *watchMessages() {},
    },
  });
});
afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('control plane over TLS', () => {
  it('serves a client that trusts the certificate', async () => {
    const client = createControlClient(server.address, token, endpointClientOptions({ address: server.address, token, tlsCa: join(dir, 'cert.pem') }));
    try {
      expect((await client.listRoles()).map((r) => r.instanceId)).toEqual(['c-1']);
    } finally {
      client.close();
    }
  });

  it('refuses a plaintext client and a client that does not trust the certificate', async () => {
    for (const opts of [{}, { tls: {} }]) {
      const client = createControlClient(server.address, token, { ...opts, timeoutMs: 3000 });
      try {
        const err = await client.listRoles().catch((e) => e);
        expect(err.code).toMatch(/UNAVAILABLE|DEADLINE_EXCEEDED/);
      } finally {
        client.close();
      }
    }
  });
});
