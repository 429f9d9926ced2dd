import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PurgePlan } from '../../src/pipeline/plan.ts';
import { createStatusStore, type StatusStore } from '../../src/status/store.ts';
import { uniquePrefix } from '../harness/prefix.ts';

const plan: PurgePlan = {
  purgeId: 'p-1',
  request: { urls: 3, dirs: 0 },
  cdns: ['a', 'b'],
  batches: [
    { batchId: 'a-0', cdnId: 'a', target: { urls: ['https://x/1', 'https://x/2'], dirs: [] } },
    { batchId: 'b-0', cdnId: 'b', target: { urls: ['https://x/3'], dirs: [] } },
  ],
};

describe('the purge record in Redis', () => {
  const prefix = uniquePrefix('layout');
  let redis: Redis;
  let store: StatusStore;

  beforeAll(async () => {
    redis = new Redis(inject('redisUrl'));
    store = createStatusStore({ redis, prefix, ttlSeconds: 3600 });
    expect(await store.create(plan, 1000)).toEqual({ id: 'p-1', outcome: 'created' });
  });
  afterAll(() => redis.disconnect());

  it('is one hash under the prefix, with a TTL, holding meta, a countdown and one field per batch', async () => {
    const key = `${prefix}:purge:p-1`;
    expect(await redis.keys(`${prefix}:purge:*`)).toEqual([key]);
    expect(await redis.ttl(key)).toBeGreaterThan(3500);
    expect(Object.keys(await redis.hgetall(key)).sort()).toEqual([
      'batch:a-0',
      'batch:b-0',
      'meta',
      'remaining',
    ]);
    expect(await redis.hget(key, 'remaining')).toBe('2');
  });

  it('reads back as queued, with per-batch counters at zero', async () => {
    const status = await store.get('p-1');
    expect(status).toMatchObject({ id: 'p-1', state: 'queued', createdAt: 1000, cdns: ['a', 'b'] });
    expect(status?.batches.map((b) => [b.batchId, b.state, b.items, b.attempts, b.polls])).toEqual([
      ['a-0', 'queued', 2, 0, 0],
      ['b-0', 'queued', 1, 0, 0],
    ]);
  });

  it('applies patches and increments atomically, and a null clears a field', async () => {
    expect(
      await store.update('p-1', 'a-0', { state: 'submitting', error: 'boom' }, 2000, { attempts: 1 }),
    ).toEqual({ outcome: 'applied', remaining: 2, callbackDue: false });
    await store.update('p-1', 'a-0', { state: 'submitted', remoteId: '77', error: null }, 3000, {
      attempts: 1,
    });
    const status = await store.get('p-1');
    expect(status?.state).toBe('running');
    expect(status?.batches[0]).toMatchObject({
      state: 'submitted',
      remoteId: '77',
      attempts: 2,
      updatedAt: 3000,
    });
    expect(status?.batches[0]).not.toHaveProperty('error');
  });

  it('never leaves a terminal state, and counts each batch down once', async () => {
    expect(await store.update('p-1', 'a-0', { state: 'succeeded' }, 4000)).toEqual({
      outcome: 'applied',
      remaining: 1,
      callbackDue: false,
    });
    expect(await store.update('p-1', 'a-0', { state: 'failed', error: 'late' }, 5000)).toEqual({
      outcome: 'already_final',
      remaining: 1,
      callbackDue: false,
    });
    expect((await store.update('p-1', 'a-0', { state: 'succeeded' }, 5000)).outcome).toBe('already_final');
    expect(await redis.hget(`${prefix}:purge:p-1`, 'remaining')).toBe('1');
    expect((await store.get('p-1'))?.state).toBe('running');

    expect(await store.update('p-1', 'b-0', { state: 'timed_out', error: 'deadline' }, 6000)).toEqual({
      outcome: 'applied',
      remaining: 0,
      callbackDue: false,
    });
    const status = await store.get('p-1');
    expect(status).toMatchObject({ state: 'timed_out', finishedAt: 6000 });
    expect(status?.batches.map((b) => [b.state, b.finishedAt])).toEqual([
      ['succeeded', 4000],
      ['timed_out', 6000],
    ]);
  });

  it('reports a missing record or batch instead of creating one', async () => {
    expect((await store.update('nope', 'a-0', { state: 'failed' }, 1)).outcome).toBe('missing');
    expect(await store.get('nope')).toBeUndefined();
    expect(await redis.exists(`${prefix}:purge:nope`)).toBe(0);
  });

  it("keeps the plan under a key of its own with the record's TTL: every batch's target and deadline", async () => {
    const key = `${prefix}:plan:p-1`;
    expect(await redis.ttl(key)).toBeGreaterThan(3500);
    expect(JSON.parse((await redis.get(key)) as string)).toEqual({
      batches: plan.batches.map((batch) => ({ ...batch, deadlineAt: 1000 + 3600 * 1000 })),
    });
    expect(await store.getPlan('p-1')).toEqual({
      createdAt: 1000,
      batches: plan.batches.map((batch) => ({ ...batch, deadlineAt: 1000 + 3600 * 1000 })),
    });
  });

  it('maps a repeated idempotency key to the first purge, in a hashed key with the window as TTL', async () => {
    const claim = { scope: 'api:cms', key: 'evt:42', fingerprint: 'f1' };
    const first = await store.create({ ...plan, purgeId: 'p-2' }, 1, {
      idempotency: claim,
      idempotencyWindowSeconds: 60,
    });
    const again = await store.create({ ...plan, purgeId: 'p-3' }, 2, {
      idempotency: claim,
      idempotencyWindowSeconds: 60,
    });
    expect(first).toEqual({ id: 'p-2', outcome: 'created' });
    expect(again).toEqual({ id: 'p-2', outcome: 'repeat' });
    expect(await redis.exists(`${prefix}:purge:p-3`, `${prefix}:plan:p-3`)).toBe(0);
    const [idemKey] = await redis.keys(`${prefix}:idem:*`);
    expect(idemKey).toMatch(/:idem:[0-9a-f]{64}$/);
    expect(await redis.get(idemKey as string)).toBe('p-2 f1');
    expect(await redis.ttl(idemKey as string)).toBeLessThanOrEqual(60);
  });

  it('refuses the same key with another request fingerprint, writing nothing', async () => {
    const claim = { scope: 'api:cms', key: 'evt:43', fingerprint: 'f1' };
    await store.create({ ...plan, purgeId: 'p-4' }, 1, { idempotency: claim });
    const keys = (await redis.keys(`${prefix}*`)).sort();
    const other = await store.create({ ...plan, purgeId: 'p-5' }, 2, {
      idempotency: { ...claim, fingerprint: 'f2' },
    });
    expect(other).toEqual({ id: 'p-4', outcome: 'conflict' });
    expect((await redis.keys(`${prefix}*`)).sort()).toEqual(keys);
    expect(await store.findByIdempotencyKey({ ...claim, fingerprint: 'f2' })).toEqual({
      id: 'p-4',
      sameRequest: false,
    });
    expect(await store.findByIdempotencyKey(claim)).toEqual({ id: 'p-4', sameRequest: true });
  });

  it('keeps the same key apart in different scopes', async () => {
    const key = { key: 'rev-1', fingerprint: 'f1' };
    const a = await store.create({ ...plan, purgeId: 'p-6' }, 1, { idempotency: { ...key, scope: 'api:a' } });
    const b = await store.create({ ...plan, purgeId: 'p-7' }, 1, { idempotency: { ...key, scope: 'api:b' } });
    expect([a.outcome, b.outcome]).toEqual(['created', 'created']);
  });

  it("discards a record, its plan and the key that names it, and never another purge's key", async () => {
    const claim = { scope: 'cli', key: 'k-discard', fingerprint: 'f' };
    await store.create({ ...plan, purgeId: 'p-8' }, 1, { idempotency: claim });
    await store.discard('p-9', claim);
    expect(await store.findByIdempotencyKey(claim)).toEqual({ id: 'p-8', sameRequest: true });
    await store.discard('p-8', claim);
    expect(await store.findByIdempotencyKey(claim)).toBeUndefined();
    expect(await redis.exists(`${prefix}:purge:p-8`, `${prefix}:plan:p-8`)).toBe(0);
  });

  it('says a callback is due only when the last batch of a purge with a callback URL ends, and on every re-run', async () => {
    const withCallback = { ...plan, purgeId: 'p-cb' };
    await store.create(withCallback, 1, { callbackUrl: 'https://cms.example.com/done' });
    expect((await store.update('p-cb', 'a-0', { state: 'succeeded' }, 2)).callbackDue).toBe(false);
    expect((await store.update('p-cb', 'b-0', { state: 'failed', error: 'x' }, 3)).callbackDue).toBe(true);
    expect(await store.update('p-cb', 'b-0', { state: 'failed' }, 4)).toMatchObject({
      outcome: 'already_final',
      callbackDue: true,
    });
    expect(await redis.hget(`${prefix}:purge:p-cb`, 'callbackUrl')).toBe('https://cms.example.com/done');
  });

  it("gives a batch's quota charge back once when it ends unaccepted, never when the CDN took it", async () => {
    const counter = `${prefix}:quota:test:counter`;
    await redis.set(counter, '10');
    await store.create({ ...plan, purgeId: 'p-refund' }, 1);
    const charge = [{ key: counter, amount: 2 }];
    await store.update('p-refund', 'a-0', { state: 'failed', error: 'refused' }, 2, {}, charge);
    expect(await redis.get(counter)).toBe('8');
    await store.update('p-refund', 'a-0', { state: 'failed' }, 3, {}, charge);
    expect(await redis.get(counter)).toBe('8');
    await store.update('p-refund', 'b-0', { state: 'submitted', remoteId: 'r-1' }, 4, {}, charge);
    await store.update('p-refund', 'b-0', { state: 'failed', error: 'task failed' }, 5, {}, charge);
    expect(await redis.get(counter)).toBe('8');
    // Never below zero, e.g. when the day's counter has expired since the charge.
    await redis.set(counter, '1');
    await store.create({ ...plan, purgeId: 'p-refund-2' }, 1);
    await store.update('p-refund-2', 'a-0', { state: 'timed_out' }, 2, {}, charge);
    expect(await redis.get(counter)).toBe('0');
  });
});
