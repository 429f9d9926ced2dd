import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { API_TOKEN, startTestApi, type TestApi } from '../harness/api.ts';
import { flushJob, pendingTargets } from '../harness/pending.ts';
import { TEST_VIMS_TOKEN } from '../harness/service.ts';

const auth = { authorization: `Bearer ${API_TOKEN}` };

describe('POST /v1/purges', () => {
  let simulator: Simulator;
  let api: TestApi;

  beforeAll(async () => {
    simulator = await startSimulator({ vims: { tokens: [TEST_VIMS_TOKEN] } });
    api = await startTestApi(simulator.url);
  });
  afterAll(async () => {
    await api.close();
    await simulator.close();
  });

  const post = (payload: unknown, headers: Record<string, string> = auth) =>
    api.app.inject({ method: 'POST', url: '/v1/purges', headers, payload: payload as string });

  it('answers 202 with the purge id and CDNs once its targets wait for a flush in Redis', async () => {
    const response = await post({ urls: ['https://www.example.com/a.html'] });
    expect(response.statusCode).toBe(202);
    const body = response.json<{ id: string; cdns: string[] }>();
    expect(body.cdns).toEqual(['vims-main']);
    const queue = api.service.runtime.producer.queues.get('vims-main');
    expect(await flushJob(queue, 'vims-main')).toBeDefined();
    expect(await pendingTargets(api.service.redis, api.service.config.redis.prefix, 'vims-main')).toContain(
      'u https://www.example.com/a.html',
    );
    const status = await api.app.inject({ method: 'GET', url: `/v1/purges/${body.id}`, headers: auth });
    expect(status.statusCode).toBe(200);
    expect(status.json()).toMatchObject({
      id: body.id,
      state: 'queued',
      targets: { 'vims-main': { total: 1, pending: 1 } },
      batches: [],
    });
  });

  it('returns the first purge for a repeated idempotency key and enqueues nothing new', async () => {
    const first = await post({ urls: ['https://www.example.com/idem'], idempotencyKey: 'cms-123' });
    const keysAfterFirst = await api.keys();
    const again = await post({ urls: ['https://www.example.com/idem'], idempotencyKey: 'cms-123' });
    expect(again.statusCode).toBe(202);
    expect(again.json()).toEqual({ id: first.json().id, cdns: ['vims-main'], duplicate: true });
    expect(await api.keys()).toEqual(keysAfterFirst);
  });

  it('takes the idempotency key from an Idempotency-Key header too', async () => {
    const headers = { ...auth, 'idempotency-key': 'header-key-1' };
    const first = await post({ urls: ['https://www.example.com/by-header'] }, headers);
    const again = await post({ urls: ['https://www.example.com/by-header'] }, headers);
    expect(again.json()).toEqual({ id: first.json().id, cdns: ['vims-main'], duplicate: true });
  });

  describe('refuses bad input precisely and writes nothing', () => {
    const cases: Array<[string, unknown, number, string, RegExp]> = [
      ['malformed JSON', '{"urls": [', 400, 'INVALID_JSON', /not valid JSON/],
      [
        'a wrong type',
        { urls: 'https://www.example.com/a' },
        400,
        'REQUEST_INVALID',
        /body\/urls must be array/,
      ],
      [
        'an unknown field',
        { urls: ['https://www.example.com/a'], force: true },
        400,
        'REQUEST_INVALID',
        /additional properties/,
      ],
      ['an empty purge', {}, 400, 'REQUEST_INVALID', /needs urls, dirs, pattern, tags or all/],
      [
        'a non-http URL',
        { urls: ['ftp://www.example.com/a'] },
        400,
        'REQUEST_INVALID',
        /urls\[0\]: must be an absolute http\(s\) URL/,
      ],
      [
        'a URL with a control character',
        { urls: ['https://www.example.com/a', 'https://www.example.com/b\u0001'] },
        400,
        'REQUEST_INVALID',
        /urls\[1\]: contains a control or whitespace character \(U\+0001\)/,
      ],
      [
        'a URL with user info',
        { dirs: ['https://user:pw@www.example.com/a/'] },
        400,
        'REQUEST_INVALID',
        /dirs\[0\]: must not contain user info/,
      ],
      [
        'a URL over api.maxUrlLength',
        { urls: [`https://www.example.com/${'x'.repeat(2048)}`] },
        400,
        'REQUEST_INVALID',
        /urls\[0\]: is longer than 2048 characters/,
      ],
      [
        'an invalid regex',
        { pattern: '([a-', cdns: ['vims-main'] },
        400,
        'REQUEST_INVALID',
        /not a valid regular expression/,
      ],
      [
        'an over-long regex',
        { pattern: 'a'.repeat(1025), cdns: ['vims-main'] },
        400,
        'REQUEST_INVALID',
        /longer than 1024/,
      ],
      [
        'an unknown CDN',
        { urls: ['https://www.example.com/a'], cdns: ['akamai'] },
        400,
        'REQUEST_INVALID',
        /unknown CDN id\(s\): akamai/,
      ],
      [
        'a host no route covers',
        { urls: ['https://elsewhere.org/a'] },
        400,
        'REQUEST_INVALID',
        /no route covers host\(s\) elsewhere\.org/,
      ],
      ['a pattern without CDNs', { pattern: 'jpg' }, 400, 'REQUEST_INVALID', /must name its CDNs/],
      [
        'a bad callback URL',
        { urls: ['https://www.example.com/a'], callbackUrl: 'mailto:x' },
        400,
        'REQUEST_INVALID',
        /callbackUrl/,
      ],
      [
        'more URLs than allowed',
        { urls: Array.from({ length: 51 }, (_, i) => `https://www.example.com/${i}`) },
        413,
        'PAYLOAD_TOO_LARGE',
        /51 urls \+ dirs \+ tags is over the limit of 50/,
      ],
      [
        'a body over the size limit',
        { urls: [`https://www.example.com/${'x'.repeat(70_000)}`] },
        413,
        'PAYLOAD_TOO_LARGE',
        /over the configured limit/,
      ],
    ];

    it.each(cases)('%s', async (_name, payload, status, code, message) => {
      const before = await api.keys();
      const response = await api.app.inject({
        method: 'POST',
        url: '/v1/purges',
        headers: { ...auth, 'content-type': 'application/json' },
        payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
      });
      expect(response.statusCode).toBe(status);
      expect(response.json()).toMatchObject({ error: code, message: expect.stringMatching(message) });
      expect(await api.keys()).toEqual(before);
    });

    it('a body that is not JSON', async () => {
      const response = await api.app.inject({
        method: 'POST',
        url: '/v1/purges',
        headers: { ...auth, 'content-type': 'text/plain' },
        payload: 'https://www.example.com/a',
      });
      expect(response.statusCode).toBe(415);
      expect(response.json().error).toBe('UNSUPPORTED_MEDIA_TYPE');
    });
  });

  it.each([
    ['no token', {}],
    ['a wrong token', { authorization: 'Bearer not-the-token-at-all' }],
    ['a token without Bearer', { authorization: API_TOKEN }],
  ])('answers 401 to %s, with WWW-Authenticate', async (_name, headers) => {
    const before = await api.keys();
    const response = await post({ urls: ['https://www.example.com/a'] }, headers as Record<string, string>);
    expect(response.statusCode).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Bearer realm="purge-worker"');
    expect(response.json().error).toBe('UNAUTHORIZED');
    expect(await api.keys()).toEqual(before);
  });

  it('answers 404 for an unknown purge id', async () => {
    const response = await api.app.inject({ method: 'GET', url: '/v1/purges/no-such-purge', headers: auth });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ error: 'NOT_FOUND' });
  });

  it('serves liveness and readiness without a token', async () => {
    expect((await api.app.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
    const ready = await api.app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready', cdns: ['vims-main'] });
  });
});
