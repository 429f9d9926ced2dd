import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type AcceptRequest, createStatusStore, type StatusStore } from '../../src/status/store.ts';
import { uniquePrefix } from '../harness/prefix.ts';

const url = (name: string) => `https://x.example/${name}`;

/** The only tests that read raw keys: what a purge, a CDN's pending targets and a batch look like in Redis. */
describe('purges, pending targets and batches in Redis', () => {
  const prefix = uniquePrefix('layout');
  let redis: Redis;
  let store: StatusStore;
  let taken = 0;

  const accept = (purgeId: string, work: AcceptRequest['work'], extra: Partial<AcceptRequest> = {}) =>
    store.accept({ purgeId, createdAt: 1000, request: { urls: 1, dirs: 0 }, work, ...extra });
  const urls = (cdnId: string, ...names: string[]) => ({
    cdnId,
    target: { urls: names.map(url), dirs: [] },
  });
  const take = (
    cdnId: string,
    limits: {
      maxItems?: number;
      maxChars?: number;
      charsOf?: 'path' | 'url';
      fullOnly?: boolean;
      claim?: boolean;
    } = {},
    flushId?: string,
  ) => {
    taken += 1;
    const id = flushId ?? `f${taken}`;
    return store.take({
      cdnId,
      flushId: id,
      batchId: `${cdnId}-${id}`,
      maxItems: limits.maxItems ?? 100,
      maxChars: limits.maxChars ?? 0,
      charsOf: limits.charsOf ?? 'url',
      deadlineMs: 5_000,
      now: 2000,
      ...(limits.fullOnly ? { fullOnly: true } : {}),
      ...(limits.claim ? { claim: true } : {}),
    });
  };

  beforeAll(() => {
    redis = new Redis(inject('redisUrl'));
    store = createStatusStore({ redis, prefix, ttlSeconds: 3600 });
  });
  afterAll(() => redis.disconnect());

  it('accepts a purge as one record, its plan, and a member per target in each CDN pending set', async () => {
    const result = await accept('p-1', [urls('a', '1', '2'), urls('b', '3')], {
      callbackUrl: 'https://cms.example/done',
    });
    expect(result).toEqual({ outcome: 'created', id: 'p-1' });
    const record = await redis.hgetall(`${prefix}:purge:p-1`);
    expect(Object.keys(record).sort()).toEqual(['callbackUrl', 'meta', 'n:a', 'n:b', 'remaining']);
    expect(record).toMatchObject({ 'n:a': '2', 'n:b': '1', remaining: '3' });
    expect(await redis.ttl(`${prefix}:purge:p-1`)).toBeGreaterThan(3500);
    // Every key an accept writes expires: -1 (no TTL) would keep it forever.
    expect(await redis.ttl(`${prefix}:plan:p-1`)).toBeGreaterThan(3500);
    expect(JSON.parse((await redis.get(`${prefix}:plan:p-1`)) as string)).toEqual({
      targets: [
        { urls: [url('1'), url('2')], dirs: [] },
        { urls: [url('3')], dirs: [] },
      ],
      cdns: { a: 0, b: 1 },
    });
    expect((await store.getPlan('p-1'))?.targets).toEqual({
      a: { urls: [url('1'), url('2')], dirs: [] },
      b: { urls: [url('3')], dirs: [] },
    });
    expect(await redis.zrange(`${prefix}:pending:a`, 0, -1, 'WITHSCORES')).toEqual([
      `u ${url('1')}`,
      '1000',
      `u ${url('2')}`,
      '1000',
    ]);
    expect(await redis.hgetall(`${prefix}:waiting:a`)).toEqual({
      [`u ${url('1')}`]: 'p-1',
      [`u ${url('2')}`]: 'p-1',
    });
    expect(await store.get('p-1')).toMatchObject({
      state: 'queued',
      targets: { a: { total: 2, pending: 2 }, b: { total: 1, pending: 1 } },
      batches: [],
    });
  });

  it('keeps a target list sent to several CDNs once in the plan', async () => {
    await accept('p-same', [urls('s1', 'x'), urls('s2', 'x')]);
    expect(JSON.parse((await redis.get(`${prefix}:plan:p-same`)) as string)).toEqual({
      targets: [{ urls: [url('x')], dirs: [] }],
      cdns: { s1: 0, s2: 0 },
    });
  });

  it('joins a target already pending: one member, both purges waiting on it', async () => {
    await store.accept({
      purgeId: 'p-2',
      createdAt: 1500,
      request: { urls: 1, dirs: 0 },
      work: [urls('a', '1')],
    });
    expect(await redis.zscore(`${prefix}:pending:a`, `u ${url('1')}`)).toBe('1000');
    expect(await redis.hget(`${prefix}:waiting:a`, `u ${url('1')}`)).toBe('p-1 p-2');
  });

  it('takes the oldest pending targets into one batch that carries every purge waiting on them', async () => {
    const result = await take('a');
    expect(result).toEqual({
      batchId: 'a-f1',
      stillPending: 0,
      nextAcceptedAt: 0,
      nextUrgentAt: 0,
      nextBulkAt: 0,
      lane: 'normal',
      deadlineAt: 6000,
      acceptedAt: 1000,
      items: 2,
      claimed: false,
      batch: {
        target: { urls: [url('1'), url('2')], dirs: [] },
        purgeIds: expect.arrayContaining(['p-1', 'p-2']),
      },
    });
    const batch = await redis.hgetall(`${prefix}:batch:a-f1`);
    expect(JSON.parse(batch.target as string)).toEqual({ urls: [url('1'), url('2')], dirs: {} });
    expect(JSON.parse(batch.carries as string)).toEqual({ 'p-1': 2, 'p-2': 1 });
    expect(JSON.parse(batch.status as string)).toMatchObject({
      batchId: 'a-f1',
      cdnId: 'a',
      state: 'queued',
      items: 2,
      purges: 2,
      queuedAt: 2000,
      acceptedAt: 1000,
      deadlineAt: 6000,
    });
    expect(await redis.exists(`${prefix}:pending:a`, `${prefix}:waiting:a`)).toBe(0);
    expect(await redis.hget(`${prefix}:purge:p-1`, 'b:a-f1')).toBe('2');
    expect(await redis.zrange(`${prefix}:open:a`, 0, -1)).toEqual(['a-f1']);
    expect(await store.batchTarget('a-f1')).toEqual({
      target: { urls: [url('1'), url('2')], dirs: [] },
      purgeIds: expect.arrayContaining(['p-1', 'p-2']),
      acceptedAt: 1000,
    });
  });

  it('gives a re-run of the same flush its batch back, taking nothing new', async () => {
    await accept('p-3', [urls('a', '9')]);
    expect(await take('a', {}, 'f1')).toMatchObject({ batchId: 'a-f1', stillPending: 1 });
    expect(await redis.zcard(`${prefix}:pending:a`)).toBe(1);
    expect(await take('a')).toMatchObject({ batchId: expect.stringMatching(/^a-f/), stillPending: 0 });
  });

  it('takes no more than a call holds, by items and by characters', async () => {
    await accept('p-4', [urls('c', 'aa', 'bb', 'cc', 'dd')]);
    expect(await take('c', { maxItems: 3 })).toMatchObject({ stillPending: 1 });
    await accept('p-5', [urls('d', 'aa', 'bb', 'cc')]);
    // `https:\/\/x\.example\/aa` is 24 characters escaped, plus a separator: two fit in 60, not three.
    const two = await take('d', { maxChars: 60 });
    expect(two).toMatchObject({ stillPending: 1, items: 2, nextAcceptedAt: 1000 });
    const { target } = (await store.batchTarget(two.batchId as string)) ?? {};
    expect(target?.urls).toHaveLength(2);
    // Counting only what a path-scoped VIMS pattern holds (`\/aa`, 4 escaped, plus a separator): all fit.
    await accept('p-5b', [urls('d2', 'aa', 'bb', 'cc')]);
    expect(await take('d2', { maxChars: 15, charsOf: 'path' })).toMatchObject({ stillPending: 0, items: 3 });
  });

  it('takes a long call oldest first however many reads it takes (chunks grow from 16), leaving the rest pending', async () => {
    const names = Array.from({ length: 300 }, (_, index) => `long-${String(index).padStart(3, '0')}`);
    // One purge per target, each accepted a millisecond after the last: the order the take must keep.
    for (const [index, name] of names.entries()) {
      await store.accept({
        purgeId: `p-long-${index}`,
        createdAt: 1000 + index,
        request: { urls: 1, dirs: 0 },
        work: [urls('long', name)],
      });
    }
    const first = await take('long', { maxItems: 250 });
    expect(first).toMatchObject({ items: 250, stillPending: 50, nextAcceptedAt: 1250 });
    const { target } = (await store.batchTarget(first.batchId as string)) ?? {};
    expect(target?.urls).toEqual(names.slice(0, 250).map(url));
    const rest = await take('long', { maxItems: 250 });
    expect(rest).toMatchObject({ items: 50, stillPending: 0 });
    expect((await store.batchTarget(rest.batchId as string))?.target.urls).toEqual(names.slice(250).map(url));
  });

  it('takes only a full call when asked to, and nothing (on a re-run too) when what is pending would not fill one', async () => {
    await accept('p-full', [urls('g', 'a', 'b', 'c')]);
    expect(await take('g', { maxItems: 2, fullOnly: true })).toMatchObject({ items: 2, stillPending: 1 });
    expect(await take('g', { maxItems: 2, fullOnly: true }, 'g-scrap')).toMatchObject({
      batchId: undefined,
      stillPending: 1,
      nextAcceptedAt: 1000,
    });
    // The scrap stays for the CDN's own flush, and the slot's re-run still takes nothing.
    expect(await redis.zcard(`${prefix}:pending:g`)).toBe(1);
    expect(await take('g', { maxItems: 2, fullOnly: true }, 'g-scrap')).toMatchObject({ batchId: undefined });
    expect(await take('g', { maxItems: 2 })).toMatchObject({ items: 1, stillPending: 0 });
    // Full by characters: the next target would not fit.
    await accept('p-full-chars', [urls('h', 'aa', 'bb')]);
    expect(await take('h', { maxChars: 30, fullOnly: true })).toMatchObject({ items: 1, stillPending: 1 });
  });

  it('claims the batch it takes when asked to, as the submit would, and again on a re-run', async () => {
    await accept('p-claim', [urls('k', 'a')]);
    expect(await take('k', { claim: true }, 'k-1')).toMatchObject({ claimed: true });
    expect(JSON.parse((await redis.hget(`${prefix}:batch:k-k-1`, 'status')) as string)).toMatchObject({
      state: 'submitting',
      attempts: 1,
      updatedAt: 2000,
    });
    expect(await take('k', { claim: true }, 'k-1')).toMatchObject({ batchId: 'k-k-1', claimed: true });
    expect(JSON.parse((await redis.hget(`${prefix}:batch:k-k-1`, 'status')) as string)).toMatchObject({
      state: 'submitting',
      attempts: 2,
    });
    await store.update({ cdnId: 'k', batchId: 'k-k-1' }, { state: 'failed', error: 'ended' }, 3000);
    expect(await take('k', { claim: true }, 'k-1')).toMatchObject({ batchId: 'k-k-1', claimed: false });
    expect(JSON.parse((await redis.hget(`${prefix}:batch:k-k-1`, 'status')) as string)).toMatchObject({
      state: 'failed',
      attempts: 2,
    });
  });

  it('lets `all` take every target pending for the CDN, and a pattern go alone', async () => {
    await accept('p-6', [urls('e', 'x')]);
    await accept('p-7', [{ cdnId: 'e', target: { urls: [], dirs: [], all: true } }]);
    const all = await take('e');
    expect(await store.batchTarget(all.batchId as string)).toEqual({
      target: { urls: [], dirs: [], all: true },
      purgeIds: expect.arrayContaining(['p-6', 'p-7']),
      acceptedAt: expect.any(Number),
    });
    await accept('p-8', [{ cdnId: 'f', target: { urls: [], dirs: [], pattern: '^/a' } }]);
    await accept('p-9', [urls('f', 'y')]);
    const pattern = await take('f');
    expect((await store.batchTarget(pattern.batchId as string))?.target).toEqual({
      urls: [],
      dirs: [],
      pattern: '^/a',
    });
    expect(pattern.stillPending).toBe(1);
  });

  it('ends a batch once: every purge it carries counted down, finished, its callback named', async () => {
    const batch = { cdnId: 'a', batchId: 'a-f1' };
    expect(await store.update(batch, { state: 'submitting' }, 2100, { attempts: 1 })).toEqual({
      outcome: 'applied',
      callbacksDue: [],
      finished: [],
    });
    await store.update(batch, { state: 'submitted', remoteId: 'r-1' }, 2200);
    expect((await store.get('p-1'))?.state).toBe('running');
    const ended = await store.update(batch, { state: 'succeeded' }, 3000, { polls: 1 });
    // p-2 had only this target: it finishes here, and is named as finished this once.
    expect(ended).toEqual({
      outcome: 'applied',
      callbacksDue: [],
      finished: [{ purgeId: 'p-2', state: 'succeeded' }],
    });
    const p2 = await redis.hgetall(`${prefix}:purge:p-2`);
    expect(p2).toMatchObject({ 'ok:a': '1', remaining: '0', finishedAt: '3000' });
    // p-1 still waits on its CDN b target, so no callback is due yet.
    expect(await store.get('p-1')).toMatchObject({
      state: 'running',
      targets: { a: { total: 2, succeeded: 2, pending: 0 }, b: { total: 1, pending: 1 } },
      batches: [expect.objectContaining({ batchId: 'a-f1', state: 'succeeded', share: 2, remoteId: 'r-1' })],
    });
    expect(await redis.zrange(`${prefix}:open:a`, 0, -1)).not.toContain('a-f1');
    expect(await store.update(batch, { state: 'failed' }, 4000)).toEqual({
      outcome: 'already_final',
      callbacksDue: [],
      finished: [],
    });
    expect(await redis.hget(`${prefix}:purge:p-2`, 'ok:a')).toBe('1');

    const last = await take('b');
    const due = await store.update(
      { cdnId: 'b', batchId: last.batchId as string },
      { state: 'failed', error: 'x', errorCode: 'CDN_AUTH' },
      5000,
    );
    // p-1 ends failed (its CDN b target), with the code of the batch that failed it.
    expect(due).toEqual({
      outcome: 'applied',
      callbacksDue: ['p-1'],
      finished: [{ purgeId: 'p-1', state: 'failed', errorCode: 'CDN_AUTH' }],
    });
    expect(await store.get('p-1')).toMatchObject({ state: 'failed', finishedAt: 5000 });
    expect(await redis.hget(`${prefix}:purge:p-1`, 'code:failed')).toBe('CDN_AUTH');
    // A re-run after a crash still names the callback (scheduling it is idempotent), and finishes nothing.
    expect(
      await store.update({ cdnId: 'b', batchId: last.batchId as string }, { state: 'failed' }, 6000),
    ).toEqual({
      outcome: 'already_final',
      callbacksDue: ['p-1'],
      finished: [],
    });
  });

  it("gives a batch's quota charge back once when it ends unaccepted, never when the CDN took it", async () => {
    const counter = `${prefix}:quota:test:counter`;
    await redis.set(counter, '10');
    const charge = [{ key: counter, amount: 2 }];
    await accept('p-r1', [urls('r', 'r1')]);
    const refused = { cdnId: 'r', batchId: (await take('r')).batchId as string };
    await store.update(refused, { state: 'failed', error: 'refused' }, 2, {}, charge);
    expect(await redis.get(counter)).toBe('8');
    await store.update(refused, { state: 'failed' }, 3, {}, charge);
    expect(await redis.get(counter)).toBe('8');
    await accept('p-r2', [urls('r', 'r2')]);
    const accepted = { cdnId: 'r', batchId: (await take('r')).batchId as string };
    await store.update(accepted, { state: 'submitted', remoteId: 'r-9' }, 4, {}, charge);
    await store.update(accepted, { state: 'failed', error: 'task failed' }, 5, {}, charge);
    expect(await redis.get(counter)).toBe('8');
    await redis.set(counter, '1');
    await accept('p-r3', [urls('r', 'r3')]);
    const expired = { cdnId: 'r', batchId: (await take('r')).batchId as string };
    await store.update(expired, { state: 'timed_out' }, 2, {}, charge);
    expect(await redis.get(counter)).toBe('0');
  });

  it('charges a daily quota only for targets not already pending, and refuses past it writing nothing', async () => {
    const counter = { key: `${prefix}:quota:q:urls`, limit: 3, cdnId: 'q', kind: 'urls' as const };
    const work = (...names: string[]) => [{ ...urls('q', ...names), quota: { urls: counter } }];
    expect((await accept('p-q1', work('q1', 'q2'))).outcome).toBe('created');
    expect((await accept('p-q2', work('q1', 'q2'))).outcome).toBe('created');
    expect(await redis.get(counter.key)).toBe('2');
    expect(await redis.ttl(counter.key)).toBeGreaterThan(86_400);
    const keys = (await redis.keys(`${prefix}*`)).sort();
    expect(await accept('p-q3', work('q3', 'q4'))).toEqual({ outcome: 'quota', counter, used: 2 });
    expect((await redis.keys(`${prefix}*`)).sort()).toEqual(keys);
  });

  it('maps a repeated idempotency key to the first purge, refuses another request under it, per scope', async () => {
    const claim = { scope: 'api:cms', key: 'evt:42', fingerprint: 'f1' };
    const work = [urls('i', 'i1')];
    expect(await accept('p-i1', work, { idempotency: claim, idempotencyWindowSeconds: 60 })).toMatchObject({
      outcome: 'created',
    });
    const keys = (await redis.keys(`${prefix}*`)).sort();
    expect(await accept('p-i2', work, { idempotency: claim })).toEqual({ outcome: 'repeat', id: 'p-i1' });
    expect(await accept('p-i3', work, { idempotency: { ...claim, fingerprint: 'f2' } })).toEqual({
      outcome: 'conflict',
      id: 'p-i1',
    });
    expect((await redis.keys(`${prefix}*`)).sort()).toEqual(keys);
    const [idemKey] = await redis.keys(`${prefix}:idem:*`);
    expect(idemKey).toMatch(/:idem:[0-9a-f]{64}$/);
    expect(await redis.get(idemKey as string)).toBe('p-i1 f1');
    // Within the window, and set at all: a key without a TTL (-1) would refuse every later request under it forever.
    const idemTtl = await redis.ttl(idemKey as string);
    expect(idemTtl).toBeGreaterThan(0);
    expect(idemTtl).toBeLessThanOrEqual(60);
    expect(await store.findByIdempotencyKey({ ...claim, fingerprint: 'f2' })).toEqual({
      id: 'p-i1',
      sameRequest: false,
    });
    expect((await accept('p-i4', work, { idempotency: { ...claim, scope: 'api:other' } })).outcome).toBe(
      'created',
    );
  });

  it('names how a purge finished: failed outranks timed out, with the code of the batch that failed it', async () => {
    await accept('p-end', [urls('t1', 'e1'), urls('t2', 'e2')]);
    const slow = { cdnId: 't1', batchId: (await take('t1')).batchId as string };
    const refused = { cdnId: 't2', batchId: (await take('t2')).batchId as string };
    const timedOut = await store.update(slow, { state: 'timed_out', errorCode: 'DEADLINE_EXCEEDED' }, 7000);
    expect(timedOut.finished).toEqual([]);
    const failed = await store.update(refused, { state: 'failed', errorCode: 'CDN_REJECTED' }, 7100);
    expect(failed.finished).toEqual([{ purgeId: 'p-end', state: 'failed', errorCode: 'CDN_REJECTED' }]);
    await accept('p-late', [urls('t3', 'e3')]);
    const late = { cdnId: 't3', batchId: (await take('t3')).batchId as string };
    expect(
      (await store.update(late, { state: 'timed_out', errorCode: 'DEADLINE_EXCEEDED' }, 7200)).finished,
    ).toEqual([{ purgeId: 'p-late', state: 'timed_out', errorCode: 'DEADLINE_EXCEEDED' }]);
  });

  it("keeps a batch's last 50 polls beside its status, each with its progress or the code it failed with", async () => {
    await accept('p-poll', [urls('pl', 'p1')]);
    const batch = { cdnId: 'pl', batchId: (await take('pl')).batchId as string };
    expect(await store.pollLogs([batch.batchId])).toEqual(new Map([[batch.batchId, []]]));
    await store.update(batch, { state: 'submitted', remoteId: 'r-p' }, 100);
    await store.update(batch, { progress: 40 }, 200, { polls: 1 });
    await store.update(batch, { error: 'HTTP 503', errorCode: 'CDN_UNAVAILABLE' }, 300, { polls: 1 });
    for (let n = 0; n < 50; n++)
      await store.update(batch, { progress: 50, error: null, errorCode: null }, 400 + n, { polls: 1 });
    await store.update(batch, { state: 'succeeded', progress: 100 }, 500, { polls: 1 });
    const log = (await store.pollLogs([batch.batchId])).get(batch.batchId) ?? [];
    expect(log).toHaveLength(50);
    expect(log.at(-1)).toEqual({ at: 500, polls: 53, progress: 100 });
    expect(log[0]).toEqual({ at: 401, polls: 4, progress: 50 });
    // Not part of the status: reading one never carries the log.
    expect(
      JSON.parse((await redis.hget(`${prefix}:batch:${batch.batchId}`, 'status')) as string),
    ).not.toHaveProperty('pollLog');
    await accept('p-poll2', [urls('pl', 'p2')]);
    const early = { cdnId: 'pl', batchId: (await take('pl')).batchId as string };
    await store.update(early, { progress: 10 }, 10, { polls: 1 });
    await store.update(early, { error: 'HTTP 503', errorCode: 'CDN_UNAVAILABLE' }, 20, { polls: 1 });
    expect((await store.pollLogs([early.batchId])).get(early.batchId)).toEqual([
      { at: 10, polls: 1, progress: 10 },
      { at: 20, polls: 2, progress: 10, errorCode: 'CDN_UNAVAILABLE' },
    ]);
  });

  it('drops from the open list a batch whose record expired, and reads a marker that outlived its batch as nothing', async () => {
    await accept('p-x', [urls('x', 'x1')]);
    const taken = await take('x', {}, 'fx');
    await redis.del(`${prefix}:batch:${taken.batchId}`);
    expect(await redis.zrange(`${prefix}:open:x`, 0, -1)).toEqual([taken.batchId]);
    expect(await store.openBatches('x', 10)).toEqual([]);
    expect(await redis.zrange(`${prefix}:open:x`, 0, -1)).toEqual([]);
    expect(await take('x', {}, 'fx')).toMatchObject({ batchId: undefined });
  });

  it("stores a batch job's next data in the record's own transition, as BullMQ's updateData writes it", async () => {
    const queue = new Queue('layout-jobs', { connection: redis, prefix });
    try {
      const job = await queue.add('purge', { step: 'take', cdnId: 'jd', polls: 0 });
      const key = queue.toKey(String(job.id));
      await accept('p-jd', [urls('jd', 'j1')]);
      const batch = { cdnId: 'jd', batchId: (await take('jd', { claim: true })).batchId as string };
      const next = { step: 'poll', cdnId: 'jd', batchId: batch.batchId, remoteId: 't-1', polls: 0 };
      const result = await store.update(batch, { state: 'submitted', remoteId: 't-1' }, 3000, {}, [], {
        key,
        data: next,
      });
      expect(result.outcome).toBe('applied');
      // Read back through BullMQ: the job moved on in the same call as its record.
      expect((await queue.getJob(String(job.id)))?.data).toEqual(next);
      expect((await store.get('p-jd'))?.batches[0]).toMatchObject({ state: 'submitted', remoteId: 't-1' });
      // The job's progress too (what a batch's end writes), as BullMQ's updateProgress would; the data stays.
      await store.update(batch, { progress: 40 }, 3050, { polls: 1 }, [], { key, progress: 40 });
      const polled = await queue.getJob(String(job.id));
      expect(polled?.progress).toBe(40);
      expect(polled?.data).toEqual(next);
      // A job that is gone (removed from the dashboard) is not created again; the record still moves on.
      await job.remove();
      await store.update(batch, { progress: 10 }, 3100, { polls: 1 }, [], { key, data: next, progress: 10 });
      expect(await redis.exists(key)).toBe(0);
      expect((await store.get('p-jd'))?.batches[0]).toMatchObject({ progress: 10 });
    } finally {
      await queue.close();
    }
  });
});
