// Loads protocols/control.proto at run time (no generated code) and maps proto <-> TS shapes.
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { Instructions, MessageEvent, RoleInstance, SwapRequest, SwapResult, WatchFilter } from './types.ts';

export const CONTROL_PROTO_PATH = fileURLToPath(new URL('../../protocols/control.proto', import.meta.url));
export const CONTROL_SERVICE = 'troupe.control.v1.Control';

let cached: grpc.ServiceClientConstructor | undefined;

/** The generated-at-load-time Control service (client constructor; `.service` is the definition). */
export function controlService(): grpc.ServiceClientConstructor {
  if (cached) return cached;
  const def = protoLoader.loadSync(CONTROL_PROTO_PATH, {
    keepCase: true,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    troupe: { control: { v1: { Control: grpc.ServiceClientConstructor } } };
  };
  cached = pkg.troupe.control.v1.Control;
  return cached;
}

// ---- wire shapes (snake_case, as proto-loader produces with keepCase) ----
export interface RoleInstanceWire {
  role: string; implementation: string; version: string; instance_id: string; host: string;
  pid: number; heartbeat_ms: number; in_flight: number; model: string;
  handled?: number | string; failed?: number | string; dead_lettered?: number | string; instructions_revision?: number | string; state?: string;
}
export interface SwapRequestWire { role: string; impl_module?: string; model?: string; instructions?: string; change?: string }
export interface SwapResponseWire { role: string; old_instance_ids: string[]; new_instance_ids: string[]; now_serving: string; message: string }
export interface InstructionsWire { role: string; text: string; revision: number }
export interface WatchRequestWire { subject: string; kinds: string[] }
export interface MessageEventWire {
  subject: string; kind: string; size: number; latency_ms: number; trace_id: string; time: number;
  sender_role: string; message_id: string; detail: string;
}

export const toRoleInstanceWire = (r: RoleInstance): RoleInstanceWire => ({
  role: r.role, implementation: r.implementation, version: r.version, instance_id: r.instanceId, host: r.host,
  pid: r.pid, heartbeat_ms: r.heartbeatMs, in_flight: r.inFlight, model: r.model,
  handled: r.handled, failed: r.failed, dead_lettered: r.deadLettered, instructions_revision: r.instructionsRevision, state: r.state,
});
export const fromRoleInstanceWire = (w: RoleInstanceWire): RoleInstance => ({
  role: w.role, implementation: w.implementation, version: w.version, instanceId: w.instance_id, host: w.host,
  pid: Number(w.pid), heartbeatMs: Number(w.heartbeat_ms), inFlight: Number(w.in_flight), model: w.model,
  // Fields added later default to zero / empty when an older server leaves them out.
  handled: Number(w.handled ?? 0), failed: Number(w.failed ?? 0), deadLettered: Number(w.dead_lettered ?? 0),
  instructionsRevision: Number(w.instructions_revision ?? 0), state: w.state ?? '',
});

/** Validates "exactly one change" and returns the TS request, or an error message. */
export function fromSwapRequestWire(w: SwapRequestWire): SwapRequest | string {
  if (!w.role) return 'SwapRole needs a role';
  const set = (['impl_module', 'model', 'instructions'] as const).filter((k) => w[k] !== undefined && w[k] !== null && w[k] !== '');
  if (set.length !== 1) return `SwapRole needs exactly one of impl_module, model, instructions (got ${set.length ? set.join(', ') : 'none'})`;
  if (set[0] === 'impl_module') return { role: w.role, implModule: w.impl_module! };
  if (set[0] === 'model') return { role: w.role, model: w.model! };
  return { role: w.role, instructions: w.instructions! };
}
export function toSwapRequestWire(r: SwapRequest): SwapRequestWire {
  if (r.implModule !== undefined) return { role: r.role, impl_module: r.implModule };
  if (r.model !== undefined) return { role: r.role, model: r.model };
  return { role: r.role, instructions: r.instructions };
}
export const toSwapResponseWire = (r: SwapResult): SwapResponseWire => ({
  role: r.role, old_instance_ids: r.oldInstanceIds, new_instance_ids: r.newInstanceIds, now_serving: r.nowServing, message: r.message,
});
export const fromSwapResponseWire = (w: SwapResponseWire): SwapResult => ({
  role: w.role, oldInstanceIds: w.old_instance_ids ?? [], newInstanceIds: w.new_instance_ids ?? [], nowServing: w.now_serving, message: w.message,
});
export const toInstructionsWire = (i: Instructions): InstructionsWire => ({ role: i.role, text: i.text, revision: i.revision });
export const fromInstructionsWire = (w: InstructionsWire): Instructions => ({ role: w.role, text: w.text, revision: Number(w.revision) });
export const fromWatchRequestWire = (w: WatchRequestWire): WatchFilter => ({
  ...(w.subject ? { subject: w.subject } : {}),
  ...(w.kinds?.length ? { kinds: w.kinds } : {}),
});
export const toMessageEventWire = (e: MessageEvent): MessageEventWire => ({
  subject: e.subject, kind: e.kind, size: e.size, latency_ms: e.latencyMs, trace_id: e.traceId, time: e.time,
  sender_role: e.senderRole ?? '', message_id: e.messageId ?? '', detail: e.detail ?? '',
});
export const fromMessageEventWire = (w: MessageEventWire): MessageEvent => ({
  subject: w.subject, kind: w.kind, size: Number(w.size), latencyMs: Number(w.latency_ms), traceId: w.trace_id, time: Number(w.time),
  ...(w.sender_role ? { senderRole: w.sender_role } : {}),
  ...(w.message_id ? { messageId: w.message_id } : {}),
  ...(w.detail ? { detail: w.detail } : {}),
});
