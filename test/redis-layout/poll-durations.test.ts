import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  bucketOf,
  countsFromHash,
  DECAY_AT,
  type DurationCounts,
  recordDuration,
} from '../../src/pipeline/duration-prior.ts';
import { pollDurationsKey } from '../../src/status/keys.ts';
import { createPollDurations } from '../../src/status/poll-durations.ts';
import { uniquePrefix } from '../harness/prefix.ts';

/** A CDN's task durations in Redis: one small hash under the prefix, decayed by the same rule as the pure one. */
describe('learnt task durations in Redis', () => {
  const prefix = uniquePrefix('durations');
  let redis: Redis;

  beforeAll(() => {
    redis = new Redis(inject('redisUrl'));
  });
  afterAll(() => redis.disconnect());

  it('keeps one hash per CDN under the configured prefix, with an expiry', async () => {
    const durations = createPollDurations({ redis, prefix, cdnId: 'vims-a', writeAfterMs: 0 });
    await durations.record(28_000);
    await durations.record(29_000);
    const key = pollDurationsKey(prefix, 'vims-a');
    expect(key.startsWith(`${prefix}:`)).toBe(true);
    expect(await redis.hgetall(key)).toEqual({ [String(bucketOf(28_000))]: '2' });
    expect(await redis.ttl(key)).toBeGreaterThan(24 * 3600);
    expect(await redis.exists(pollDurationsKey(prefix, 'vims-b'))).toBe(0);
  });

  it('decays in Redis exactly as the schedule’s own histogram does', async () => {
    const durations = createPollDurations({ redis, prefix, cdnId: 'quantil-a', writeAfterMs: 0 });
    let expected: DurationCounts = new Map();
    // Some written one at a time, the rest in one write together (all asked for in one turn of the event
    // loop): either way, exactly the pure rule.
    for (let i = 0; i < 20; i++) {
      const ms = 1_000 * (1 + (i % 97));
      expected = recordDuration(expected, ms);
      await durations.record(ms);
    }
    const together: Promise<void>[] = [];
    for (let i = 20; i < DECAY_AT + 40; i++) {
      const ms = 1_000 * (1 + (i % 97));
      expected = recordDuration(expected, ms);
      together.push(durations.record(ms));
    }
    await Promise.all(together);
    const stored = countsFromHash(await redis.hgetall(pollDurationsKey(prefix, 'quantil-a')));
    expect(Object.fromEntries(stored)).toEqual(Object.fromEntries(expected));
    expect(stored.size).toBeLessThanOrEqual(64);
  });

  it('writes the durations that end close together in one write, after the first has waited', async () => {
    const durations = createPollDurations({ redis, prefix, cdnId: 'together', writeAfterMs: 60_000 });
    const key = pollDurationsKey(prefix, 'together');
    const written = [durations.record(5_000), durations.record(5_000), durations.record(90_000)];
    // Within its wait (a minute here), nothing is written yet; shutting down writes them at once.
    expect(await redis.exists(key)).toBe(0);
    await durations.flush();
    await Promise.all(written);
    expect(await redis.hgetall(key)).toEqual({
      [String(bucketOf(5_000))]: '2',
      [String(bucketOf(90_000))]: '1',
    });
  });

  it('reads the histogram at most once per refresh, and keeps its last read when Redis fails', async () => {
    const clock = { now: 0 };
    const durations = createPollDurations({
      redis,
      prefix,
      cdnId: 'cached',
      now: () => clock.now,
      refreshMs: 1_000,
      writeAfterMs: 0,
    });
    for (let i = 0; i < 10; i++) await durations.record(20_000);
    expect((await durations.prior())?.samples).toBe(10);
    await durations.record(20_000);
    expect((await durations.prior())?.samples).toBe(10); // within the refresh: the cached read
    clock.now = 1_000;
    expect((await durations.prior())?.samples).toBe(11);

    const gone = new Redis(inject('redisUrl'), { lazyConnect: true, enableOfflineQueue: false });
    const broken = createPollDurations({
      redis: gone,
      prefix,
      cdnId: 'cached',
      now: () => clock.now,
      writeAfterMs: 0,
    });
    expect(await broken.prior()).toBeUndefined();
    await expect(broken.record(1_000)).rejects.toThrow();
    gone.disconnect();
  });
});
