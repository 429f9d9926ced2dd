import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PurgeStatus } from '../../src/model/status.ts';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import type { ListPage } from '../../src/status/list.ts';
import { API_TOKEN, startTestApi, type TestApi } from '../harness/api.ts';
import { QUANTIL_RIG, VIMS_RIG } from '../harness/cdn-rigs.ts';

const auth = { authorization: `Bearer ${API_TOKEN}` };
const url = (name: string) => `https://www.example.com/${name}`;

/**
 * VIMS fails any task whose pattern names `broken`; QUANTIL succeeds. A and B are accepted in one window, so
 * one VIMS call carries both and fails both; QUANTIL's succeeds.
 */
describe('POST /v1/purges/:id/replay', () => {
  let simulator: Simulator;
  let api: TestApi;
  let a: string;
  let b: string;
  let fine: string;

  const replay = (id: string, payload?: unknown, headers: Record<string, string> = auth) =>
    api.app.inject({
      method: 'POST',
      url: `/v1/purges/${id}/replay`,
      headers,
      ...(payload === undefined ? {} : { payload: payload as string }),
    });
  const status = async (id: string) => (await api.service.runtime.store.get(id)) as PurgeStatus;

  beforeAll(async () => {
    simulator = await startSimulator({
      ...VIMS_RIG.simulatorOptions({ taskDurationMs: 20, failMarker: 'broken' }),
      ...QUANTIL_RIG.simulatorOptions({ taskDurationMs: 20 }),
    });
    api = await startTestApi(simulator.url, {
      cdns: [VIMS_RIG.cdnEntry(simulator.url), QUANTIL_RIG.cdnEntry(simulator.url)],
      routes: [{ hosts: ['www.example.com'], cdns: ['vims-main', 'quantil-main'] }],
    });
    const { producer } = api.service.runtime;
    // Both accepted before any worker runs: their targets wait in one window and go out in one call per CDN.
    a = (await producer.enqueuePurge({ urls: [url('broken.html'), url('a2.html')] })).id;
    b = (await producer.enqueuePurge({ urls: [url('b1.html')] })).id;
    api.service.runtime.startWorkers();
    await Promise.all([api.service.waitForFinish(a), api.service.waitForFinish(b)]);
    fine = (await producer.enqueuePurge({ urls: [url('fine.html')] })).id;
    await api.service.waitForFinish(fine);
  });
  afterAll(async () => {
    await api.close();
    await simulator.close();
  });

  it("sends again only what failed: the purge's own targets of its failed CDN call, as a new purge naming it", async () => {
    const origin = await status(a);
    expect(origin.state).toBe('failed');
    const vimsBatch = origin.batches.find((batch) => batch.cdnId === 'vims-main');
    expect(vimsBatch).toMatchObject({ state: 'failed', purges: 2, items: 3 });

    const response = await replay(a);
    expect(response.statusCode).toBe(202);
    const body = response.json<{ id: string; cdns: string[]; replayOf: string }>();
    expect(body).toEqual({ id: expect.any(String), cdns: ['vims-main'], replayOf: a });
    expect(body.id).not.toBe(a);
    const plan = await api.service.runtime.store.getPlan(body.id);
    // A's two URLs, not B's, which rode the same call: B replays its own.
    expect(plan?.targets).toEqual({ 'vims-main': { urls: [url('broken.html'), url('a2.html')], dirs: [] } });

    const replayed = await api.service.waitForFinish(body.id);
    expect(replayed).toMatchObject({ replayOf: a, cdns: ['vims-main'], request: { urls: 2, dirs: 0 } });
    const get = await api.app.inject({ url: `/v1/purges/${body.id}`, headers: auth });
    expect(get.json()).toMatchObject({ id: body.id, replayOf: a });
    // What VIMS was asked the second time: A's URLs only.
    const last = simulator.vims.tasks.at(-1);
    expect(last?.pattern).toContain('a2');
    expect(last?.pattern).not.toContain('b1');
  });

  it('answers a second replay of the same purge with the first one, enqueuing nothing', async () => {
    const first = (await replay(a)).json<{ id: string }>();
    const keys = await api.keys();
    const again = await replay(a, {});
    expect(again.statusCode).toBe(202);
    expect(again.json()).toEqual({ id: first.id, cdns: ['vims-main'], replayOf: a, duplicate: true });
    expect(await api.keys()).toEqual(keys);
  });

  it('with all: true sends the whole purge again, to every CDN, as a replay of its own', async () => {
    const response = await replay(a, { all: true });
    expect(response.statusCode).toBe(202);
    const body = response.json<{ id: string; cdns: string[] }>();
    expect(body.cdns.sort()).toEqual(['quantil-main', 'vims-main']);
    expect(body.id).not.toBe((await replay(a)).json<{ id: string }>().id);
    expect((await replay(a, { all: true })).json()).toMatchObject({ id: body.id, duplicate: true });
    expect((await api.service.runtime.store.getPlan(body.id))?.targets).toEqual({
      'vims-main': { urls: [url('broken.html'), url('a2.html')], dirs: [] },
      'quantil-main': { urls: [url('broken.html'), url('a2.html')], dirs: [] },
    });
    expect(await status(body.id)).toMatchObject({ replayOf: a });
  });

  it('lists replays with the purge they replay', async () => {
    const response = await api.app.inject({ url: `/v1/purges?url=b1.html`, headers: auth });
    expect(response.json<ListPage>().purges.map((purge) => purge.id)).toEqual([b]);
    const replayOfB = (await replay(b)).json<{ id: string }>().id;
    const listed = await api.app.inject({ url: `/v1/purges?url=b1.html`, headers: auth });
    expect(listed.json<ListPage>().purges.map((purge) => [purge.id, purge.replayOf])).toEqual([
      [replayOfB, b],
      [b, undefined],
    ]);
  });

  it('refuses a purge with nothing failed: 409 NOTHING_TO_REPLAY, nothing written', async () => {
    const keys = await api.keys();
    const response = await replay(fine);
    expect(response.statusCode).toBe(409);
    expect(response.json()).toEqual({
      error: 'NOTHING_TO_REPLAY',
      message: `purge ${fine} has nothing to replay: it ended succeeded (replay it with all to send all of it again)`,
    });
    expect(await api.keys()).toEqual(keys);
    expect((await replay(fine, { all: true })).statusCode).toBe(202);
  });

  it('answers 404 for an unknown purge, 400 for a bad body, 401 without a token', async () => {
    const unknown = await replay('no-such-purge');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ error: 'NOT_FOUND' });
    const bad = await replay(a, { all: 'yes' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ error: 'REQUEST_INVALID' });
    expect((await replay(a, { every: true })).statusCode).toBe(400);
    expect((await replay('bad id!')).statusCode).toBe(400);
    expect((await replay(a, undefined, {})).statusCode).toBe(401);
  });
});
