/**
 * How a simulated CDN task reports its progress while it runs, and how long tasks take: the shapes a
 * polling schedule has to cope with. Pure, so the polling benchmark runs the schedule against the very
 * functions the simulator answers with, on a virtual clock.
 */
export const PROGRESS_CURVES = ['linear', 'steps', 'stalled', 'none'] as const;
/**
 * - `linear`: rises evenly from 0 to 100 over the task;
 * - `steps`: the same line shown in 25% jumps (0, 25, 50, 75);
 * - `stalled`: 0% for most of the task (STALLED_SHARE of it), then rises quickly to done;
 * - `none`: no progress reported at all.
 */
export type ProgressCurve = (typeof PROGRESS_CURVES)[number];

/** The share of a `stalled` task spent at 0%. */
export const STALLED_SHARE = 0.9;
const STEP = 25;

export function isProgressCurve(value: string): value is ProgressCurve {
  return (PROGRESS_CURVES as readonly string[]).includes(value);
}

/** Progress (0..100, before the provider rounds it) `elapsedMs` into a task of `durationMs`; undefined for `none`. */
export function progressAt(curve: ProgressCurve, elapsedMs: number, durationMs: number): number | undefined {
  if (curve === 'none') return undefined;
  const share = durationMs <= 0 ? 1 : Math.min(1, Math.max(0, elapsedMs / durationMs));
  if (curve === 'steps') return share >= 1 ? 100 : STEP * Math.floor((share * 100) / STEP);
  if (curve === 'stalled')
    return share < STALLED_SHARE ? 0 : (100 * (share - STALLED_SHARE)) / (1 - STALLED_SHARE);
  return share * 100;
}

/** Progress as a CDN shows it: cut down (never rounded up) to `decimals` places. VIMS: 0; QUANTIL: 1. */
export function reportedProgress(
  curve: ProgressCurve,
  elapsedMs: number,
  durationMs: number,
  decimals: number,
): number | undefined {
  const progress = progressAt(curve, elapsedMs, durationMs);
  if (progress === undefined) return undefined;
  const scale = 10 ** decimals;
  // A hair of slack so a float just under a whole step (49.99999…) still reads as the step.
  return Math.floor(progress * scale + 1e-9) / scale;
}

/** The share of a task a CDN shows as waiting (VIMS's PENDING, QUANTIL's `wait`) at 0%, whatever its curve. */
export const WAITING_SHARE = 0.1;

/** What a CDN shows, waiting share included: VIMS's `percentage` (0 decimals), QUANTIL's `rate` (1). */
export function shownProgress(
  curve: ProgressCurve,
  elapsedMs: number,
  durationMs: number,
  decimals: number,
): number | undefined {
  const progress = reportedProgress(curve, elapsedMs, durationMs, decimals);
  return progress !== undefined && elapsedMs < durationMs * WAITING_SHARE ? 0 : progress;
}

/** Task durations: every task `minMs`, or spread evenly in log-space between `minMs` and `maxMs`. */
export interface DurationSpread {
  minMs: number;
  maxMs?: number | undefined;
}

export function drawDuration(spread: DurationSpread, random: () => number): number {
  const { minMs, maxMs } = spread;
  if (maxMs === undefined || maxMs <= minMs || minMs <= 0) return Math.max(0, minMs);
  return Math.round(minMs * (maxMs / minMs) ** random());
}
