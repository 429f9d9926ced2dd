import { describe, expect, it } from 'vitest';
import { isFlat, type Point, trend } from '../../bench/scenarios/flatness.ts';

const MIB = 1024 * 1024;

/** Every 5 s for `seconds`: `base`, plus `perMinute` times the minutes elapsed, plus a GC-like sawtooth. */
function series(seconds: number, base: number, perMinute: number, sawtooth: number): Point[] {
  return Array.from({ length: seconds / 5 }, (_, index) => {
    const at = (index + 1) * 5;
    return { at, value: base + (perMinute * at) / 60 + ((index % 4) - 1.5) * sawtooth };
  });
}

describe('soak flatness', () => {
  it('holds a steady series with a sawtooth as flat, its slope near zero', () => {
    const result = trend(series(480, 170 * MIB, 0, 3 * MIB));
    expect(isFlat(result, 0.02)).toBe(true);
    expect(Math.abs(result.slopePerMinute)).toBeLessThan(0.2 * MIB);
  });

  it('finds a slow leak: 1 MiB a minute on 170 MiB over 8 minutes is over +2%', () => {
    const result = trend(series(480, 170 * MIB, MIB, 3 * MIB));
    expect(result.growth).toBeGreaterThan(0.02);
    expect(isFlat(result, 0.02)).toBe(false);
    // The sawtooth tilts a least-squares fit a little; the slope still reads about 1 MiB a minute.
    expect(result.slopePerMinute / MIB).toBeGreaterThan(0.9);
    expect(result.slopePerMinute / MIB).toBeLessThan(1.1);
  });

  it('holds a falling series as flat: only growth counts', () => {
    expect(isFlat(trend(series(480, 170 * MIB, -2 * MIB, 0)), 0.02)).toBe(true);
  });

  it('lets a small figure grow by the absolute slack, not beyond', () => {
    const delay = (later: number) => [
      { at: 5, value: 2 },
      { at: 10, value: 2 },
      { at: 15, value: later },
      { at: 20, value: later },
    ];
    expect(isFlat(trend(delay(6.9)), 0.5, 5)).toBe(true);
    expect(isFlat(trend(delay(7.1)), 0.5, 5)).toBe(false);
  });

  it('by medians, lets a few far-off windows pass that would move the mean', () => {
    const spiky = [5, 5, 5, 5, 5, 5, 5, 105, 5, 105].map((value, index) => ({ at: (index + 1) * 5, value }));
    expect(isFlat(trend(spiky, 'median'), 0.5, 5)).toBe(true);
    expect(isFlat(trend(spiky, 'mean'), 0.5, 5)).toBe(false);
  });

  it('by medians, still finds a steady rise', () => {
    const rising = Array.from({ length: 10 }, (_, index) => ({ at: (index + 1) * 5, value: 5 + 3 * index }));
    expect(isFlat(trend(rising, 'median'), 0.5, 5)).toBe(false);
  });

  it('judges nothing on fewer than two points a half', () => {
    const result = trend(series(15, 170 * MIB, 0, 0));
    expect(result.growth).toBeNaN();
    expect(isFlat(result, 0.02)).toBe(false);
  });
});
