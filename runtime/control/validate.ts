// Request checks for the control plane, run before any handler: a bad field is refused with
// INVALID_ARGUMENT and a message naming it, cheaply (no NATS, no file system), whatever its size.
import { KIND_PATTERN } from '../../protocols/subjects.ts';
import { ControlError } from './types.ts';

/** Role names at this door: the society's pattern, bounded (a name is also a KV key and a subject token). */
export const CONTROL_ROLE_PATTERN = /^[a-z][a-z0-9-]{0,63}$/;
/** Instructions text: far above what a role's context holds (32k tokens ≈ 128 KiB), well under NATS' 1 MiB payload. */
export const MAX_INSTRUCTIONS_BYTES = 128 * 1024;
/** A module path for `impl_module`. */
export const MAX_MODULE_PATH_LENGTH = 1024;
/** Model names such as "local", "qwen2.5-7b-instruct", "Qwen/Qwen2.5-7B-Instruct", "hf:org/name:Q4_K_M". */
const MODEL_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:@+\/-]{0,255}$/;
/** Subject filters for WatchMessages: NATS tokens (wildcards allowed), 256 characters. */
const SUBJECT_TOKEN = /^([A-Za-z0-9_-]+|\*|>)$/;
const MAX_SUBJECT_LENGTH = 256;
export const MAX_WATCH_KINDS = 64;
const MAX_KIND_LENGTH = 128;
/** gRPC receive limit: above the sum of every field's bound, so the server refuses more before decoding. */
export const MAX_CONTROL_MESSAGE_BYTES = 1024 * 1024;

/** How a refused value is shown: its start and its length, never all of a 100k-character string. */
function shown(v: string): string {
  return v.length > 40 ? `"${v.slice(0, 40)}…" (${v.length} characters)` : JSON.stringify(v);
}

function refuse(field: string, why: string): never {
  throw new ControlError('INVALID_ARGUMENT', `${field}: ${why}`);
}

/** A role name; `optional` lets the empty string (= all roles) through. */
export function checkRole(field: string, v: unknown, optional = false): string {
  if (typeof v !== 'string') refuse(field, 'must be a string');
  if (v === '' && optional) return v;
  if (v === '') refuse(field, 'a role name is required');
  if (/[/\\]|\.\./.test(v)) refuse(field, `a role name, not a path (got ${shown(v)})`);
  if (!CONTROL_ROLE_PATTERN.test(v)) refuse(field, `must match ${CONTROL_ROLE_PATTERN.source} (got ${shown(v)})`);
  return v;
}

export function checkInstructionsText(field: string, v: unknown): string {
  if (typeof v !== 'string' || v === '') refuse(field, 'non-empty text is required');
  const bytes = Buffer.byteLength(v, 'utf8');
  if (bytes > MAX_INSTRUCTIONS_BYTES) refuse(field, `${bytes} bytes is over the limit of ${MAX_INSTRUCTIONS_BYTES}`);
  if (v.includes('\0')) refuse(field, 'must not contain NUL characters');
  return v;
}

/** A role name or the path of a role module (.ts/.mts/.cts/.js/.mjs/.cjs): the swap loads it. */
export function checkModule(field: string, v: string): string {
  if (v.length > MAX_MODULE_PATH_LENGTH) refuse(field, `${v.length} characters is over the limit of ${MAX_MODULE_PATH_LENGTH}`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f]/.test(v)) refuse(field, 'must not contain control characters');
  if (!CONTROL_ROLE_PATTERN.test(v) && !/\.[cm]?[jt]s$/.test(v)) refuse(field, `a role name or a module file (.ts, .mts, .js, .mjs …), got ${shown(v)}`);
  return v;
}

export function checkModel(field: string, v: string): string {
  if (!MODEL_PATTERN.test(v) || /(^|\/)\.\.(\/|$)/.test(v)) refuse(field, `a model name (letters, digits and . _ : @ + / -, at most 256, no ".." segments), got ${shown(v)}`);
  return v;
}

export function checkWatch(subject: unknown, kinds: unknown): void {
  if (typeof subject !== 'string') refuse('subject', 'must be a string');
  if (subject !== '') {
    if (subject.length > MAX_SUBJECT_LENGTH) refuse('subject', `${subject.length} characters is over the limit of ${MAX_SUBJECT_LENGTH}`);
    const tokens = subject.split('.');
    if (!tokens.every((t) => SUBJECT_TOKEN.test(t)) || tokens.slice(0, -1).includes('>')) {
      refuse('subject', `a NATS subject filter (tokens of letters, digits, _ and -, or * and a final >), got ${shown(subject)}`);
    }
  }
  if (!Array.isArray(kinds)) refuse('kinds', 'must be a list');
  if (kinds.length > MAX_WATCH_KINDS) refuse('kinds', `${kinds.length} kinds is over the limit of ${MAX_WATCH_KINDS}`);
  for (const k of kinds) {
    if (typeof k !== 'string' || k.length > MAX_KIND_LENGTH || !KIND_PATTERN.test(k)) refuse('kinds', `not a message kind: ${shown(String(k))}`);
  }
}
