import { median } from '../report.ts';

/** One reading of a series: seconds since the load started, and the value then. */
export interface Point {
  at: number;
  value: number;
}

/**
 * What stands for a half: its mean, or its median where a few readings can be far off for reasons outside
 * the process (a neighbour's CPU burst delays one 5 s window's timers by 100 ms on a shared machine).
 */
export type Centre = 'mean' | 'median';

export interface Trend {
  centre: Centre;
  /** The earlier and the later half of the points (by time; an odd middle point goes to neither). */
  first: number;
  second: number;
  /** second ÷ first − 1: +0.05 is 5% higher in the later half. */
  growth: number;
  /** Least-squares slope, per minute: beside the halves, to show which way and how fast it moves. */
  slopePerMinute: number;
  points: number;
}

const mean = (values: readonly number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;

/**
 * How a series moved over a steady load. Flatness is judged on the halves, not on the slope: a half's mean
 * over minutes of readings is barely moved by a GC's sawtooth or one slow sample, while a leak, however
 * slow, makes the later half higher. Needs at least two points per half; fewer gives NaN everywhere.
 */
export function trend(points: readonly Point[], centre: Centre = 'mean'): Trend {
  const sorted = [...points].sort((a, b) => a.at - b.at);
  const half = Math.floor(sorted.length / 2);
  if (half < 2) {
    return { centre, first: NaN, second: NaN, growth: NaN, slopePerMinute: NaN, points: sorted.length };
  }
  const of = (slice: readonly Point[]) =>
    (centre === 'mean' ? mean : median)(slice.map((point) => point.value));
  const first = of(sorted.slice(0, half));
  const second = of(sorted.slice(sorted.length - half));
  const meanAt = mean(sorted.map((point) => point.at));
  const meanValue = mean(sorted.map((point) => point.value));
  let covariance = 0;
  let variance = 0;
  for (const { at, value } of sorted) {
    covariance += (at - meanAt) * (value - meanValue);
    variance += (at - meanAt) ** 2;
  }
  return {
    centre,
    first,
    second,
    growth: second / first - 1,
    slopePerMinute: variance === 0 ? NaN : (covariance / variance) * 60,
    points: sorted.length,
  };
}

/**
 * Flat: the later half is at most `relative` above the earlier half, or `absolute` above it when that is
 * more (a few milliseconds of event-loop delay on a shared machine are noise, not growth). Falling is flat
 * too: what a soak looks for is something that accumulates.
 */
export function isFlat(result: Trend, relative: number, absolute = 0): boolean {
  if (!Number.isFinite(result.first) || !Number.isFinite(result.second)) return false;
  const allowed = Math.max(Math.abs(result.first) * relative, absolute);
  return result.second - result.first <= allowed;
}
