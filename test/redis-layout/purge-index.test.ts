import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { decodeCursor, type ListQuery } from '../../src/model/list-query.ts';
import { createStatusStore, type StatusStore } from '../../src/status/store.ts';
import { uniquePrefix } from '../harness/prefix.ts';

const TTL_SECONDS = 3600;

/** The purge index listing reads: one sorted set per prefix, written and trimmed by the call that accepts. */
describe('the purge index in Redis', () => {
  const prefix = uniquePrefix('index');
  let redis: Redis;
  let store: StatusStore;

  const accept = (purgeId: string, createdAt: number, url = `https://x.example/${purgeId}`) =>
    store.accept({
      purgeId,
      createdAt,
      request: { urls: 1, dirs: 0 },
      work: [{ cdnId: 'a', target: { urls: [url], dirs: [] } }],
    });
  /** Every id a query lists, following its cursors, with the number of pages it took. */
  async function walk(query: Omit<ListQuery, 'limit'>, limit: number) {
    const ids: string[] = [];
    let pages = 0;
    let cursor: string | undefined;
    do {
      const page = await store.list({ ...query, limit, ...(cursor ? { cursor: decodeCursor(cursor) } : {}) });
      pages += 1;
      ids.push(...page.purges.map((purge) => purge.id));
      cursor = page.nextCursor;
    } while (cursor && pages < 100);
    return { ids, pages };
  }

  beforeAll(() => {
    redis = new Redis(inject('redisUrl'));
    store = createStatusStore({ redis, prefix, ttlSeconds: TTL_SECONDS });
  });
  afterAll(() => redis.disconnect());

  it('adds every accepted purge to {prefix}:purges, scored by when it was accepted, expiring with the records', async () => {
    await accept('i-1', 1_000);
    await accept('i-2', 2_000);
    expect(await redis.zrange(`${prefix}:purges`, 0, -1, 'WITHSCORES')).toEqual([
      'i-1',
      '1000',
      'i-2',
      '2000',
    ]);
    const indexTtl = await redis.ttl(`${prefix}:purges`);
    expect(indexTtl).toBeGreaterThan(TTL_SECONDS - 60);
    expect(indexTtl).toBeLessThanOrEqual(TTL_SECONDS);
    // A repeat under an idempotency key is no new purge: nothing is added.
    const claim = { scope: 'cli', key: 'k', fingerprint: 'f' };
    const work = [{ cdnId: 'a', target: { urls: ['https://x.example/k'], dirs: [] } }];
    await store.accept({
      purgeId: 'i-k',
      createdAt: 2_500,
      request: { urls: 1, dirs: 0 },
      work,
      idempotency: claim,
    });
    await store.accept({
      purgeId: 'i-k2',
      createdAt: 2_600,
      request: { urls: 1, dirs: 0 },
      work,
      idempotency: claim,
    });
    expect(await redis.zscore(`${prefix}:purges`, 'i-k2')).toBeNull();
  });

  it('drops entries older than the status TTL when the next purge is accepted', async () => {
    await accept('i-late', 1_000 + TTL_SECONDS * 1_000 + 1);
    expect(await redis.zscore(`${prefix}:purges`, 'i-1')).toBeNull();
    expect(await redis.zscore(`${prefix}:purges`, 'i-2')).toBe('2000');
  });

  it('lists newest first, and skips an entry whose record has expired', async () => {
    await redis.del(`${prefix}:purge:i-2`);
    const page = await store.list({ limit: 10 });
    expect(page.purges.map((purge) => purge.id)).toEqual(['i-late', 'i-k']);
    expect(page.nextCursor).toBeUndefined();
    expect(page.purges[0]).toMatchObject({
      state: 'queued',
      label: 'https://x.example/i-late',
      cdns: ['a'],
      errorCodes: [],
      targets: { a: { total: 1, pending: 1 } },
    });
  });

  it('pages through purges accepted in the same millisecond, each exactly once', async () => {
    const ids = Array.from({ length: 23 }, (_, n) => `same-${String(n).padStart(2, '0')}`);
    for (const id of ids) await accept(id, 5_000_000);
    const { ids: listed, pages } = await walk({ since: 5_000_000, until: 5_000_000 }, 4);
    expect(listed.slice().sort()).toEqual(ids);
    expect(new Set(listed).size).toBe(ids.length);
    expect(pages).toBe(6);
  });

  it('looks at no more than ten times the limit of index entries per page, and says where to go on', async () => {
    await accept('needle', 6_000_000, 'https://x.example/needle.html');
    for (let n = 0; n < 25; n++) await accept(`hay-${n}`, 6_000_001 + n);
    const first = await store.list({ limit: 1, text: 'needle', since: 6_000_000 });
    expect(first.purges).toEqual([]);
    expect(first.nextCursor).toBeDefined();
    const { ids, pages } = await walk({ text: 'NEEDLE', since: 6_000_000 }, 1);
    expect(ids).toEqual(['needle']);
    // 25 newer entries that do not match: 10 per page, then the match.
    expect(pages).toBe(3);
    const found = await store.list({ limit: 1, text: 'needle.h', since: 6_000_000, until: 6_000_000 });
    expect(found.purges[0]?.matches).toEqual(['https://x.example/needle.html']);
  });

  it('keeps within since and until, and a cursor within until', async () => {
    const page = await store.list({ limit: 50, since: 6_000_010, until: 6_000_012 });
    expect(page.purges.map((purge) => purge.id)).toEqual(['hay-11', 'hay-10', 'hay-9']);
    const half = await store.list({ limit: 2, since: 6_000_010, until: 6_000_012 });
    const rest = await store.list({
      limit: 50,
      since: 6_000_010,
      until: 6_000_012,
      cursor: decodeCursor(half.nextCursor as string),
    });
    expect(rest.purges.map((purge) => purge.id)).toEqual(['hay-9']);
  });
});
