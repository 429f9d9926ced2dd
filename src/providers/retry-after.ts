/**
 * Parses a Retry-After header (delta-seconds or an HTTP date) into milliseconds from `now`.
 * Returns undefined for a missing or unreadable value; a date in the past means "now" (0).
 */
export function parseRetryAfter(
  value: string | string[] | undefined,
  now: number = Date.now(),
): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined) return undefined;
  const text = raw.trim();
  if (text === '') return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // Only an HTTP-date (e.g. "Wed, 21 Oct 2015 07:28:00 GMT"); Date.parse would also take "-5" as a year.
  if (!/^[A-Za-z]{3},? /.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}
