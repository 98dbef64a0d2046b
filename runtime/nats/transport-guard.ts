// Guard for a race in @nats-io/transport-node (3.x): when the server half-closes a connection, the
// transport answers with `socket.end()`, but the client may still flush pending protocol (`_send` ←
// `flushPending`) before the socket's `close` event. Node then fails that write with
// ERR_STREAM_WRITE_AFTER_END and emits it as an `error` event on the next tick; if `close` has been
// handled in between, the transport has already removed every socket listener, and the error
// becomes an uncaught exception that kills the process (seen as a rare test-run crash while
// embedded servers stop). A write to a socket whose writable side has ended can never succeed, so
// the guard skips it — the transport already treats a closed socket the same way and ignores write
// errors by design. Imported for its side effect by runtime/nats/connect.ts.
import { NodeTransport } from '@nats-io/transport-node/lib/node_transport.js';

interface SocketLike {
  writableEnded?: boolean;
  destroyed?: boolean;
}

const proto = NodeTransport.prototype as unknown as { _send(frame: Uint8Array): Promise<void>; __troupeGuarded?: boolean; socket?: SocketLike };
if (!proto.__troupeGuarded) {
  const send = proto._send;
  proto._send = function guardedSend(this: { socket?: SocketLike }, frame: Uint8Array): Promise<void> {
    const s = this.socket;
    if (s && (s.writableEnded || s.destroyed)) return Promise.resolve();
    return send.call(this, frame);
  };
  proto.__troupeGuarded = true;
}

export const TRANSPORT_GUARD_INSTALLED = true;
