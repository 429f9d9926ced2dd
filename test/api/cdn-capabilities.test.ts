import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Provider } from '../../src/providers/provider.ts';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { API_TOKEN, startTestApi, type TestApi } from '../harness/api.ts';
import { QUANTIL_RIG, VIMS_RIG } from '../harness/cdn-rigs.ts';
import { testConfigInput } from '../harness/service.ts';

const auth = { authorization: `Bearer ${API_TOKEN}` };

/** What a CDN can do is checked at ingest: refusals are 4xx with nothing enqueued, never jobs that fail later. */
describe('CDN capabilities at ingest', () => {
  let simulator: Simulator;
  let api: TestApi;

  beforeAll(async () => {
    simulator = await startSimulator({
      ...VIMS_RIG.simulatorOptions({ taskDurationMs: 100 }),
      ...QUANTIL_RIG.simulatorOptions({ taskDurationMs: 100 }),
    });
    const cdns = [VIMS_RIG.cdnEntry(simulator.url), QUANTIL_RIG.cdnEntry(simulator.url)];
    api = await startTestApi(simulator.url, {
      cdns,
      routes: testConfigInput(simulator.url, {}, cdns).routes,
      api: { host: '127.0.0.1', port: 0, tokens: [API_TOKEN], maxItemsPerRequest: 1000 },
    });
  });
  afterAll(async () => {
    await api.close();
    await simulator.close();
  });

  const post = (payload: unknown) =>
    api.app.inject({ method: 'POST', url: '/v1/purges', headers: auth, payload: payload as object });

  it('refuses a pattern for QUANTIL, naming the CDN, and enqueues nothing (not even for VIMS)', async () => {
    const before = await api.keys();
    const response = await post({ pattern: '\\.jpg$', cdns: ['vims-main', 'quantil-main'] });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({
      error: 'KIND_UNSUPPORTED',
      message: 'CDN quantil-main (quantil) cannot purge by pattern',
    });
    expect(await api.keys()).toEqual(before);
  });

  it('refuses tags for CDNs that do not purge by tag, naming the CDN, and enqueues nothing', async () => {
    const before = await api.keys();
    const named = await post({ tags: ['article-42'], cdns: ['vims-main'] });
    expect(named.statusCode).toBe(400);
    expect(named.json()).toEqual({
      error: 'KIND_UNSUPPORTED',
      message: 'CDN vims-main (vims) cannot purge tags',
    });
    // Unnamed, tags go to every CDN that purges by tag: here there is none.
    const unnamed = await post({ urls: ['https://www.example.com/a'], tags: ['article-42'] });
    expect(unnamed.statusCode).toBe(400);
    expect(unnamed.json()).toMatchObject({
      error: 'KIND_UNSUPPORTED',
      message: expect.stringMatching(/^no configured CDN purges by tags/),
    });
    // A tag the CDNs could not take (a space separates Fastly's keys) is refused as malformed.
    const spaced = await post({ tags: ['two words'], cdns: ['vims-main'] });
    expect(spaced.statusCode).toBe(400);
    expect(spaced.json()).toMatchObject({ error: 'REQUEST_INVALID', message: expect.stringMatching(/tag/) });
    expect(await api.keys()).toEqual(before);
  });

  it('refuses all for QUANTIL when its domains are not configured, and enqueues nothing', async () => {
    const before = await api.keys();
    const response = await post({ all: true, cdns: ['quantil-main'] });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toBe('KIND_UNSUPPORTED');
    expect(response.json().message).toMatch(/domains/);
    expect(await api.keys()).toEqual(before);
  });

  // Each test reads the quota it starts from: what the tests before it charged is theirs, not its.
  const dirsUsed = () => {
    const provider = api.service.runtime.providers.get('quantil-main') as Provider;
    return api.service.runtime.quota.used(provider, 'dirs', Date.now());
  };

  it("plans QUANTIL work in calls of its per-call maximum and charges the account's daily quota", async () => {
    const dirs = Array.from({ length: 300 }, (_, i) => `https://www.example.com/section-${i}/`);
    const plan = api.service.runtime.producer.plan({ dirs, cdns: ['quantil-main'] });
    expect(plan.batches.map((b) => b.target.dirs.length)).toEqual([100, 100, 100]);
    const usedBefore = await dirsUsed();
    const response = await post({ dirs, cdns: ['quantil-main'] });
    expect(response.statusCode).toBe(202);
    const status = await api.service.runtime.store.get(response.json().id);
    expect(status?.targets['quantil-main']).toMatchObject({ total: 300, pending: 300 });
    expect((await dirsUsed()) - usedBefore).toBe(300);
  });

  it('refuses work over the daily quota with 429 and the numbers, and enqueues nothing', async () => {
    const before = await api.keys();
    const left = 500 - (await dirsUsed());
    const dirs = Array.from({ length: left + 1 }, (_, i) => `https://www.example.com/more-${i}/`);
    const response = await post({ dirs, cdns: ['quantil-main'] });
    expect(response.statusCode).toBe(429);
    expect(response.json()).toEqual({
      error: 'QUOTA_EXCEEDED',
      message: `CDN quantil-main: daily quota of 500 dirs would be exceeded (${left + 1} requested, ${left} left today, UTC)`,
    });
    expect(await api.keys()).toEqual(before);
  });

  it('answers a repeat of an accepted purge with its id, never with 429 for the quota the first one holds', async () => {
    // More than half of what is left today: charging the repeat too would go over the quota.
    const left = 500 - (await dirsUsed());
    const dirs = Array.from(
      { length: Math.floor(left / 2) + 1 },
      (_, i) => `https://www.example.com/repeat-${i}/`,
    );
    const first = await post({ dirs, cdns: ['quantil-main'], idempotencyKey: 'big-batch-1' });
    expect(first.statusCode).toBe(202);
    const used = await dirsUsed();
    const repeat = await post({ dirs, cdns: ['quantil-main'], idempotencyKey: 'big-batch-1' });
    expect(repeat.statusCode).toBe(202);
    expect(repeat.json()).toMatchObject({ id: first.json().id, duplicate: true });
    expect(await dirsUsed()).toBe(used);
  });
});
