// Lineage of everything the evolver may rewrite: role instructions (key = role name) and typed JSON
// values — plans (`plan.<name>`) and workflow parameters (`params.<name>`) — all in the instructions
// KV bucket. Each KV entry is an envelope: the payload (`text` for instructions, `value` for JSON)
// beside its lineage fields, so one KV revision is one atomic (value, lineage) pair and the bucket's
// own history is the lineage history. Nothing is kept in a parallel key that could drift.
import type { KV } from '@nats-io/kv';
import { z } from 'zod';
import { getInstructions, InstructionsValueSchema, setInstructions, type Instructions, type InstructionsValue } from './instructions.ts';

/** The lineage fields every envelope carries (the instructions schema less its `text`). */
export const LineageFieldsSchema = InstructionsValueSchema.omit({ text: true });
export type LineageFields = z.infer<typeof LineageFieldsSchema>;
export type LineageAction = NonNullable<LineageFields['action']>;

/** Lineage of one revision, normalised for display and for the evolver. */
export interface Lineage {
  key: string;
  revision: number;
  parent?: number;
  failures: string[];
  rationale: string;
  /** "human", a tool name ("troupe up"), or `<role>/<instance>` for an actor. */
  author: string;
  /** Milliseconds since the epoch. */
  createdAt: number;
  action: LineageAction;
  restores?: number;
}

export interface LineageMeta {
  author: string;
  rationale?: string;
  failures?: string[];
  /** Defaults to the current revision of the key. */
  parent?: number;
  action?: LineageAction;
  restores?: number;
}

export function lineageOf(key: string, revision: number, f: LineageFields): Lineage {
  return {
    key,
    revision,
    parent: f.parent,
    failures: f.failures ?? [],
    // Values written before lineage had a rationale field carry their reason in `note`.
    rationale: f.rationale ?? f.note ?? '',
    author: f.author,
    createdAt: f.at,
    action: f.action ?? 'set',
    restores: f.restores,
  };
}

// ---------------------------------------------------------------------------------------------
// Keys

export type ValueKind = 'plan' | 'params';
const NAME = /^[-_=/a-zA-Z0-9]+$/;

/** Key of a typed JSON value; the name may not contain '.', so `plan.x` never collides with a role. */
export function valueKey(kind: ValueKind, name: string): string {
  if (!NAME.test(name)) throw new Error(`bad ${kind} name "${name}": use letters, digits, '-', '_', '=', '/'`);
  return `${kind}.${name}`;
}

/** Role names are plain keys; a '.' is reserved for the typed-value prefixes. */
export function checkRoleKey(role: string): string {
  if (!NAME.test(role)) throw new Error(`bad role name "${role}": use letters, digits, '-', '_', '=', '/'`);
  return role;
}

export function isValueKey(key: string): boolean {
  return key.startsWith('plan.') || key.startsWith('params.') || key.startsWith(CANDIDATE_PARAMS_PREFIX);
}

/**
 * Where a candidate revision of a role's instructions waits while it is validated: live roles
 * watch `<role>` only, so nothing runs it until it is promoted.
 */
export function candidateKey(role: string): string {
  return `candidate.${checkRoleKey(role)}`;
}

const CANDIDATE_PARAMS_PREFIX = 'candidate.params-';

/**
 * Where a candidate revision of a role's workflow parameters (`params.<role>`) waits while it is
 * validated: `candidate.params-<role>`, a typed value key. No role is named `params-…`, so it never
 * collides with `candidateKey(role)`; a run reads it only through `overrides.params[role]`.
 */
export function candidateParamsKey(role: string): string {
  return `${CANDIDATE_PARAMS_PREFIX}${checkRoleKey(role)}`;
}

// ---------------------------------------------------------------------------------------------
// Typed JSON values (plans, workflow parameters)

export const ValueEnvelopeSchema = LineageFieldsSchema.extend({ value: z.unknown().optional() });

export interface Versioned<T> {
  key: string;
  revision: number;
  value: T;
  lineage: Lineage;
}

function decodeValue<T>(key: string, revision: number, json: unknown, schema: z.ZodType<T>): Versioned<T> {
  const env = ValueEnvelopeSchema.parse(json);
  if (!('value' in env)) throw new Error(`${key}@${revision}: envelope has no "value"`);
  const parsed = schema.safeParse(env.value);
  if (!parsed.success) throw new Error(`${key}@${revision}: value does not match its schema: ${parsed.error.message}`);
  return { key, revision, value: parsed.data, lineage: lineageOf(key, revision, env) };
}

export async function getValue<T>(kv: KV, key: string, schema: z.ZodType<T>, revision?: number): Promise<Versioned<T> | null> {
  const e = await kv.get(key, revision ? { revision } : undefined);
  if (!e || e.operation !== 'PUT') return null;
  return decodeValue(key, e.revision, e.json(), schema);
}

/** Validate and write a new revision of a typed value; the parent defaults to the current revision. */
export async function putValue<T>(kv: KV, key: string, schema: z.ZodType<T>, value: T, meta: LineageMeta): Promise<Versioned<T>> {
  const checked = schema.safeParse(value);
  if (!checked.success) throw new Error(`${key}: value does not match its schema: ${checked.error.message}`);
  const parent = meta.parent ?? (await kv.get(key))?.revision;
  const env = envelope(meta, parent);
  const revision = await kv.put(key, JSON.stringify({ ...env, value: checked.data }));
  return { key, revision, value: checked.data, lineage: lineageOf(key, revision, env) };
}

export async function valueHistory<T>(kv: KV, key: string, schema: z.ZodType<T>): Promise<Versioned<T>[]> {
  const out: Versioned<T>[] = [];
  for await (const e of await kv.history({ key })) if (e.operation === 'PUT') out.push(decodeValue(key, e.revision, e.json(), schema));
  return out;
}

/** Call `onChange` with every new revision of `key`; bad values are reported, not passed on. */
export async function watchValue<T>(kv: KV, key: string, schema: z.ZodType<T>, onChange: (v: Versioned<T>) => void): Promise<() => void> {
  const it = await kv.watch({ key, include: 'updates' as any });
  (async () => {
    for await (const e of it) {
      if (e.operation !== 'PUT') continue;
      try {
        onChange(decodeValue(key, e.revision, e.json(), schema));
      } catch (err) {
        console.error(`instructions: bad value for ${key}@${e.revision}: ${(err as Error).message}`);
      }
    }
  })();
  return () => it.stop();
}

function envelope(meta: LineageMeta, parent: number | undefined): LineageFields {
  return {
    author: meta.author,
    parent,
    at: Date.now(),
    rationale: meta.rationale,
    failures: meta.failures?.length ? meta.failures : undefined,
    action: meta.action ?? 'set',
    restores: meta.restores,
  };
}

// ---------------------------------------------------------------------------------------------
// Any entry (instructions or typed value), for the CLI and the evolver

export interface Entry {
  key: string;
  revision: number;
  kind: 'instructions' | 'value';
  /** The text of instructions, or the value as pretty JSON (what show and diff print). */
  body: string;
  /** The raw payload: the text, or the JSON value. */
  payload: unknown;
  lineage: Lineage;
}

const AnyEnvelopeSchema = LineageFieldsSchema.extend({ text: z.string().optional(), value: z.unknown().optional() });

function decodeEntry(key: string, revision: number, json: unknown): Entry {
  const env = AnyEnvelopeSchema.parse(json);
  const lineage = lineageOf(key, revision, env);
  if (typeof env.text === 'string') return { key, revision, kind: 'instructions', body: env.text, payload: env.text, lineage };
  if (!('value' in env)) throw new Error(`${key}@${revision}: envelope has neither "text" nor "value"`);
  return { key, revision, kind: 'value', body: JSON.stringify(env.value, null, 2) + '\n', payload: env.value, lineage };
}

export async function getEntry(kv: KV, key: string, revision?: number): Promise<Entry | null> {
  const e = await kv.get(key, revision ? { revision } : undefined);
  if (!e || e.operation !== 'PUT') return null;
  if (revision && e.revision !== revision) return null;
  return decodeEntry(key, e.revision, e.json());
}

export async function entryHistory(kv: KV, key: string): Promise<Entry[]> {
  const out: Entry[] = [];
  for await (const e of await kv.history({ key })) if (e.operation === 'PUT') out.push(decodeEntry(key, e.revision, e.json()));
  return out;
}

/** Write a new revision of `key` with this payload (text for a role, JSON for plan./params.). */
export async function setEntry(kv: KV, key: string, payload: unknown, meta: LineageMeta): Promise<Entry> {
  if (isValueKey(key)) {
    const v = await putValue(kv, key, z.unknown(), payload, meta);
    return { key, revision: v.revision, kind: 'value', body: JSON.stringify(payload, null, 2) + '\n', payload, lineage: v.lineage };
  }
  checkRoleKey(key.startsWith('candidate.') ? key.slice('candidate.'.length) : key);
  if (typeof payload !== 'string') throw new Error(`${key}: instructions must be text`);
  const i = await setInstructions(kv, key, payload, { ...meta, action: meta.action ?? 'set' });
  return instructionsEntry(i);
}

export function instructionsEntry(i: Instructions): Entry {
  return { key: i.role, revision: i.revision, kind: 'instructions', body: i.text, payload: i.text, lineage: lineageOf(i.role, i.revision, i) };
}

/**
 * Roll `key` back to `revision`: a NEW revision whose payload equals that one's (history is never
 * rewritten, so a rollback can itself be rolled back). Its parent is the revision it replaces.
 */
export async function rollbackEntry(kv: KV, key: string, revision: number, meta: { author: string; rationale?: string; failures?: string[] }): Promise<Entry> {
  const old = await getEntry(kv, key, revision);
  if (!old) throw new Error(`${key}: no revision ${revision} (it may be older than the bucket's history)`);
  return setEntry(kv, key, old.payload, {
    ...meta,
    rationale: meta.rationale ?? `rollback to revision ${revision}`,
    action: 'rollback',
    restores: revision,
  });
}

/** Convenience for roles: the instructions text at a revision with its lineage. */
export async function instructionsWithLineage(kv: KV, role: string, revision?: number): Promise<{ instructions: Instructions; lineage: Lineage } | null> {
  const i = await getInstructions(kv, role, revision);
  return i && { instructions: i, lineage: lineageOf(role, i.revision, i as InstructionsValue) };
}

/**
 * Promote a validated candidate: write its text to the role's key as a new revision with
 * `action: promote`, carrying the candidate's failures and rationale (plus the decision's reason),
 * with the role's current revision as parent.
 */
export async function promoteCandidate(kv: KV, role: string, candidateRevision: number, meta: { author: string; reason?: string }): Promise<Entry> {
  const cand = await getEntry(kv, candidateKey(role), candidateRevision);
  if (!cand || cand.kind !== 'instructions') throw new Error(`${candidateKey(role)}: no candidate revision ${candidateRevision}`);
  const rationale = [cand.lineage.rationale, meta.reason].filter(Boolean).join(' — ');
  return setEntry(kv, role, cand.payload, { author: meta.author, rationale, failures: cand.lineage.failures, action: 'promote' });
}
