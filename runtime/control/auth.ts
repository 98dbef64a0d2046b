// Bearer-token check for the control plane. Tokens are compared as SHA-256 digests with
// timingSafeEqual, so the comparison takes the same time whatever the length or content.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A fresh random token (32 bytes, base64url). */
export function generateControlToken(): string {
  return randomBytes(32).toString('base64url');
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

export function tokensEqual(expected: string, given: string): boolean {
  return timingSafeEqual(digest(expected), digest(given));
}

/** The token from an `authorization` metadata value ("Bearer <token>"), or undefined. */
export function bearerToken(value: string | Buffer | undefined): string | undefined {
  if (value === undefined) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(String(value));
  return m ? m[1] : undefined;
}
