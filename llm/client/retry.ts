// Retry policy: exponential backoff with full jitter, honouring the server's Retry-After.

export interface RetryPolicy {
  /** Retries after the first attempt (so maxRetries + 1 attempts in all). */
  maxRetries: number;
  /** Base delay of the first retry, in ms. */
  baseDelayMs: number;
  /** Upper bound of one computed backoff delay, in ms. */
  maxDelayMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { maxRetries: 4, baseDelayMs: 500, maxDelayMs: 20_000 };

/** Upper bound for a server-requested wait; a longer Retry-After is clamped to this. */
const maxRetryAfterMs = 60_000;

/**
 * Delay before retry number `retry` (0 for the first retry). Full jitter: uniform in
 * [0.5, 1] × base·2^retry, so clients that failed together do not retry together.
 */
export function backoffDelayMs(policy: RetryPolicy, retry: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
  return Math.round(ceiling * (0.5 + 0.5 * random()));
}

/**
 * Parse Retry-After (seconds or an HTTP date) or the non-standard retry-after-ms header.
 * Returns undefined when absent or unparsable.
 */
export function retryAfterMs(headers: { get(name: string): string | null } | undefined, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = headers.get('retry-after-ms');
  if (ms != null && ms.trim() !== '' && Number.isFinite(Number(ms))) return clampWait(Number(ms));
  const value = headers.get('retry-after');
  if (value == null || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return clampWait(seconds * 1000);
  const date = Date.parse(value);
  if (Number.isFinite(date)) return clampWait(date - now);
  return undefined;
}

function clampWait(ms: number): number {
  return Math.min(maxRetryAfterMs, Math.max(0, Math.round(ms)));
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
