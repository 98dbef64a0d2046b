// What a role module is: an XState v5 machine plus metadata. The host creates one actor per work
// item (input = the message), collects the messages it emits, publishes them when the actor reaches
// a final state, and then acks the input. A role therefore holds no state between items.
// A role may also answer request/reply subjects (`serves`): one actor per request, and the reply is
// the machine's output (its final state's `output`); a machine that errors answers with an rpc-error.
import type { AnyStateMachine } from 'xstate';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Envelope, MessageDef } from '../../protocols/envelope.ts';
import { isRoleName } from '../../protocols/envelope.ts';
import type { LiveSource } from '../instructions/live.ts';
import type { NatsSettings } from '../nats/connect.ts';

/** Event a role machine emits (XState `emit`) to publish a message. Build it with `output()`. */
export interface PublishEvent {
  type: 'troupe.publish';
  kind: string;
  data: unknown;
}

/** Input every role machine receives. */
export interface RoleInput<T = unknown> {
  message: Envelope<T>;
  data: T;
  /** 1 on first delivery, 2+ when redelivered (after a crash, a failure or a drain). */
  delivery: number;
  role: { name: string; impl: string; instance: string };
  model?: string;
  /**
   * The role's instructions: with a live source, the revision current when this item STARTED (an
   * item in flight keeps it); otherwise what the host was given at start. `key` is the KV key read.
   */
  instructions?: { text: string; revision: number; key?: string };
  /** The role's workflow parameters (`params.<role>`), same rules; absent when none are set. */
  params?: { value: unknown; revision: number; key?: string };
  /** The host's live view of the instructions bucket, for roles that resolve other keys per item (run overrides). */
  live?: LiveSource;
}

/**
 * A core-NATS request/reply subject a role answers (e.g. one dialogue's turns): the host runs one
 * machine actor per request and replies with its output. Requests are not stored: a lost one is the
 * caller's timeout, and the caller decides whether to ask again.
 */
export interface ServedRequest {
  subject: string;
  /** Queue group: the role's replicas (and any other server in the group) share the requests. */
  queue: string;
  request: MessageDef<any>;
  reply: MessageDef<any>;
}

export interface RoleDefinition {
  /** Role name, e.g. `critic`. */
  name: string;
  /** Implementation id, e.g. `critic-llm@2`; recorded in the registry and on every output. */
  impl: string;
  version: string;
  /** JetStream work kinds, one shared durable consumer each (may be empty for a role that only `serves`). */
  consumes: MessageDef<any>[];
  produces: MessageDef<any>[];
  /** Request/reply subjects answered by the machine (its output is the reply). */
  serves?: ServedRequest[];
  /** Machine with input RoleInput; emits PublishEvent; reaches a final state when done with the item. */
  machine: AnyStateMachine;
  /** Items handled at once per instance (default 16). */
  concurrency?: number;
  /** Longest time one item may take before it counts as failed (default 10 min). */
  timeoutMs?: number;
}

/** What a worker gives a role module's `createRole(ctx)` (roles that need live dependencies). */
export interface RoleContext {
  nc: NatsConnection;
  /** The model the worker was asked to use for this role (`--model ROLE=MODEL`), if any. */
  model?: string;
  /** How the worker reached NATS (URL and credentials), for roles that hand the society's address on (the learner's rollouts and publishes). */
  nats?: NatsSettings;
}

export function defineRole(def: RoleDefinition): RoleDefinition {
  if (!isRoleName(def.name)) throw new Error(`invalid role name "${def.name}": lowercase words joined by dashes`);
  if (!def.consumes.length && !def.serves?.length) throw new Error(`role ${def.name}: consumes no message kind and serves no request subject`);
  return def;
}

/** The event to `emit` from a role machine to publish `data` as message kind `def`. */
export function output<T>(def: MessageDef<T>, data: T): PublishEvent {
  return { type: 'troupe.publish', kind: def.kind, data };
}
