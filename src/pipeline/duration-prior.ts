/**
 * What a CDN's past tasks say of how long the next one takes: a histogram of their durations in
 * log-scale buckets (each a quarter of a doubling wide, ~19%), counts decayed by halving whenever they
 * reach a cap, so it follows a CDN that gets slower or faster and never grows. Pure: the Redis copy
 * (status/poll-durations.ts) keeps the same buckets in a hash.
 */

/** Bucket 0 starts here; bucket i covers [BASE × 2^(i/4), BASE × 2^((i+1)/4)). */
const BASE_MS = 100;
const PER_DOUBLING = 4;
/** 100 ms × 2^16: about 109 minutes, past any poll deadline worth having; longer tasks count in the last. */
export const BUCKETS = 64;
/** Counts are halved when their total passes this: the last few hundred tasks weigh, older ones fade. */
export const DECAY_AT = 256;
/** Fewer tasks than this say too little: the schedule keeps its backoff for tasks that report no progress. */
export const MIN_SAMPLES = 8;

export function bucketOf(durationMs: number): number {
  if (!(durationMs > BASE_MS)) return 0;
  return Math.min(BUCKETS - 1, Math.floor(PER_DOUBLING * Math.log2(durationMs / BASE_MS)));
}

export function bucketStart(bucket: number): number {
  return bucket <= 0 ? 0 : BASE_MS * 2 ** (bucket / PER_DOUBLING);
}

export function bucketEnd(bucket: number): number {
  return BASE_MS * 2 ** ((bucket + 1) / PER_DOUBLING);
}

/** Counts per bucket: what Redis's hash holds, read back (unknown fields and junk are dropped). */
export type DurationCounts = ReadonlyMap<number, number>;

export function countsFromHash(hash: Record<string, string>): DurationCounts {
  const counts = new Map<number, number>();
  for (const [field, raw] of Object.entries(hash)) {
    const bucket = Number(field);
    const count = Number(raw);
    if (!Number.isInteger(bucket) || bucket < 0 || bucket >= BUCKETS) continue;
    if (Number.isFinite(count) && count > 0) counts.set(bucket, count);
  }
  return counts;
}

/** The histogram after one more task (the same halving the Redis script does). */
export function recordDuration(counts: DurationCounts, durationMs: number): DurationCounts {
  const next = new Map(counts);
  const bucket = bucketOf(durationMs);
  next.set(bucket, (next.get(bucket) ?? 0) + 1);
  let total = 0;
  for (const count of next.values()) total += count;
  if (total <= DECAY_AT) return next;
  for (const [key, count] of next) {
    const halved = Math.floor(count / 2);
    if (halved > 0) next.set(key, halved);
    else next.delete(key);
  }
  return next;
}

export interface DurationPrior {
  samples: number;
  /**
   * The duration by which a fraction `p` of the tasks that ran longer than `elapsedMs` have ended (the
   * conditional quantile; spread evenly within a bucket); undefined when none ran that long.
   */
  quantileAfter(elapsedMs: number, p: number): number | undefined;
}

export function priorOf(counts: DurationCounts): DurationPrior {
  const buckets = [...counts.entries()].sort(([a], [b]) => a - b);
  let samples = 0;
  for (const [, count] of buckets) samples += count;
  /** Tasks that ran past `elapsed` in each bucket, with the part of the bucket after it. */
  const beyond = (elapsed: number) =>
    buckets.flatMap(([bucket, count]) => {
      const start = bucketStart(bucket);
      const end = bucketEnd(bucket);
      if (end <= elapsed) return [];
      const from = Math.max(start, elapsed);
      return [{ from, end, mass: (count * (end - from)) / (end - start) }];
    });
  return {
    samples,
    quantileAfter(elapsedMs, p) {
      const parts = beyond(elapsedMs);
      const total = parts.reduce((sum, part) => sum + part.mass, 0);
      if (total <= 0) return undefined;
      let wanted = Math.min(1, Math.max(0, p)) * total;
      for (const part of parts) {
        if (wanted <= part.mass) return part.from + ((part.end - part.from) * wanted) / part.mass;
        wanted -= part.mass;
      }
      return parts.at(-1)?.end;
    },
  };
}
