import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { forecastTakes, type PendingEntry, type TakeBudget } from '../../src/status/flush-forecast.ts';
import { pendingKey } from '../../src/status/keys.ts';
import { pendingMembers } from '../../src/status/pending-targets.ts';
import { createStatusStore, type StatusStore } from '../../src/status/store.ts';
import { uniquePrefix } from '../harness/prefix.ts';

/** A small seeded generator, so a failing set can be rebuilt from the seed in the test's name. */
function generator(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  return { next, pick: <T>(values: readonly T[]) => values[Math.floor(next() * values.length)] as T };
}

const SEGMENTS = [
  'news',
  'a.b',
  'img(1)',
  'x+y',
  'q?id=7',
  `long-${'z'.repeat(40)}`,
  'ü%C3%BC',
  'ééééé-ü',
  '$[x]',
];

/** A pending set as producers leave one: URLs, dirs, tags, now and then a pattern, scores with ties. */
function pendingSet(seed: number, size: number, withAll: boolean, withLanes = false): PendingEntry[] {
  const random = generator(seed);
  const entries = new Map<string, number>();
  while (entries.size < size) {
    const path = Array.from({ length: 1 + Math.floor(random.next() * 3) }, () => random.pick(SEGMENTS)).join(
      '/',
    );
    const host = random.pick(['www.example.com', 'img.example.com']);
    const roll = random.next();
    const member =
      roll < 0.5
        ? `u https://${host}/${path}`
        : roll < 0.75
          ? `d https://${host}/${path}/`
          : roll < 0.92
            ? `t ${host.slice(0, 3)}-${path.replace(/[^!-~]|,/g, '')}`
            : `p ^/${path.replace(/[.?+()[\]$]/g, '\\$&')}`;
    entries.set(member, 1000 + Math.floor(random.next() * 8));
  }
  if (withAll) entries.set('a', 1003);
  // With lanes, each target waits in one of them (as ingest.lua keeps it): take.lua reads them in order.
  const lanes = ['urgent', 'normal', 'bulk'] as const;
  return [...entries].map(([member, acceptedAt]) => ({
    member,
    acceptedAt,
    ...(withLanes ? { lane: random.pick(lanes) } : {}),
  }));
}

const BUDGETS: Array<[string, TakeBudget]> = [
  ['items only', { maxItems: 4, maxChars: 0, charsOf: 'url' }],
  ['characters of paths', { maxItems: 10_000, maxChars: 90, charsOf: 'path' }],
  ['characters of whole URLs', { maxItems: 10_000, maxChars: 140, charsOf: 'url' }],
  ['items and characters', { maxItems: 3, maxChars: 70, charsOf: 'path' }],
  // CloudFront's wildcards, Fastly's surrogate keys: a kind at its cap is passed over, the call fills on.
  ['dirs and tags capped', { maxItems: 6, maxChars: 0, charsOf: 'url', maxDirs: 1, maxTags: 2 }],
  ['tags capped, characters', { maxItems: 10_000, maxChars: 160, charsOf: 'url', maxTags: 1 }],
];

/**
 * A dry run forecasts a CDN's calls by replaying take.lua's choice in TypeScript: over the same pending sets
 * the two must take the same targets, call by call.
 */
describe('the flush forecast', () => {
  const prefix = uniquePrefix('forecast');
  let redis: Redis;
  let store: StatusStore;

  beforeAll(() => {
    redis = new Redis(inject('redisUrl'));
    store = createStatusStore({ redis, prefix, ttlSeconds: 600 });
  });
  afterAll(() => redis.disconnect());

  /** What the real flushes take of the set, call by call, until it is empty. */
  async function realTakes(cdnId: string, entries: PendingEntry[], budget: TakeBudget): Promise<string[][]> {
    const lanes = ['urgent', 'normal', 'bulk'] as const;
    for (const lane of lanes) {
      const of = entries.filter((e) => (e.lane ?? 'normal') === lane);
      if (of.length > 0)
        await redis.zadd(pendingKey(prefix, cdnId, lane), ...of.flatMap((e) => [e.acceptedAt, e.member]));
    }
    const everyPending = async () =>
      (await Promise.all(lanes.map((lane) => redis.zrange(pendingKey(prefix, cdnId, lane), 0, -1)))).flat();
    const calls: string[][] = [];
    for (let flush = 1; flush <= entries.length + 1; flush++) {
      const pendingBefore = await everyPending();
      const taken = await store.take({
        cdnId,
        flushId: `f${flush}`,
        batchId: `${cdnId}-f${flush}`,
        ...budget,
        deadlineMs: 60_000,
        now: 2000,
      });
      if (taken.batchId === undefined) return calls;
      // `all` sends only itself but takes every target pending: what it took is what left the set.
      const left = new Set(await everyPending());
      calls.push(
        taken.batch.target.all
          ? pendingBefore.filter((member) => !left.has(member))
          : pendingMembers(taken.batch.target),
      );
    }
    throw new Error('the pending set never emptied');
  }

  const sorted = (calls: string[][]) => calls.map((call) => [...call].sort());

  for (const [name, budget] of BUDGETS) {
    it.each([11, 12, 13, 14, 15, 16])(`takes what take.lua takes, with ${name} (seed %i)`, async (seed) => {
      const cdnId = `c-${name.replace(/\W/g, '')}-${seed}`;
      const entries = pendingSet(seed, 25, false);
      const forecast = forecastTakes(entries, budget);
      expect(forecast.length).toBeGreaterThan(1);
      expect(sorted(forecast)).toEqual(sorted(await realTakes(cdnId, entries, budget)));
    });
  }

  it.each([31, 32, 33, 34])(
    'takes what take.lua takes across lanes: urgent, normal, bulk (seed %i)',
    async (seed) => {
      const budget: TakeBudget = { maxItems: 3, maxChars: 70, charsOf: 'path' };
      const entries = pendingSet(seed, 25, false, true);
      const forecast = forecastTakes(entries, budget);
      expect(forecast.length).toBeGreaterThan(1);
      // Call by call, in order (within a call sorted: a batch lists its URLs before its dirs): which
      // targets go first is the point of lanes.
      expect(sorted(forecast)).toEqual(sorted(await realTakes(`c-lanes-${seed}`, entries, budget)));
    },
  );

  it('takes everything in one call when `all` is pending, as take.lua does', async () => {
    const budget = BUDGETS[0]?.[1] as TakeBudget;
    const entries = pendingSet(21, 12, true);
    const forecast = forecastTakes(entries, budget);
    expect(forecast).toHaveLength(1);
    expect(sorted(forecast)).toEqual(sorted(await realTakes('c-all', entries, budget)));
  });
});
