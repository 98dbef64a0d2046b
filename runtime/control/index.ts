// Troupe control plane over gRPC (protocols/control.proto): ListRoles, SwapRole, Get/SetInstructions,
// WatchMessages (server streaming). Loopback by default; every call needs `authorization: Bearer <token>`.
//
// Server side (the runtime implements ControlHandlers from its registry):
//
//   import { startControlServer, generateControlToken, writeControlEndpoint, type ControlHandlers } from './index.ts';
//   const handlers: ControlHandlers = {
//     listRoles: async (role) => registry.instances(role),          // RoleInstance[]
//     swapRole: async (req) => swapper.swap(req),                     // req has exactly one of implModule | model | instructions
//     getInstructions: async (role) => ({ role, text, revision }),    // throw new ControlError('NOT_FOUND', ...) when unknown
//     setInstructions: async (role, text) => ({ role, text, revision }),
//     async *watchMessages(filter, signal) { ... yield { subject, kind, size, latencyMs, traceId, time }; ... } // stop when signal aborts
//   };
//   const token = generateControlToken();
//   const server = await startControlServer({ token, handlers });   // 127.0.0.1:7420; port: 0 = any free port
//   writeControlEndpoint(runDir, { address: server.address, token, pid: process.pid });
//   ...; await server.stop();
//
// Client side (troupe ps / swap):
//
//   const { address, token } = readControlEndpoint(runDir);
//   const client = createControlClient(address, token);
//   const roles = await client.listRoles();
//   await client.swapRole({ role: 'critic', model: 'qwen2.5-7b' });
//   for await (const ev of client.watchMessages({ subject: 'troupe.>' }, signal)) console.log(ev);
//   client.close();
// Failed calls reject with ControlCallError { code: 'UNAUTHENTICATED' | 'NOT_FOUND' | ..., details }.
// TLS (for a non-loopback bind): startControlServer({ ..., tls: { cert, key } }) and
// createControlClient(address, token, { tls: { ca } }) — or endpointClientOptions(ep) when control.json has tlsCa.
export { startControlServer, isLoopback, DEFAULT_CONTROL_HOST, DEFAULT_CONTROL_PORT } from './server.ts';
export type { ControlServer, ControlServerOptions } from './server.ts';
export { createControlClient, ControlCallError } from './client.ts';
export type { ControlClient, ControlClientOptions } from './client.ts';
export { generateControlToken, tokensEqual, bearerToken } from './auth.ts';
export { writeControlEndpoint, readControlEndpoint, controlEndpointFile, endpointClientOptions } from './endpoint.ts';
export type { ControlEndpoint } from './endpoint.ts';
export { ControlError } from './types.ts';
export type {
  ControlHandlers,
  ControlErrorCode,
  RoleInstance,
  SwapRequest,
  SwapResult,
  Instructions,
  WatchFilter,
  MessageEvent,
} from './types.ts';
export { CONTROL_PROTO_PATH, CONTROL_SERVICE } from './proto.ts';
