import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createInProgressBudget, inProgressCost } from '../../src/status/in-progress.ts';
import { batchKey, inProgressKey } from '../../src/status/keys.ts';
import { uniquePrefix } from '../harness/prefix.ts';

/** CloudFront's budget (3,000 paths, 15 wildcards per distribution), held in Redis across every worker. */
describe('the in-progress budget of a CDN', () => {
  const prefix = uniquePrefix('in-progress');
  let redis: Redis;
  const budget = () =>
    createInProgressBudget({
      redis,
      prefix,
      cdnId: 'cf',
      limit: { items: 10, wildcards: 2 },
      ttlSeconds: 600,
    });
  const urls = (n: number, tag: string) =>
    Array.from({ length: n }, (_, i) => `https://www.example.com/${tag}/${i}`);
  const batch = (id: string, state: string) =>
    redis.hset(batchKey(prefix, id), 'status', JSON.stringify({ batchId: id, state }));

  beforeAll(() => {
    redis = new Redis(inject('redisUrl'));
  });
  afterAll(() => redis.disconnect());

  it('counts URLs as paths, dirs and all as wildcards', () => {
    expect(inProgressCost({ urls: urls(3, 'a'), dirs: ['https://www.example.com/d/'] })).toEqual({
      items: 3,
      wildcards: 1,
    });
    expect(inProgressCost({ urls: [], dirs: [], all: true })).toEqual({ items: 0, wildcards: 1 });
  });

  it('holds a batch that does not fit back until an earlier one ends, and keeps a re-run’s reservation', async () => {
    const ledger = budget();
    await batch('b1', 'submitting');
    await batch('b2', 'submitting');
    expect(await ledger.reserve('b1', { urls: urls(8, 'one'), dirs: [] })).toEqual({ fits: true });
    expect(await ledger.reserve('b2', { urls: urls(3, 'two'), dirs: [] })).toEqual({
      fits: false,
      items: 8,
      wildcards: 0,
      limit: { items: 10, wildcards: 2 },
    });
    // A re-run of b1 (after a crash) keeps what it holds.
    expect(await ledger.reserve('b1', { urls: urls(8, 'one'), dirs: [] })).toEqual({ fits: true });
    // b1 ends (any way at all): the next reservation gives its share back.
    await batch('b1', 'succeeded');
    expect(await ledger.reserve('b2', { urls: urls(3, 'two'), dirs: [] })).toEqual({ fits: true });
    expect(await redis.hgetall(inProgressKey(prefix, 'cf'))).toEqual({ b2: '3 0' });
  });

  it('holds wildcards to their own limit, drops expired batches, and lets a batch alone in always', async () => {
    const ledger = budget();
    await batch('w1', 'submitted');
    await batch('w2', 'submitted');
    expect(await ledger.reserve('w1', { urls: [], dirs: ['https://www.example.com/a/'] })).toEqual({
      fits: true,
    });
    const two = { urls: [], dirs: ['https://www.example.com/b/', 'https://www.example.com/c/'] };
    expect(await ledger.reserve('w2', two)).toMatchObject({ fits: false, wildcards: 1 });
    // Its record expired (or was deleted): its reservation goes with it.
    await redis.del(batchKey(prefix, 'w1'));
    await redis.del(batchKey(prefix, 'b2'));
    expect(await ledger.reserve('w2', two)).toEqual({ fits: true });
    await batch('w2', 'failed');
    await batch('big', 'submitting');
    // Bigger than the whole budget, and alone: waiting could never make it fit better.
    expect(await ledger.reserve('big', { urls: urls(50, 'big'), dirs: [] })).toEqual({ fits: true });
  });
});
