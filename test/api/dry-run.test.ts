import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { DryRunAnswer } from '../../src/api/dry-run-answer.ts';
import type { Provider } from '../../src/providers/provider.ts';
import { escapeRegex, matchSubject } from '../../src/providers/vims/mapping.ts';
import { FORECAST_PENDING_LIMIT, type ForecastCall } from '../../src/queue/dry-run.ts';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { pendingKey } from '../../src/status/keys.ts';
import { API_TOKEN, startTestApi, type TestApi } from '../harness/api.ts';
import { QUANTIL_RIG, VIMS_RIG } from '../harness/cdn-rigs.ts';
import { uniquePrefix } from '../harness/prefix.ts';
import { type SpawnedRedis, spawnRedisServer } from '../harness/redis-server.ts';
import { settled, snapshot } from '../harness/redis-snapshot.ts';

const auth = { authorization: `Bearer ${API_TOKEN}` };
const page = (name: string) => `https://www.example.com/${name}`;
const stories = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => page(`story-${from + i}.html`));

/** Small calls, so a handful of targets already needs several: VIMS by pattern length, QUANTIL by items. */
const CDNS = (simulatorUrl: string) => [
  { ...VIMS_RIG.cdnEntry(simulatorUrl), maxPatternLength: 150 },
  { ...QUANTIL_RIG.cdnEntry(simulatorUrl), maxItemsPerCall: 3 },
];

/**
 * `dryRun: true` plans a purge as a real one is planned and answers what it would do now, per CDN: the
 * calls (with what is pending to share them), the quota, every refusal. On a Redis of this file's own, so
 * "writes nothing" is checked on the whole server: its keys byte for byte, and its count of writes.
 */
describe('POST /v1/purges with dryRun: true', () => {
  let server: SpawnedRedis;
  let redis: Redis;
  let simulator: Simulator;
  let api: TestApi;

  async function apiOn(prefix: string, workers = false): Promise<TestApi> {
    const started = await startTestApi(
      simulator.url,
      {
        redis: { url: server.url, prefix },
        cdns: CDNS(simulator.url),
        routes: [{ hosts: ['www.example.com'], cdns: ['vims-main', 'quantil-main'] }],
      },
      { workers },
    );
    // BullMQ writes each queue's meta key once it connects; wait for those, so every later write is ours.
    const queues = started.service.runtime.queues();
    await vi.waitFor(async () => {
      for (const queue of queues)
        if (!(await redis.exists(queue.keys.meta ?? `${queue.qualifiedName}:meta`)))
          throw new Error('not yet');
    });
    return started;
  }

  beforeAll(async () => {
    server = await spawnRedisServer();
    redis = new Redis(server.url);
    simulator = await startSimulator({
      ...VIMS_RIG.simulatorOptions({ taskDurationMs: 20 }),
      ...QUANTIL_RIG.simulatorOptions({ taskDurationMs: 20 }),
    });
    api = await apiOn(uniquePrefix('dry'));
  });
  afterAll(async () => {
    await api?.close();
    await simulator?.close();
    redis?.disconnect();
    await server?.stop();
  });

  const post = (target: TestApi, payload: object, headers: Record<string, string> = {}) =>
    target.app.inject({ method: 'POST', url: '/v1/purges', headers: { ...auth, ...headers }, payload });

  /** Runs a dry run and shows it changed nothing on the server: no key, no write, no job. */
  async function dryRun(target: TestApi, payload: object, headers: Record<string, string> = {}) {
    const jobCounts = () => Promise.all(target.service.runtime.queues().map((queue) => queue.getJobCounts()));
    await settled(redis);
    const [before, jobsBefore] = [await snapshot(redis), await jobCounts()];
    const response = await post(target, { dryRun: true, ...payload }, headers);
    expect(await snapshot(redis)).toEqual(before);
    expect(await jobCounts()).toEqual(jobsBefore);
    return response;
  }

  const quantil = (target: TestApi) => target.service.runtime.providers.get('quantil-main') as Provider;

  it('answers 200 with the plan per CDN, what is pending to join, and writes nothing', async () => {
    const own = await apiOn(uniquePrefix('dry-pending'));
    try {
      const earlier = await post(own, { urls: stories(1, 4) });
      expect(earlier.statusCode).toBe(202);
      const quota = own.service.runtime.quota;
      const used = await quota.used(quantil(own), 'urls', Date.now());

      const response = await dryRun(own, { urls: [page('story-2.html'), ...stories(10, 2)] });
      expect(response.statusCode).toBe(200);
      const answer = response.json<DryRunAnswer>();
      expect(answer).toMatchObject({
        dryRun: true,
        outcome: 'accepted',
        wouldAnswer: 202,
        wouldBeRefused: [],
      });
      expect(answer.duplicateOf).toBeUndefined();
      for (const cdnId of ['vims-main', 'quantil-main']) {
        expect(answer.cdns[cdnId]).toMatchObject({
          targets: { urls: 3, dirs: 0, tags: 0, pattern: 0, all: 0 },
          alreadyPending: { urls: 1, dirs: 0, tags: 0, pattern: 0, all: 0 },
          pending: 4,
          callsComplete: true,
        });
      }
      // QUANTIL: 4 pending and 2 new, 3 a call; the joined one rides with the pending, the new ones last.
      expect(answer.cdns['quantil-main']?.perCall).toEqual({ maxItems: 3 });
      expect(answer.cdns['quantil-main']?.calls).toEqual([
        { urls: 3, dirs: 0, tags: 0, pattern: 0, all: 0, fromThisRequest: 1 },
        { urls: 3, dirs: 0, tags: 0, pattern: 0, all: 0, fromThisRequest: 2 },
      ]);
      expect(answer.cdns['vims-main']?.perCall).toEqual({ maxItems: 10_000, maxChars: 140, charsOf: 'path' });
      expect(answer.cdns['vims-main']?.calls).toEqual([
        { urls: 6, dirs: 0, tags: 0, pattern: 0, all: 0, fromThisRequest: 3 },
      ]);
      expect(answer.cdns['quantil-main']?.quota).toEqual({
        limited: true,
        day: new Date().toISOString().slice(0, 10),
        urls: { limit: 5000, used, charge: 2, left: 5000 - used },
        dirs: { limit: 500, used: 0, charge: 0, left: 500 },
      });
      expect(answer.cdns['vims-main']?.quota).toEqual({ limited: false });
    } finally {
      await own.close();
    }
  });

  it('puts an urgent request first in the calls, and names a bulk one the full bulk backlog would shed', async () => {
    const prefix = uniquePrefix('dry-lanes');
    const own = await startTestApi(
      simulator.url,
      {
        redis: { url: server.url, prefix },
        cdns: [{ ...QUANTIL_RIG.cdnEntry(simulator.url), maxItemsPerCall: 3, maxBulkBacklog: 4 }],
        routes: [{ hosts: ['www.example.com'], cdns: ['quantil-main'] }],
      },
      { workers: false },
    );
    try {
      const backlog = { urls: stories(30, 4), priority: 'bulk', idempotencyKey: 'bulk-backlog' };
      expect((await post(own, backlog)).statusCode).toBe(202);

      const urgent = (
        await dryRun(own, { urls: [page('now.html')], priority: 'urgent' })
      ).json<DryRunAnswer>();
      expect(urgent.outcome).toBe('accepted');
      // Ahead of the four bulk targets, though they were accepted first.
      expect(urgent.cdns['quantil-main']?.calls).toEqual([
        { urls: 3, dirs: 0, tags: 0, pattern: 0, all: 0, fromThisRequest: 1 },
        { urls: 2, dirs: 0, tags: 0, pattern: 0, all: 0, fromThisRequest: 0 },
      ]);

      const bulk = (await dryRun(own, { urls: [page('later.html')], priority: 'bulk' })).json<DryRunAnswer>();
      expect(bulk).toMatchObject({ outcome: 'refused', wouldAnswer: 429 });
      expect(bulk.wouldBeRefused).toEqual([
        expect.objectContaining({ code: 'BACKLOG_FULL', cdn: 'quantil-main' }),
      ]);
      // A real request gets what the dry run said.
      expect((await post(own, { urls: [page('later.html')], priority: 'bulk' })).statusCode).toBe(429);
      // A used key is answered before any shedding, as ingest.lua answers it: the repeat is a duplicate.
      const repeat = (await dryRun(own, backlog)).json<DryRunAnswer>();
      expect(repeat).toMatchObject({ outcome: 'duplicate', wouldBeRefused: [] });
      expect((await post(own, backlog)).statusCode).toBe(202);
    } finally {
      await own.close();
    }
  });

  it('charges the quota it said and refuses over quota as it said, naming what is left today', async () => {
    const own = await apiOn(uniquePrefix('dry-quota'));
    try {
      const counter = own.service.runtime.quota.countersFor(quantil(own), Date.now()).urls;
      if (!counter) throw new Error('QUANTIL has a urls quota');
      await post(own, { urls: stories(1, 1) });
      await redis.set(counter.key, 4_997);

      const fits = (await dryRun(own, { urls: stories(1, 4) })).json<DryRunAnswer>();
      expect(fits).toMatchObject({ outcome: 'accepted', wouldAnswer: 202 });
      expect(fits.cdns['quantil-main']?.quota).toMatchObject({
        urls: { limit: 5000, used: 4_997, charge: 3, left: 3 },
      });
      expect((await post(own, { urls: stories(1, 4) })).statusCode).toBe(202);
      expect(Number(await redis.get(counter.key))).toBe(5_000);

      const over = (await dryRun(own, { urls: stories(20, 2) })).json<DryRunAnswer>();
      expect(over).toMatchObject({
        outcome: 'refused',
        wouldAnswer: 429,
        wouldBeRefused: [
          {
            code: 'QUOTA_EXCEEDED',
            status: 429,
            cdn: 'quantil-main',
            kind: 'urls',
            limit: 5000,
            used: 5000,
            charge: 2,
            message: expect.stringMatching(/quantil-main.*5000 urls.*2 to charge, 0 left today/),
          },
        ],
      });
      expect(over.cdns['quantil-main']?.quota).toMatchObject({ urls: { charge: 2, left: 0 } });
      const real = await post(own, { urls: stories(20, 2) });
      expect(real.statusCode).toBe(429);
      expect(real.json()).toMatchObject({ error: 'QUOTA_EXCEEDED' });

      // Already pending, so joined and charged nothing: within quota even at its limit.
      const joining = (await dryRun(own, { urls: stories(2, 2) })).json<DryRunAnswer>();
      expect(joining).toMatchObject({ outcome: 'accepted', wouldBeRefused: [] });
      expect(joining.cdns['quantil-main']?.quota).toMatchObject({ urls: { charge: 0, left: 0 } });
    } finally {
      await own.close();
    }
  });

  it('names a kind a CDN refuses, with the 400 a real request would get, and still plans the others', async () => {
    const pattern = '^/live/.*\\.m3u8$';
    const answer = (await dryRun(api, { pattern, cdns: ['vims-main', 'quantil-main'] })).json<DryRunAnswer>();
    expect(answer).toMatchObject({
      outcome: 'refused',
      wouldAnswer: 400,
      wouldBeRefused: [
        {
          code: 'KIND_UNSUPPORTED',
          status: 400,
          cdn: 'quantil-main',
          message: expect.stringMatching(/quantil-main \(quantil\) cannot purge by pattern/),
        },
      ],
    });
    expect(answer.cdns['vims-main']).toMatchObject({
      targets: { pattern: 1 },
      calls: [{ urls: 0, dirs: 0, pattern: 1, all: 0, fromThisRequest: 1 }],
    });
    // Refused there, so none of it would go to QUANTIL: no call, no charge.
    expect(answer.cdns['quantil-main']).toMatchObject({ targets: { pattern: 1 }, calls: [] });
    const real = await post(api, { pattern, cdns: ['vims-main', 'quantil-main'] });
    expect(real.statusCode).toBe(400);
    expect(real.json()).toMatchObject({ error: 'KIND_UNSUPPORTED' });

    const all = (await dryRun(api, { all: true, cdns: ['quantil-main'] })).json<DryRunAnswer>();
    expect(all.wouldBeRefused).toMatchObject([
      { code: 'KIND_UNSUPPORTED', cdn: 'quantil-main', message: expect.stringMatching(/domains/) },
    ]);
  });

  it('tells a repeat of an idempotency key from a reuse of it for another request', async () => {
    const urls = stories(30, 2);
    const first = await post(api, { urls, idempotencyKey: 'rev-1' });
    expect(first.statusCode).toBe(202);

    const repeat = (await dryRun(api, { urls: [...urls].reverse(), idempotencyKey: 'rev-1' })).json();
    expect(repeat).toMatchObject({
      outcome: 'duplicate',
      duplicateOf: first.json().id,
      wouldAnswer: 202,
      wouldBeRefused: [],
    });
    const other = await dryRun(api, { urls: stories(40, 1) }, { 'idempotency-key': 'rev-1' });
    expect(other.json()).toMatchObject({
      outcome: 'refused',
      wouldAnswer: 409,
      wouldBeRefused: [
        { code: 'IDEMPOTENCY_KEY_REUSED', status: 409, message: expect.stringMatching(/"rev-1".*different/) },
      ],
    });
    expect(other.json().duplicateOf).toBeUndefined();
    expect((await post(api, { urls: stories(40, 1), idempotencyKey: 'rev-1' })).statusCode).toBe(409);

    // A key only ever dry-run is still free: the dry run claimed nothing.
    const fresh = await dryRun(api, { urls: stories(50, 1), idempotencyKey: 'rev-2' });
    expect(fresh.json()).toMatchObject({ outcome: 'accepted' });
    const real = await post(api, { urls: stories(51, 1), idempotencyKey: 'rev-2' });
    expect(real.statusCode).toBe(202);
    expect(real.json().duplicate).toBeUndefined();
  });

  it('reads at most FORECAST_PENDING_LIMIT pending targets: the calls then cover the oldest, and say so', async () => {
    const own = await apiOn(uniquePrefix('dry-backlog'));
    try {
      // A backlog such as a CDN outage leaves: more targets pending than a dry run reads.
      const backlog = Array.from({ length: FORECAST_PENDING_LIMIT + 2 }, (_, i) => [
        1_000 + i,
        `u ${page(`backlog-${String(i).padStart(6, '0')}.html`)}`,
      ]);
      await redis.zadd(pendingKey(own.service.config.redis.prefix, 'quantil-main'), ...backlog.flat());
      const newest = page(`backlog-${String(FORECAST_PENDING_LIMIT + 1).padStart(6, '0')}.html`);

      const answer = (await dryRun(own, { urls: [newest, page('after.html')] })).json<DryRunAnswer>();
      const forecast = answer.cdns['quantil-main'];
      expect(forecast).toMatchObject({
        pending: FORECAST_PENDING_LIMIT + 2,
        callsComplete: false,
        alreadyPending: { urls: 1 },
      });
      const calls = forecast?.calls ?? [];
      expect(calls).toHaveLength(Math.ceil(FORECAST_PENDING_LIMIT / 3));
      expect(calls.reduce((sum, call) => sum + call.urls, 0)).toBe(FORECAST_PENDING_LIMIT);
      expect(calls.every((call) => call.fromThisRequest === 0)).toBe(true);
      expect(answer.cdns['vims-main']).toMatchObject({ pending: 0, callsComplete: true });
    } finally {
      await own.close();
    }
  });

  it('refuses invalid requests with the same 400 as a real one', async () => {
    const cases: Array<[object, RegExp]> = [
      [{ urls: ['ftp://www.example.com/a'] }, /urls\[0\]/],
      [{ urls: ['https://unrouted.example.org/a'] }, /no route covers host/],
      [{ urls: [page('a')], cdns: ['nope'] }, /unknown CDN/],
      [{ urls: [page('a')], dryRun: 'yes' }, /dryRun must be boolean/],
    ];
    for (const [payload, message] of cases) {
      const response = await dryRun(api, payload);
      expect(response.statusCode, JSON.stringify(payload)).toBe(400);
      expect(response.json()).toMatchObject({
        error: 'REQUEST_INVALID',
        message: expect.stringMatching(message),
      });
    }
  });

  it('predicts the calls a real purge then makes, counted in the CDNs own request logs', async () => {
    const own = await apiOn(uniquePrefix('dry-real'));
    try {
      const pending = [...stories(100, 5), page('section-7/')];
      const earlier = [
        await post(own, { urls: stories(100, 5) }),
        await post(own, { dirs: [page('section-7/')] }),
      ];
      const request = { urls: [page('story-102.html'), ...stories(110, 6)], dirs: [page('section-8/')] };
      const answer = (await dryRun(own, request)).json<DryRunAnswer>();
      expect(answer.outcome).toBe('accepted');
      const real = await post(own, request);
      expect(real.statusCode).toBe(202);

      const vimsBefore = simulator.vims.tasks.length;
      const quantilBefore = simulator.quantil.purges.length;
      own.service.runtime.startWorkers();
      for (const purge of [...earlier, real])
        expect((await own.service.waitForFinish(purge.json().id)).state).toBe('succeeded');

      const ours = new Set([...request.urls, ...request.dirs]);
      const known = [...new Set([...pending, ...ours])];
      const callOf = (urls: string[], dirs: string[]): ForecastCall => ({
        urls: urls.length,
        dirs: dirs.length,
        tags: 0,
        pattern: 0,
        all: 0,
        fromThisRequest: [...urls, ...dirs].filter((item) => ours.has(item)).length,
      });
      const vimsCalls = simulator.vims.tasks.slice(vimsBefore).map(({ pattern }) => {
        const carried = known.filter((item) => pattern.includes(escapeRegex(matchSubject(item, 'path'))));
        return callOf(
          carried.filter((item) => !item.endsWith('/')),
          carried.filter((item) => item.endsWith('/')),
        );
      });
      const quantilCalls = simulator.quantil.purges.slice(quantilBefore).map(({ items }) =>
        callOf(
          items.filter((item) => !item.isdir).map((item) => item.path),
          items.filter((item) => item.isdir).map((item) => item.path),
        ),
      );
      // Flushes take in order; their submits may reach the CDN in another.
      const sorted = (calls: readonly ForecastCall[] = []) =>
        [...calls].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
      expect(answer.cdns['vims-main']?.calls.length).toBeGreaterThan(1);
      expect(answer.cdns['quantil-main']?.calls.length).toBeGreaterThan(3);
      expect(sorted(vimsCalls)).toEqual(sorted(answer.cdns['vims-main']?.calls));
      expect(sorted(quantilCalls)).toEqual(sorted(answer.cdns['quantil-main']?.calls));
      expect(answer.cdns['quantil-main']?.alreadyPending.urls).toBe(1);
    } finally {
      await own.close();
    }
  });
});
