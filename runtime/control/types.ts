// TypeScript shapes of the control plane (protocols/control.proto), camelCase on the TS side.
// The server converts to / from the proto's snake_case fields.

export interface RoleInstance {
  role: string;
  implementation: string;
  version: string;
  instanceId: string;
  host: string;
  pid: number;
  /** Epoch ms of the last heartbeat. */
  heartbeatMs: number;
  inFlight: number;
  model: string;
  handled: number;
  failed: number;
  deadLettered: number;
  /** 0 when the instance uses no instructions. */
  instructionsRevision: number;
  state: string;
}

/** Exactly one of implModule, model, instructions. */
export type SwapRequest =
  | { role: string; implModule: string; model?: undefined; instructions?: undefined }
  | { role: string; model: string; implModule?: undefined; instructions?: undefined }
  | { role: string; instructions: string; implModule?: undefined; model?: undefined };

export interface SwapResult {
  role: string;
  oldInstanceIds: string[];
  newInstanceIds: string[];
  /** Implementation id / model / instructions revision now in effect. */
  nowServing: string;
  message: string;
}

export interface Instructions {
  role: string;
  text: string;
  /** KV revision, 0 when none is stored. */
  revision: number;
}

export interface WatchFilter {
  /** NATS subject filter; empty/undefined = all society subjects. */
  subject?: string;
  /** Only these kinds; empty = all. */
  kinds?: string[];
}

export interface MessageEvent {
  subject: string;
  kind: string;
  size: number;
  latencyMs: number;
  traceId: string;
  /** Epoch ms when seen. */
  time: number;
  senderRole?: string;
  messageId?: string;
  /** Extra line for humans, e.g. a dead letter's reason. */
  detail?: string;
}

/**
 * What the control server asks of the runtime. Implemented from the registry / instruction store.
 * Throw `new ControlError('NOT_FOUND' | 'INVALID_ARGUMENT' | 'FAILED_PRECONDITION' | ..., msg)` to
 * give the client a specific gRPC status; any other error becomes INTERNAL with its (redacted) message.
 */
export interface ControlHandlers {
  listRoles(role?: string): Promise<RoleInstance[]>;
  swapRole(req: SwapRequest): Promise<SwapResult>;
  getInstructions(role: string): Promise<Instructions>;
  setInstructions(role: string, text: string): Promise<Instructions>;
  /** Yield events until `signal` aborts (client cancelled or server stopping). */
  watchMessages(filter: WatchFilter, signal: AbortSignal): AsyncIterable<MessageEvent>;
}

export type ControlErrorCode =
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  | 'FAILED_PRECONDITION'
  | 'UNAVAILABLE'
  | 'UNAUTHENTICATED'
  | 'INTERNAL'
  | 'ALREADY_EXISTS'
  | 'DEADLINE_EXCEEDED'
  | 'CANCELLED'
  | 'UNIMPLEMENTED'
  | 'PERMISSION_DENIED'
  | 'ABORTED';

export class ControlError extends Error {
  constructor(readonly code: ControlErrorCode, message: string) {
    super(message);
    this.name = 'ControlError';
  }
}
