// Typed client for the control plane: promises for the unary calls, an async iterator for the stream.
import * as grpc from '@grpc/grpc-js';
import {
  controlService,
  fromInstructionsWire,
  fromMessageEventWire,
  fromRoleInstanceWire,
  fromSwapResponseWire,
  toSwapRequestWire,
  type InstructionsWire,
  type MessageEventWire,
  type RoleInstanceWire,
  type SwapResponseWire,
} from './proto.ts';
import type { Instructions, MessageEvent, RoleInstance, SwapRequest, SwapResult, WatchFilter } from './types.ts';

export interface ControlClient {
  listRoles(role?: string): Promise<RoleInstance[]>;
  swapRole(req: SwapRequest): Promise<SwapResult>;
  getInstructions(role: string): Promise<Instructions>;
  setInstructions(role: string, text: string): Promise<Instructions>;
  /** Events until `signal` aborts, the server ends the stream, or the loop breaks. */
  watchMessages(filter?: WatchFilter, signal?: AbortSignal): AsyncIterable<MessageEvent>;
  close(): void;
}

/** A failed control call: `code` is the gRPC status name (e.g. "UNAUTHENTICATED", "NOT_FOUND"). */
export class ControlCallError extends Error {
  constructor(readonly method: string, readonly code: string, readonly details: string) {
    super(`${method}: ${code}: ${details}`);
    this.name = 'ControlCallError';
  }
}

function statusName(code: number | undefined): string {
  return code === undefined ? 'UNKNOWN' : (grpc.status[code] ?? String(code));
}

function wrapError(method: string, err: unknown): Error {
  const e = err as grpc.ServiceError;
  if (e && typeof e.code === 'number') return new ControlCallError(method, statusName(e.code), e.details || e.message);
  return err instanceof Error ? err : new Error(String(err));
}

export interface ControlClientOptions {
  /** Per-call deadline for unary calls in ms (default 30000). */
  timeoutMs?: number;
  /** Connect over TLS; `ca` (PEM) trusts a private CA or a self-signed server certificate. */
  tls?: { ca?: string | Buffer; serverName?: string };
}

/** Connect to a control server at "host:port" with its bearer token. */
export function createControlClient(address: string, token: string, opts: ControlClientOptions = {}): ControlClient {
  const Ctor = controlService();
  const creds = opts.tls ? grpc.credentials.createSsl(opts.tls.ca ? Buffer.from(opts.tls.ca) : null) : grpc.credentials.createInsecure();
  const channelOpts: grpc.ChannelOptions = opts.tls?.serverName ? { 'grpc.ssl_target_name_override': opts.tls.serverName } : {};
  const client = new Ctor(address, creds, channelOpts) as grpc.Client & Record<string, Function>;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const meta = () => {
    const m = new grpc.Metadata();
    m.set('authorization', `Bearer ${token}`);
    return m;
  };

  function call<Res>(method: string, req: object): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      client[method](req, meta(), { deadline: Date.now() + timeoutMs }, (err: grpc.ServiceError | null, res: Res) =>
        err ? reject(wrapError(method, err)) : resolve(res),
      );
    });
  }

  return {
    async listRoles(role) {
      const res = await call<{ instances: RoleInstanceWire[] }>('ListRoles', { role: role ?? '' });
      return (res.instances ?? []).map(fromRoleInstanceWire);
    },
    async swapRole(req) {
      return fromSwapResponseWire(await call<SwapResponseWire>('SwapRole', toSwapRequestWire(req)));
    },
    async getInstructions(role) {
      return fromInstructionsWire(await call<InstructionsWire>('GetInstructions', { role }));
    },
    async setInstructions(role, text) {
      return fromInstructionsWire(await call<InstructionsWire>('SetInstructions', { role, text }));
    },
    watchMessages(filter = {}, signal) {
      return {
        async *[Symbol.asyncIterator]() {
          const stream = client.WatchMessages({ subject: filter.subject ?? '', kinds: filter.kinds ?? [] }, meta()) as grpc.ClientReadableStream<MessageEventWire>;
          const onAbort = () => stream.cancel();
          if (signal?.aborted) return void stream.cancel();
          signal?.addEventListener('abort', onAbort, { once: true });
          try {
            for await (const w of stream) yield fromMessageEventWire(w as MessageEventWire);
          } catch (err) {
            // Our own cancellation ends the iteration quietly.
            if ((err as grpc.ServiceError).code === grpc.status.CANCELLED && signal?.aborted) return;
            throw wrapError('WatchMessages', err);
          } finally {
            signal?.removeEventListener('abort', onAbort);
            stream.cancel();
          }
        },
      };
    },
    close: () => client.close(),
  };
}
