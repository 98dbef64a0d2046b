// Redaction of secrets before anything leaves the process (span files, OTLP, logs).
// Two nets: attribute keys that name a credential, and value patterns that look like one wherever
// they appear (a bearer header pasted into an error message is still a secret).
import type { Attributes, AttributeValue } from '@opentelemetry/api';

export const REDACTED = '[REDACTED]';

/** Key segments (split on . _ - and camelCase) that name a credential. */
const SECRET_SEGMENTS = new Set([
  'authorization', 'auth', 'token', 'apikey', 'password', 'passwd', 'pwd', 'pass', 'secret', 'secrets',
  'credential', 'credentials', 'creds', 'nkey', 'seed', 'cookie', 'jwt', 'bearer', 'privatekey', 'sessionkey',
]);
/** Joined forms that span two segments, e.g. api_key, access-token, private_key. */
const SECRET_JOINED = /(api_?key|access_?token|refresh_?token|id_?token|private_?key|client_?secret|x_?api_?key)/;

function keySegments(key: string): string[] {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

// Attribute keys repeat endlessly (a few dozen names), so their verdicts are cached.
const keyVerdicts = new Map<string, boolean>();

/** True when an attribute / header / field name says it holds a credential. */
export function isSecretKey(key: string): boolean {
  const cached = keyVerdicts.get(key);
  if (cached !== undefined) return cached;
  const segs = keySegments(key);
  const secret = segs.some((s) => SECRET_SEGMENTS.has(s)) || SECRET_JOINED.test(segs.join('_'));
  if (keyVerdicts.size > 10_000) keyVerdicts.clear();
  keyVerdicts.set(key, secret);
  return secret;
}

const VALUE_PATTERNS: Array<[RegExp, string]> = [
  // Authorization header schemes.
  [/\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]{6,}/gi, `$1 ${REDACTED}`],
  // Provider keys: OpenAI / Anthropic (sk-, sk-ant-, sk-proj-), Hugging Face, GitHub, AWS access key id, Slack.
  [/\bsk-[A-Za-z0-9_-]{8,}/g, REDACTED],
  [/\bhf_[A-Za-z0-9]{16,}/g, REDACTED],
  [/\bgh[pousr]_[A-Za-z0-9]{20,}/g, REDACTED],
  [/\bAKIA[0-9A-Z]{16}\b/g, REDACTED],
  [/\bxox[abprs]-[A-Za-z0-9-]{10,}/g, REDACTED],
  // JWTs (NATS user JWTs, OAuth id tokens).
  [/\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g, REDACTED],
  // NATS nkey seeds: 'S' + key-type letter + base32.
  [/\bS[UOANCXP][A-Z2-7]{50,}\b/g, REDACTED],
  // Credentials inside URLs: scheme://user:pass@host.
  [/\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)[^\s@/]+@/gi, `$1${REDACTED}@`],
  // key=value / "key": "value" pairs inside free text (query strings, JSON, env dumps).
  [
    /((?:api[_-]?key|apikey|access[_-]?token|auth[_-]?token|token|password|passwd|secret|client[_-]?secret|authorization|nkey|seed)["']?\s*[:=]\s*["']?)(?!\[REDACTED\]|(?:Bearer|Basic|Token)\s)[^\s"',&;}]+/gi,
    `$1${REDACTED}`,
  ],
];

/**
 * Cheap first pass: every pattern below needs one of these fragments, so a string without any of
 * them (most subjects, kinds, ids) skips the ten full scans.
 */
const MAYBE_SECRET = /bearer|basic|token|sk-|hf_|gh[pousr]_|AKIA|xox|eyJ|S[UOANCXP][A-Z2-7]{20}|:\/\/|key|pass|secret|auth|nkey|seed/i;

/** Replace every credential-looking substring of a free text (error messages, log lines, prompts). */
export function redactText(text: string): string {
  if (!MAYBE_SECRET.test(text)) return text;
  let out = text;
  for (const [re, sub] of VALUE_PATTERNS) out = out.replace(re, sub);
  return out;
}

/**
 * Redact one attribute value given its key. Key-based redaction applies to strings only: numbers and
 * booleans are never credentials, and keeping them preserves token counts (`gen_ai.usage.input_tokens`)
 * and sampling seeds.
 */
export function redactValue(key: string, value: AttributeValue | undefined): AttributeValue | undefined {
  if (value === undefined || value === null) return value;
  const secretKey = isSecretKey(key);
  if (typeof value === 'string') return secretKey ? REDACTED : redactText(value);
  if (Array.isArray(value)) {
    return (value as Array<unknown>).map((v) =>
      typeof v === 'string' ? (secretKey ? REDACTED : redactText(v)) : v,
    ) as AttributeValue;
  }
  return value;
}

/** A redacted copy of a set of span / event / resource attributes. */
export function redactAttributes(attrs: Attributes): Attributes {
  const out: Attributes = {};
  for (const [k, v] of Object.entries(attrs)) out[k] = redactValue(k, v);
  return out;
}

/** Redact a plain object (e.g. a log record or request headers) recursively, by key and by value. */
export function redactObject<T>(value: T, depth = 0): T {
  if (depth > 8) return value;
  if (typeof value === 'string') return redactText(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactObject(v, depth + 1)) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      out[k] = typeof v === 'string' && isSecretKey(k) ? REDACTED : redactObject(v, depth + 1);
    }
    return out as T;
  }
  return value;
}
