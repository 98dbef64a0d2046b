// The telecom domain lives on a fixed day. Dates are ISO `YYYY-MM-DD` strings; arithmetic goes
// through UTC so no local time zone can shift a day.

/** τ²'s `get_today()`. */
export const TODAY = '2025-02-25';
/** τ²'s `get_now()`, in Python's `str(datetime)` form. */
export const NOW = '2025-02-25 12:08:00';

function toUtc(iso: string): Date {
  const [y, m, d] = iso.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d));
}

function fromUtc(d: Date): string {
  return d.toISOString().slice(0, 10);
}

export function addDays(iso: string, days: number): string {
  const d = toUtc(iso);
  d.setUTCDate(d.getUTCDate() + days);
  return fromUtc(d);
}

/** The first day of the month of `iso`. */
export function firstOfMonth(iso: string): string {
  return iso.slice(0, 8) + '01';
}

/** The first day of the month after the month of `iso`. */
export function firstOfNextMonth(iso: string): string {
  const d = toUtc(firstOfMonth(iso));
  d.setUTCMonth(d.getUTCMonth() + 1);
  return fromUtc(d);
}

/** The last day of the month before the month of `iso`. */
export function lastOfPreviousMonth(iso: string): string {
  return addDays(firstOfMonth(iso), -1);
}

/** Python `str(datetime)` of an ISO datetime text: the `T` separator becomes a space. */
export function pyDatetimeText(v: unknown): unknown {
  return typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?/.test(v) ? v.replace('T', ' ') : v;
}
