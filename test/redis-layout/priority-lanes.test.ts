import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Priority } from '../../src/model/purge.ts';
import { type AcceptRequest, createStatusStore, type StatusStore } from '../../src/status/store.ts';
import { uniquePrefix } from '../harness/prefix.ts';

const url = (name: string) => `https://x.example/${name}`;

/** A CDN's pending targets per lane, and the order a flush takes them in, as raw keys. */
describe('priority lanes in Redis', () => {
  let prefix: string;
  let redis: Redis;
  let store: StatusStore;
  let taken = 0;

  const accept = (
    purgeId: string,
    priority: Priority,
    names: string[],
    at: number,
    extra: Partial<AcceptRequest['work'][number]> = {},
  ) =>
    store.accept({
      purgeId,
      createdAt: at,
      request: { urls: names.length, dirs: 0 },
      priority,
      work: [{ cdnId: 'a', target: { urls: names.map(url), dirs: [] }, ...extra }],
    });
  const take = (maxItems = 100) => {
    taken += 1;
    return store.take({
      cdnId: 'a',
      flushId: `f${taken}`,
      batchId: `a-f${taken}`,
      maxItems,
      maxChars: 0,
      charsOf: 'url',
      deadlineMs: 5_000,
      now: 9_000,
    });
  };
  const lane = (name: Priority) =>
    name === 'normal' ? `${prefix}:pending:a` : `${prefix}:pending:a:${name}`;

  beforeAll(() => {
    redis = new Redis(inject('redisUrl'));
  });
  afterAll(() => redis.disconnect());
  // A fresh prefix per test: each reads the lanes from empty.
  const fresh = () => {
    prefix = uniquePrefix('lanes');
    store = createStatusStore({ redis, prefix, ttlSeconds: 3600 });
  };

  it('keeps each lane in a pending set of its own, the normal one under the key it had before lanes', async () => {
    fresh();
    await accept('p-bulk', 'bulk', ['b'], 1000);
    await accept('p-normal', 'normal', ['n'], 2000);
    await accept('p-urgent', 'urgent', ['u'], 3000);

    expect(await redis.zrange(lane('bulk'), 0, -1)).toEqual([`u ${url('b')}`]);
    expect(await redis.zrange(lane('normal'), 0, -1)).toEqual([`u ${url('n')}`]);
    expect(await redis.zrange(lane('urgent'), 0, -1)).toEqual([`u ${url('u')}`]);
    expect(await store.pendingCount('a')).toBe(3);
    expect(JSON.parse((await redis.hget(`${prefix}:purge:p-urgent`, 'meta')) as string).priority).toBe(
      'urgent',
    );
  });

  it('takes urgent targets first, then normal, then bulk, however long the others have waited', async () => {
    fresh();
    await accept('p-bulk', 'bulk', ['b1', 'b2'], 1000);
    await accept('p-normal', 'normal', ['n1', 'n2'], 2000);
    await accept('p-urgent', 'urgent', ['u1'], 3000);

    const first = await take(2);
    expect(first.batchId && first.batch.target.urls).toEqual([url('u1'), url('n1')]);
    const second = await take(2);
    expect(second.batchId && second.batch.target.urls).toEqual([url('n2'), url('b1')]);
    // The oldest left in each lane, for the next flush's due time.
    expect([second.nextUrgentAt, second.nextAcceptedAt, second.nextBulkAt]).toEqual([0, 0, 1000]);
    // The batch's lane is its most urgent target's; its deadline runs from its oldest target.
    const status = JSON.parse((await redis.hget(`${prefix}:batch:${first.batchId}`, 'status')) as string);
    expect(status).toMatchObject({ lane: 'urgent', acceptedAt: 2000, deadlineAt: 7000 });
  });

  it('moves a target asked for in a more urgent lane up, as accepted then; never down', async () => {
    fresh();
    await accept('p-bulk', 'bulk', ['x', 'y'], 1000);
    await accept('p-urgent', 'urgent', ['x'], 5000);
    await accept('p-bulk-again', 'bulk', ['y'], 6000);
    await accept('p-normal', 'normal', ['x'], 7000);

    // Its urgent window and queue deadline count from the urgent purge's acceptance, not from its wait in bulk.
    expect(await redis.zrange(lane('urgent'), 0, -1, 'WITHSCORES')).toEqual([`u ${url('x')}`, '5000']);
    expect(await redis.zrange(lane('bulk'), 0, -1)).toEqual([`u ${url('y')}`]);
    expect(await redis.exists(lane('normal'))).toBe(0);
    // Still one member per target, with every purge that asked for it waiting on it.
    expect(await redis.hget(`${prefix}:waiting:a`, `u ${url('x')}`)).toBe('p-bulk p-urgent p-normal');
    const batch = await take(1);
    expect(batch.batchId && batch.batch.purgeIds.sort()).toEqual(['p-bulk', 'p-normal', 'p-urgent']);
  });

  it("gives a target moved up its new lane's queue deadline from the move, not an already passed one", async () => {
    fresh();
    await accept('p-bulk', 'bulk', ['late'], 1000);
    // Two minutes in bulk, then a takedown: the urgent lane allows 30 s in the queue.
    await accept('p-urgent', 'urgent', ['late'], 121_000);
    taken += 1;
    const batch = await store.take({
      cdnId: 'a',
      flushId: `f${taken}`,
      batchId: `a-f${taken}`,
      maxItems: 100,
      maxChars: 0,
      charsOf: 'url',
      deadlineMs: { urgent: 30_000, normal: 900_000, bulk: 900_000 },
      now: 121_010,
    });
    expect(batch.batchId && [batch.lane, batch.deadlineAt]).toEqual(['urgent', 151_000]);
  });

  it('refuses a bulk purge while the bulk backlog is full, writing nothing; never an urgent or normal one', async () => {
    fresh();
    const limit = { maxBulkBacklog: 2 };
    expect((await accept('p-1', 'bulk', ['a', 'b'], 1000, limit)).outcome).toBe('created');
    const keysBefore = (await redis.keys(`${prefix}:*`)).sort();

    expect(await accept('p-2', 'bulk', ['c'], 2000, limit)).toEqual({
      outcome: 'shed',
      cdnId: 'a',
      backlog: 2,
    });
    expect((await redis.keys(`${prefix}:*`)).sort()).toEqual(keysBefore);

    expect((await accept('p-3', 'normal', ['c'], 3000, limit)).outcome).toBe('created');
    expect((await accept('p-4', 'urgent', ['d'], 4000, limit)).outcome).toBe('created');
  });

  it('lets `all` in any lane take every target of every lane', async () => {
    fresh();
    await accept('p-bulk', 'bulk', ['b'], 1000);
    await accept('p-urgent', 'urgent', ['u'], 2000);
    await store.accept({
      purgeId: 'p-all',
      createdAt: 3000,
      request: { urls: 0, dirs: 0, all: true },
      priority: 'normal',
      work: [{ cdnId: 'a', target: { urls: [], dirs: [], all: true } }],
    });

    const batch = await take(1);
    expect(batch.batchId && batch.batch.target).toEqual({ urls: [], dirs: [], all: true });
    expect(batch.batchId && batch.batch.purgeIds.sort()).toEqual(['p-all', 'p-bulk', 'p-urgent']);
    expect(await store.pendingCount('a')).toBe(0);
  });
});
