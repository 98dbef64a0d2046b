// Every NATS subject, stream, consumer and bucket name the society uses, in one place.
// A message kind `a.b` travels on `troupe.msg.a.b`; its dead letters on `troupe.dlq.a.b`.

/** Prefix of all work messages. One subject per message kind. */
export const MESSAGE_PREFIX = 'troupe.msg';
/** Prefix of dead letters: messages that failed validation or exhausted their retries. */
export const DEAD_LETTER_PREFIX = 'troupe.dlq';
/** Prefix of per-instance control requests (drain, stop). */
export const INSTANCE_CONTROL_PREFIX = 'troupe.ctl.instance';

/** JetStream stream holding every work message (`troupe.msg.>`). */
export const MESSAGE_STREAM = 'TROUPE_MSG';
/** JetStream stream holding dead letters (`troupe.dlq.>`). */
export const DEAD_LETTER_STREAM = 'TROUPE_DLQ';
/** KV bucket of live role instances (entries expire when heartbeats stop). */
export const REGISTRY_BUCKET = 'troupe_registry';
/** KV bucket of role instructions (one key per role, revisioned). */
export const INSTRUCTIONS_BUCKET = 'troupe_instructions';
/** Object store bucket for large artifacts (weights, exports). */
/** KV bucket of work runs: one entry per run id, its state (running, cancelled, finished) and heartbeat. */
export const RUNS_BUCKET = 'troupe_runs';
export const ARTIFACTS_BUCKET = 'troupe_artifacts';

/** Header carrying the message kind, so `troupe watch` need not parse bodies. */
export const KIND_HEADER = 'Troupe-Kind';
/** JetStream's publish-deduplication header. */
export const MSG_ID_HEADER = 'Nats-Msg-Id';

/** Kind names: lowercase dot-separated words, e.g. `task.proposed`, `pipeline.stage0`. */
export const KIND_PATTERN = /^[a-z][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)*$/;
/** Role names: lowercase words joined by dashes, e.g. `user-simulator`. */
export const ROLE_PATTERN = /^[a-z][a-z0-9-]*$/;

export function messageSubject(kind: string): string {
  return `${MESSAGE_PREFIX}.${kind}`;
}

export const ALL_MESSAGES = `${MESSAGE_PREFIX}.>`;
export const ALL_DEAD_LETTERS = `${DEAD_LETTER_PREFIX}.>`;

/** Kind encoded in a message subject, or undefined when the subject is not a message subject. */
export function kindOfSubject(subject: string): string | undefined {
  return subject.startsWith(`${MESSAGE_PREFIX}.`) ? subject.slice(MESSAGE_PREFIX.length + 1) : undefined;
}

/** Dead-letter subject for a kind; `_unknown` when the kind itself could not be read. */
export function deadLetterSubject(kind: string | undefined): string {
  return `${DEAD_LETTER_PREFIX}.${kind && KIND_PATTERN.test(kind) ? kind : '_unknown'}`;
}

export function instanceControlSubject(instanceId: string): string {
  return `${INSTANCE_CONTROL_PREFIX}.${instanceId}`;
}

/** Durable consumer shared by all replicas of `role` for one message kind. */
export function roleConsumerName(role: string, kind: string): string {
  return `role_${role}_${kind}`.replace(/[.]/g, '_');
}
