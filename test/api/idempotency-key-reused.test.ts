import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { API_TOKEN, startTestApi, type TestApi } from '../harness/api.ts';
import { flushJob, pendingTargets } from '../harness/pending.ts';
import { startTestService, TEST_VIMS_TOKEN, testConfigInput } from '../harness/service.ts';

const auth = { authorization: `Bearer ${API_TOKEN}` };

/** A key names one request: a different request under it is refused, a true repeat is answered from the first. */
describe('a repeated idempotency key', () => {
  let simulator: Simulator;
  let api: TestApi;

  beforeAll(async () => {
    simulator = await startSimulator({ vims: { tokens: [TEST_VIMS_TOKEN] } });
    api = await startTestApi(simulator.url, { callbacks: { allowHosts: ['127.0.0.1'] } });
  });
  afterAll(async () => {
    await api.close();
    await simulator.close();
  });

  const post = (payload: object, headers: Record<string, string> = {}) =>
    api.app.inject({ method: 'POST', url: '/v1/purges', headers: { ...auth, ...headers }, payload });

  it('with a different request answers 409 IDEMPOTENCY_KEY_REUSED and writes nothing', async () => {
    const first = await post({ urls: ['https://www.example.com/first.html'], idempotencyKey: 'k-409' });
    expect(first.statusCode).toBe(202);
    const before = await api.keys();
    const other = await post({ urls: ['https://www.example.com/second.html'], idempotencyKey: 'k-409' });
    expect(other.statusCode).toBe(409);
    expect(other.json()).toMatchObject({
      error: 'IDEMPOTENCY_KEY_REUSED',
      message: expect.stringMatching(/k-409.*different request/),
    });
    expect(await api.keys()).toEqual(before);
  });

  it('with another callback URL is a different request too', async () => {
    const urls = ['https://www.example.com/cb.html'];
    await post({ urls, idempotencyKey: 'k-cb', callbackUrl: 'http://127.0.0.1:9/a' });
    const other = await post({ urls, idempotencyKey: 'k-cb', callbackUrl: 'http://127.0.0.1:9/b' });
    expect(other.statusCode).toBe(409);
  });

  it('with the same URLs in another order or spelling is the same request', async () => {
    const first = await post({
      urls: ['https://www.example.com/x.html', 'https://www.example.com/y.html'],
      idempotencyKey: 'k-order',
    });
    const again = await post({
      urls: ['https://WWW.example.com/y.html#top', 'https://www.example.com/x.html'],
      idempotencyKey: 'k-order',
    });
    expect(again.statusCode).toBe(202);
    expect(again.json()).toMatchObject({ id: first.json().id, duplicate: true });
  });

  it('sent as header and body field with different values is a 400, writing nothing', async () => {
    const before = await api.keys();
    const response = await post(
      { urls: ['https://www.example.com/both.html'], idempotencyKey: 'body-key' },
      { 'idempotency-key': 'header-key' },
    );
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({
      error: 'REQUEST_INVALID',
      message: expect.stringMatching(/Idempotency-Key header and the body field idempotencyKey differ/),
    });
    expect(await api.keys()).toEqual(before);
    const same = await post(
      { urls: ['https://www.example.com/both.html'], idempotencyKey: 'same-key' },
      { 'idempotency-key': 'same-key' },
    );
    expect(same.statusCode).toBe(202);
  });

  it('schedules a lost flush again for the first request, never for the repeat or a changed config', async () => {
    const urls = ['https://www.example.com/lost-job.html'];
    const first = await post({ urls, idempotencyKey: 'k-lost' });
    const id = first.json<{ id: string }>().id;
    const queue = api.service.runtime.producer.queues.get('vims-main');
    // The crash window: the purge and its pending target are written, the flush never was.
    const lost = await flushJob(queue, 'vims-main');
    expect(await queue?.remove(String(lost?.id))).toBe(1);
    expect(await flushJob(queue, 'vims-main')).toBeUndefined();

    // The repeat arrives at a process whose config routes the host elsewhere.
    const changed = testConfigInput(simulator.url, {
      redis: api.service.config.redis,
      api: { tokens: [API_TOKEN] },
      cdns: [
        ...api.service.config.cdns,
        { id: 'vims-other', provider: 'vims', baseUrl: simulator.url, token: TEST_VIMS_TOKEN, cdnId: 7 },
      ],
      routes: [{ hosts: ['www.example.com'], cdns: ['vims-other'] }],
    });
    const other = startTestService(changed, { workers: false });
    try {
      const repeat = await other.runtime.producer.enqueuePurge(
        { urls: [...urls, 'https://www.example.com/lost-job.html#again'] },
        { idempotency: { scope: 'api:tokens[0]', key: 'k-lost' } },
      );
      expect(repeat).toMatchObject({ id, duplicate: true, cdns: ['vims-main'] });
      expect(await flushJob(queue, 'vims-main')).toBeDefined();
      expect(await pendingTargets(api.service.redis, api.service.config.redis.prefix, 'vims-main')).toContain(
        `u ${urls[0]}`,
      );
      expect(await pendingTargets(api.service.redis, api.service.config.redis.prefix, 'vims-other')).toEqual(
        [],
      );
      expect(await other.runtime.producer.queues.get('vims-other')?.count()).toBe(0);
    } finally {
      await other.close();
    }
  });
});
