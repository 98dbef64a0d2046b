// gRPC control server: wraps ControlHandlers (implemented by the runtime from its registry) behind
// protocols/control.proto, on loopback by default, with a required bearer token.
import * as grpc from '@grpc/grpc-js';
import { redactText } from '../tracing/redact.ts';
import { bearerToken, tokensEqual } from './auth.ts';
import {
  controlService,
  fromSwapRequestWire,
  fromWatchRequestWire,
  toInstructionsWire,
  toMessageEventWire,
  toRoleInstanceWire,
  toSwapResponseWire,
  type SwapRequestWire,
  type WatchRequestWire,
} from './proto.ts';
import { ControlError, type ControlHandlers } from './types.ts';
import { checkInstructionsText, checkModel, checkModule, checkRole, checkWatch, MAX_CONTROL_MESSAGE_BYTES } from './validate.ts';

export const DEFAULT_CONTROL_HOST = '127.0.0.1';
export const DEFAULT_CONTROL_PORT = 7420;

export interface ControlServerOptions {
  /** Bind address (default 127.0.0.1). Anything else exposes the society beyond this machine. */
  host?: string;
  /** Port (default 7420; 0 picks a free one). */
  port?: number;
  /** Bearer token every call must present. */
  token: string;
  handlers: ControlHandlers;
  /** Serve over TLS with this PEM certificate chain and key (for a control plane bound beyond loopback). */
  tls?: { cert: string | Buffer; key: string | Buffer };
}

export interface ControlServer {
  /** "host:port" to hand to createControlClient. */
  readonly address: string;
  readonly host: string;
  readonly port: number;
  /** Ends open WatchMessages streams and stops the server (forcefully after `graceMs`, default 2000). */
  stop(graceMs?: number): Promise<void>;
}

function grpcError(err: unknown): Partial<grpc.StatusObject> {
  if (err instanceof ControlError) {
    return { code: grpc.status[err.code], details: redactText(err.message) };
  }
  const msg = err instanceof Error ? err.message : String(err);
  return { code: grpc.status.INTERNAL, details: redactText(msg) };
}

const UNAUTH: Partial<grpc.StatusObject> = {
  code: grpc.status.UNAUTHENTICATED,
  details: 'control plane: missing or wrong bearer token (send metadata "authorization: Bearer <token>")',
};

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\./.test(host);
}

export async function startControlServer(opts: ControlServerOptions): Promise<ControlServer> {
  if (!opts.token) throw new Error('startControlServer: a non-empty token is required');
  const host = opts.host ?? DEFAULT_CONTROL_HOST;
  const { token, handlers } = opts;
  const streams = new Set<AbortController>();

  const authorized = (md: grpc.Metadata): boolean => {
    const given = bearerToken(md.get('authorization')[0]);
    return given !== undefined && tokensEqual(token, given);
  };

  function unary<Req, Res>(run: (req: Req) => Promise<Res>): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      if (!authorized(call.metadata)) return callback(UNAUTH);
      run(call.request).then(
        (res) => callback(null, res),
        (err) => callback(grpcError(err)),
      );
    };
  }

  const impl: grpc.UntypedServiceImplementation = {
    // Every field is checked (validate.ts) before a handler sees it: INVALID_ARGUMENT, naming the field.
    ListRoles: unary(async (req: { role: string }) => ({
      instances: (await handlers.listRoles(checkRole('role', req.role, true) || undefined)).map(toRoleInstanceWire),
    })),
    SwapRole: unary(async (req: SwapRequestWire) => {
      checkRole('role', req.role);
      const parsed = fromSwapRequestWire(req);
      if (typeof parsed === 'string') throw new ControlError('INVALID_ARGUMENT', parsed);
      if (parsed.implModule !== undefined) checkModule('impl_module', parsed.implModule);
      if (parsed.model !== undefined) checkModel('model', parsed.model);
      if (parsed.instructions !== undefined) checkInstructionsText('instructions', parsed.instructions);
      return toSwapResponseWire(await handlers.swapRole(parsed));
    }),
    GetInstructions: unary(async (req: { role: string }) => {
      return toInstructionsWire(await handlers.getInstructions(checkRole('role', req.role)));
    }),
    SetInstructions: unary(async (req: { role: string; text: string }) => {
      return toInstructionsWire(await handlers.setInstructions(checkRole('role', req.role), checkInstructionsText('text', req.text)));
    }),
    WatchMessages: (call: grpc.ServerWritableStream<WatchRequestWire, unknown>) => {
      if (!authorized(call.metadata)) {
        call.emit('error', UNAUTH);
        return;
      }
      try {
        checkWatch(call.request.subject, call.request.kinds);
      } catch (err) {
        call.emit('error', grpcError(err));
        return;
      }
      const ac = new AbortController();
      streams.add(ac);
      call.on('cancelled', () => ac.abort());
      call.on('close', () => ac.abort());
      void (async () => {
        try {
          for await (const ev of handlers.watchMessages(fromWatchRequestWire(call.request), ac.signal)) {
            if (ac.signal.aborted) break;
            // Respect backpressure: a slow client pauses the handler rather than buffering without bound.
            if (!call.write(toMessageEventWire(ev))) await new Promise<void>((r) => call.once('drain', r));
          }
          if (!call.cancelled) call.end();
        } catch (err) {
          if (!call.cancelled) call.emit('error', grpcError(err));
        } finally {
          streams.delete(ac);
          ac.abort();
        }
      })();
    },
  };

  if (!isLoopback(host) && !opts.tls) {
    console.error(`control plane: binding ${host}, reachable beyond this machine over plaintext gRPC; the bearer token is the only guard (pass tls to encrypt)`);
  }
  const credentials = opts.tls
    ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(opts.tls.cert), private_key: Buffer.from(opts.tls.key) }], false)
    : grpc.ServerCredentials.createInsecure();
  // Bigger requests are refused by gRPC itself (RESOURCE_EXHAUSTED) before they are decoded.
  const server = new grpc.Server({ 'grpc.max_receive_message_length': MAX_CONTROL_MESSAGE_BYTES });
  server.addService(controlService().service, impl);
  const port = await new Promise<number>((resolve, reject) => {
    const bindHost = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
    server.bindAsync(`${bindHost}:${opts.port ?? DEFAULT_CONTROL_PORT}`, credentials, (err, p) =>
      err ? reject(new Error(`control plane: cannot bind ${host}:${opts.port ?? DEFAULT_CONTROL_PORT}: ${err.message}`)) : resolve(p),
    );
  });

  return {
    address: `${host.includes(':') ? `[${host}]` : host}:${port}`,
    host,
    port,
    stop: (graceMs = 2000) =>
      new Promise<void>((resolve) => {
        for (const ac of streams) ac.abort();
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        timer.unref();
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}
