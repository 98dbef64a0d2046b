// The envelope every message travels in, and the registry of message kinds (one zod schema each).
// Trace context does not live here: it travels in NATS headers (W3C `traceparent`).
import { z } from 'zod';
import { KIND_PATTERN, ROLE_PATTERN, messageSubject } from './subjects.ts';

export const SenderSchema = z.object({
  role: z.string().min(1),
  instance: z.string().min(1),
  impl: z.string().optional(),
});
export type Sender = z.infer<typeof SenderSchema>;

export const EnvelopeSchema = z.object({
  /** Unique message id; also the JetStream dedupe id unless `key` is set. */
  id: z.string().min(1).max(200),
  kind: z.string().regex(KIND_PATTERN),
  /** Schema version of `data` for this kind. */
  v: z.number().int().positive(),
  from: SenderSchema,
  /** Epoch ms when this message was published. */
  sentAt: z.number(),
  /** Epoch ms when the work item this message belongs to was first created (end-to-end latency). */
  originAt: z.number().optional(),
  /** Id of the message whose handling produced this one. */
  causedBy: z.string().optional(),
  /** Idempotency key: publishing twice with the same key within the dedupe window stores one copy. */
  key: z.string().min(1).max(200).optional(),
  /** The work run this message belongs to (`troupe cancel RUN` drops the rest); carried to every output. */
  run: z.string().min(1).max(200).optional(),
  data: z.unknown(),
});
export type Envelope<T = unknown> = Omit<z.infer<typeof EnvelopeSchema>, 'data'> & { data: T };

export interface MessageDef<T = unknown> {
  kind: string;
  version: number;
  schema: z.ZodType<T>;
  subject: string;
  description?: string;
}

const registry = new Map<string, MessageDef<any>>();

/** Declare a message kind. Declaring the same kind twice with a different schema is an error. */
export function defineMessage<S extends z.ZodType>(
  kind: string,
  schema: S,
  opts: { version?: number; description?: string } = {},
): MessageDef<z.infer<S>> {
  if (!KIND_PATTERN.test(kind)) throw new Error(`invalid message kind "${kind}": use lowercase dot-separated words`);
  const existing = registry.get(kind);
  if (existing) {
    if (existing.schema === schema) return existing;
    throw new Error(`message kind "${kind}" is already defined`);
  }
  const def: MessageDef<z.infer<S>> = {
    kind,
    version: opts.version ?? 1,
    schema: schema as z.ZodType<z.infer<S>>,
    subject: messageSubject(kind),
    description: opts.description,
  };
  registry.set(kind, def);
  return def;
}

export function messageDef(kind: string): MessageDef | undefined {
  return registry.get(kind);
}

export function messageKinds(): MessageDef[] {
  return [...registry.values()];
}

export function isRoleName(name: string): boolean {
  return ROLE_PATTERN.test(name);
}

export type Validation<T> = { ok: true; envelope: Envelope<T> } | { ok: false; reason: string; kind?: string };

function issues(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');
}

/** Validate data against its kind's schema (publish side). */
export function validateData<T>(def: MessageDef<T>, data: unknown): { ok: true; data: T } | { ok: false; reason: string } {
  const r = def.schema.safeParse(data);
  return r.success ? { ok: true, data: r.data } : { ok: false, reason: `${def.kind} v${def.version}: ${issues(r.error)}` };
}

/**
 * Decode and validate a received body: JSON, envelope shape, known kind, matching version, data schema.
 * `expectedKind` is the kind implied by the subject; a body claiming another kind is rejected.
 */
export function decodeEnvelope<T = unknown>(body: Uint8Array | string, expectedKind?: string): Validation<T> {
  let raw: unknown;
  try {
    raw = JSON.parse(typeof body === 'string' ? body : new TextDecoder().decode(body));
  } catch (err) {
    return { ok: false, reason: `body is not JSON: ${(err as Error).message}`, kind: expectedKind };
  }
  const env = EnvelopeSchema.safeParse(raw);
  if (!env.success) return { ok: false, reason: `envelope: ${issues(env.error)}`, kind: expectedKind };
  const e = env.data;
  if (expectedKind && e.kind !== expectedKind) {
    return { ok: false, reason: `envelope kind "${e.kind}" does not match subject kind "${expectedKind}"`, kind: expectedKind };
  }
  const def = registry.get(e.kind);
  if (!def) return { ok: false, reason: `unknown message kind "${e.kind}"`, kind: e.kind };
  if (e.v !== def.version) return { ok: false, reason: `${e.kind}: schema version ${e.v} not supported (expected ${def.version})`, kind: e.kind };
  const d = validateData(def, e.data);
  if (!d.ok) return { ok: false, reason: d.reason, kind: e.kind };
  return { ok: true, envelope: { ...e, data: d.data as T } };
}
