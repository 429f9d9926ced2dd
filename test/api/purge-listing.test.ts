import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import type { ListPage, PurgeSummary } from '../../src/status/list.ts';
import { API_TOKEN, startTestApi, type TestApi } from '../harness/api.ts';
import { QUANTIL_RIG, type ScenarioSimOptions, VIMS_RIG } from '../harness/cdn-rigs.ts';

const auth = { authorization: `Bearer ${API_TOKEN}` };

describe('GET /v1/purges', () => {
  let simulator: Simulator;
  let api: TestApi;
  /** Oldest first, as accepted. */
  const ids: string[] = [];
  let failedId: string;
  let quantilOnly: string;

  const list = async (query: string) => {
    const response = await api.app.inject({ url: `/v1/purges${query}`, headers: auth });
    expect(response.statusCode, response.body).toBe(200);
    return response.json<ListPage>();
  };
  const idsOf = (purges: PurgeSummary[]) => purges.map((purge) => purge.id);

  beforeAll(async () => {
    const sim: ScenarioSimOptions = { taskDurationMs: 20, failMarker: 'broken' };
    simulator = await startSimulator({
      ...VIMS_RIG.simulatorOptions(sim),
      ...QUANTIL_RIG.simulatorOptions(sim),
    });
    api = await startTestApi(
      simulator.url,
      {
        cdns: [VIMS_RIG.cdnEntry(simulator.url), QUANTIL_RIG.cdnEntry(simulator.url)],
        routes: [{ hosts: ['www.example.com'], cdns: ['vims-main', 'quantil-main'] }],
      },
      { workers: true },
    );
    const { producer } = api.service.runtime;
    // One at a time, each to its end: accepted together they would share a CDN call, and its outcome.
    const enqueue = async (request: Parameters<typeof producer.enqueuePurge>[0]) => {
      const { id } = await producer.enqueuePurge(request);
      await api.service.waitForFinish(id);
      ids.push(id);
      return id;
    };
    failedId = await enqueue({ urls: ['https://www.example.com/broken.html'] });
    await enqueue({ urls: ['https://www.example.com/one.html'] });
    quantilOnly = await enqueue({ urls: ['https://www.example.com/two.html'], cdns: ['quantil-main'] });
    await enqueue({ urls: ['https://www.example.com/three.html', 'https://www.example.com/four.html'] });
  });
  afterAll(async () => {
    await api.close();
    await simulator.close();
  });

  it('lists purges newest first, each with its state, CDNs, target counts and first URL', async () => {
    const page = await list('');
    expect(idsOf(page.purges)).toEqual(ids.slice().reverse());
    expect(page.nextCursor).toBeUndefined();
    expect(page.purges[0]).toMatchObject({
      id: ids[3],
      state: 'succeeded',
      cdns: ['vims-main', 'quantil-main'],
      label: 'https://www.example.com/three.html',
      request: { urls: 2, dirs: 0 },
      targets: { 'vims-main': { total: 2, succeeded: 2 }, 'quantil-main': { total: 2, succeeded: 2 } },
      errorCodes: [],
      finishedAt: expect.any(Number),
    });
    expect(page.purges.find((purge) => purge.id === failedId)).toMatchObject({
      state: 'failed',
      errorCodes: ['CDN_TASK_FAILED'],
    });
  });

  it('filters by state and by CDN', async () => {
    expect(idsOf((await list('?state=failed')).purges)).toEqual([failedId]);
    expect(idsOf((await list('?state=failed,timed_out,queued')).purges)).toEqual([failedId]);
    expect(idsOf((await list('?state=succeeded')).purges)).toEqual(ids.slice(1).reverse());
    const vims = idsOf((await list('?cdn=vims-main')).purges);
    expect(vims).toEqual(ids.filter((id) => id !== quantilOnly).reverse());
    expect(idsOf((await list('?cdn=quantil-main&state=succeeded')).purges)).toEqual(ids.slice(1).reverse());
  });

  it('filters by when it was accepted, in epoch ms, ISO dates and spans back from now', async () => {
    const created = await Promise.all(
      ids.map(async (id) => (await api.service.runtime.store.get(id))?.createdAt as number),
    );
    const [, second, third] = created as [number, number, number, number];
    const between = await list(`?since=${second}&until=${third}`);
    expect(idsOf(between.purges)).toEqual([ids[2], ids[1]]);
    const iso = new Date(third).toISOString();
    expect(idsOf((await list(`?until=${encodeURIComponent(iso)}`)).purges)).toEqual(
      ids.slice(0, 3).reverse(),
    );
    expect(idsOf((await list('?since=1h')).purges)).toEqual(ids.slice().reverse());
    expect((await list(`?since=${Date.now() + 60_000}`)).purges).toEqual([]);
  });

  it('finds a purge by text in any of its URLs, naming what matched', async () => {
    const page = await list('?url=FOUR.html');
    expect(idsOf(page.purges)).toEqual([ids[3]]);
    expect(page.purges[0]?.matches).toEqual(['https://www.example.com/four.html']);
  });

  it('pages with limit and an opaque cursor, every purge once', async () => {
    const first = await list('?limit=3');
    expect(idsOf(first.purges)).toEqual([ids[3], ids[2], ids[1]]);
    expect(first.nextCursor).toMatch(/^[A-Za-z0-9_-]+$/);
    const rest = await list(`?limit=3&cursor=${first.nextCursor}`);
    expect(idsOf(rest.purges)).toEqual([ids[0]]);
    expect(rest.nextCursor).toBeUndefined();
  });

  it.each([
    ['?state=lost', 'state'],
    ['?state=failed&state=succeeded', 'state'],
    ['?cdn=akamai', 'cdn'],
    ['?since=yesterday', 'since'],
    ['?until=1795625094', 'until'],
    ['?limit=1000', 'limit'],
    ['?limit=ten', 'limit'],
    ['?cursor=garbage!', 'cursor'],
    ['?url=', 'url'],
    ['?sort=asc', 'sort'],
  ])('refuses %s with 400 REQUEST_INVALID naming %s', async (query, parameter) => {
    const response = await api.app.inject({ url: `/v1/purges${query}`, headers: auth });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({
      error: 'REQUEST_INVALID',
      parameter,
      message: expect.stringMatching(new RegExp(`^${parameter}: `)),
    });
  });

  it('needs a bearer token', async () => {
    const response = await api.app.inject({ url: '/v1/purges' });
    expect(response.statusCode).toBe(401);
    expect(response.json()).toMatchObject({ error: 'UNAUTHORIZED' });
  });
});
