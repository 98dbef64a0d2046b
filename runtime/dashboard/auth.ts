// Who may use the dashboard: whoever holds the control plane's token. A browser gets a session cookie
// from a one-time login link (printed by `troupe up`) or by pasting the token into the login form;
// scripts send `Authorization: Bearer <token>`. The cookie holds a value derived from the token, not
// the token itself, so a leaked cookie does not open the gRPC control plane.
import { createHash, randomBytes } from 'node:crypto';
import { bearerToken, tokensEqual } from '../control/auth.ts';

export const COOKIE_NAME = 'troupe_dashboard';
/** A login link works once, for this long. */
export const LOGIN_CODE_TTL_MS = 10 * 60_000;
const MAX_PENDING_CODES = 32;

export function sessionValue(token: string): string {
  return createHash('sha256').update(`troupe-dashboard-session\0${token}`, 'utf8').digest('base64url');
}

/** The value of cookie `name` in a Cookie header, or undefined. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header || header.length > 8192) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export class DashboardAuth {
  private readonly session: string;
  private readonly codes = new Map<string, number>();

  constructor(private readonly token: string) {
    if (!token) throw new Error('dashboard: a non-empty control token is required');
    this.session = sessionValue(token);
  }

  /** A fresh one-time login code. */
  newLoginCode(now = Date.now()): string {
    for (const [c, exp] of this.codes) if (exp < now) this.codes.delete(c);
    // Bounded: the oldest pending code goes first.
    while (this.codes.size >= MAX_PENDING_CODES) this.codes.delete(this.codes.keys().next().value!);
    const code = randomBytes(24).toString('base64url');
    this.codes.set(code, now + LOGIN_CODE_TTL_MS);
    return code;
  }

  /** True once per issued, unexpired code. */
  redeem(code: string, now = Date.now()): boolean {
    if (!/^[A-Za-z0-9_-]{32}$/.test(code)) return false;
    const exp = this.codes.get(code);
    if (exp === undefined) return false;
    this.codes.delete(code);
    return exp >= now;
  }

  tokenMatches(given: string): boolean {
    return given.length > 0 && given.length <= 512 && tokensEqual(this.token, given);
  }

  /** A request carries the bearer token or the session cookie. */
  authorized(headers: { authorization?: string; cookie?: string }): boolean {
    const bearer = bearerToken(headers.authorization);
    if (bearer !== undefined) return this.tokenMatches(bearer);
    const c = cookieValue(headers.cookie, COOKIE_NAME);
    return c !== undefined && c.length <= 128 && tokensEqual(this.session, c);
  }

  setCookieHeader(): string {
    return `${COOKIE_NAME}=${this.session}; HttpOnly; SameSite=Strict; Path=/`;
  }
}
