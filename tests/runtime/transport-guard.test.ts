// The NATS transport guard (runtime/nats/transport-guard.ts): a frame sent after the socket's writable
// side ended is skipped instead of written, so Node never raises ERR_STREAM_WRITE_AFTER_END on a socket
// whose listeners the transport may already have removed.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { NodeTransport } from '@nats-io/transport-node/lib/node_transport.js';
import '../../runtime/nats/connect.ts';

let server: net.Server;
let port = 0;
beforeAll(async () => {
  server = net.createServer((s) => s.on('data', () => {}).on('error', () => {}));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as net.AddressInfo).port;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

async function transportOn(): Promise<{ t: any; sock: net.Socket }> {
  const sock = net.connect(port, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  const t: any = new NodeTransport();
  Object.assign(t, { socket: sock, connected: true, options: {} });
  return { t, sock };
}

describe('NATS transport guard', () => {
  it('skips a frame once the socket has ended, so no write-after-end error is raised', async () => {
    const { t, sock } = await transportOn();
    const errors: Error[] = [];
    sock.on('error', (e) => errors.push(e));
    const write = vi.spyOn(sock, 'write');
    sock.end();
    await expect(t._send(new TextEncoder().encode('PING\r\n'))).resolves.toBeUndefined();
    await new Promise((r) => setTimeout(r, 50));
    expect(write).not.toHaveBeenCalled();
    expect(errors).toEqual([]);
    sock.destroy();
  });

  it('still writes on an open socket', async () => {
    const { t, sock } = await transportOn();
    const write = vi.spyOn(sock, 'write');
    await t._send(new TextEncoder().encode('PING\r\n'));
    expect(write).toHaveBeenCalledTimes(1);
    sock.destroy();
  });
});
