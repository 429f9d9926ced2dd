/**
 * A point in time as people and scripts write it on a command line or in a query string: an ISO 8601 date
 * (`2026-11-20`, `2026-11-20T08:30:00Z`, with an offset or fraction; without one, UTC), epoch milliseconds (`1795625094116`),
 * or a span back from now (`90s`, `30m`, `1h`, `7d`, `2w`). Returns epoch ms, or undefined for anything else.
 */
export function parseTimeBound(text: string, now: number): number | undefined {
  // Bounded first, so no pattern below ever sees a long input.
  if (text.length === 0 || text.length > MAX_LENGTH) return undefined;
  const relative = RELATIVE.exec(text);
  if (relative) return now - Number(relative[1]) * (UNIT_MS[relative[2] as Unit] ?? 0);
  if (EPOCH_MS.test(text)) return Number(text);
  const iso = ISO_DATE.exec(text);
  if (!iso || !isCalendarDate(text.slice(0, 10))) return undefined;
  // A time of day without an offset is UTC, as a date alone is (JavaScript would read it as local time).
  const ms = Date.parse(iso[1] !== undefined && iso[2] === undefined ? `${text}Z` : text);
  return Number.isFinite(ms) ? ms : undefined;
}

/** `2026-02-31` is no day, though Date.parse reads it as March 3rd. */
function isCalendarDate(day: string): boolean {
  const [year, month, date] = day.split('-').map(Number) as [number, number, number];
  const parsed = new Date(Date.UTC(year, month - 1, date));
  return parsed.getUTCMonth() === month - 1 && parsed.getUTCDate() === date;
}

/** What a refusal says the value may be. */
export const TIME_BOUND_FORMS =
  'an ISO 8601 date, epoch milliseconds, or a span back from now like 30m, 1h, 7d';

const MAX_LENGTH = 40;
const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
type Unit = keyof typeof UNIT_MS;
const RELATIVE = /^(\d{1,9})(ms|s|m|h|d|w)$/;
// 13 digits and more: a date in seconds (10 digits) would read as 1970 and list everything, so it is refused.
const EPOCH_MS = /^\d{12,15}$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?$/;
