import { describe, expect, it } from 'vitest';
import {
  BUCKETS,
  bucketEnd,
  bucketOf,
  bucketStart,
  countsFromHash,
  DECAY_AT,
  type DurationCounts,
  priorOf,
  recordDuration,
} from '../../src/pipeline/duration-prior.ts';

const record = (durations: readonly number[], counts: DurationCounts = new Map()) =>
  durations.reduce(recordDuration, counts);
const total = (counts: DurationCounts) => [...counts.values()].reduce((sum, n) => sum + n, 0);

describe('the learnt task durations', () => {
  it('keep log-scale buckets, a quarter of a doubling wide, whatever the duration', () => {
    expect(bucketOf(0)).toBe(0);
    expect(bucketOf(-5)).toBe(0);
    expect(bucketOf(Number.NaN)).toBe(0);
    for (const ms of [150, 2_000, 30_000, 240_000]) {
      const bucket = bucketOf(ms);
      expect(bucketStart(bucket)).toBeLessThanOrEqual(ms);
      expect(bucketEnd(bucket)).toBeGreaterThan(ms);
      expect(bucketEnd(bucket) / bucketStart(bucket)).toBeCloseTo(2 ** 0.25);
    }
    expect(bucketOf(365 * 24 * 3_600_000)).toBe(BUCKETS - 1);
  });

  it('stay bounded: counts halve whenever their total passes the cap, so old tasks fade', () => {
    const early = record(Array(DECAY_AT).fill(10_000));
    expect(total(early)).toBe(DECAY_AT);
    const later = record(Array(DECAY_AT).fill(60_000), early);
    expect(total(later)).toBeLessThanOrEqual(DECAY_AT);
    expect(later.size).toBeLessThanOrEqual(2);
    // The newer durations outweigh the older ones they followed.
    expect(later.get(bucketOf(60_000)) ?? 0).toBeGreaterThan(later.get(bucketOf(10_000)) ?? 0);
  });

  it('say by when a share of the tasks still running have ended', () => {
    const prior = priorOf(record(Array.from({ length: 100 }, (_, i) => 10_000 + i * 500)));
    expect(prior.samples).toBe(100);
    const median = prior.quantileAfter(0, 0.5) as number;
    expect(median).toBeGreaterThan(30_000);
    expect(median).toBeLessThan(36_000);
    // Past 50 s, only the longest tasks are left: their end is near.
    const late = prior.quantileAfter(50_000, 0.5) as number;
    expect(late).toBeGreaterThan(50_000);
    expect(late).toBeLessThan(61_000);
    expect(prior.quantileAfter(10 * 60_000, 0.5)).toBeUndefined();
  });

  it('read back from Redis’s hash, dropping junk fields and counts', () => {
    const counts = countsFromHash({ '12': '3', '99': '4', x: '1', '13': 'many', '14': '-2', '15': '2' });
    expect([...counts.entries()]).toEqual([
      [12, 3],
      [15, 2],
    ]);
  });
});
