import { createHmac } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { buildApp } from '../../src/api/app.ts';
import { SIGNATURE_HEADER, sign, TIMESTAMP_HEADER } from '../../src/callbacks/signature.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { HostLookup } from '../../src/net/address-guard.ts';
import { createLogger } from '../../src/observability/logger.ts';
import type { Provider } from '../../src/providers/provider.ts';
import { createRuntime, type Runtime } from '../../src/runtime.ts';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { API_TOKEN, startTestApi, type TestApi, WEBHOOK_SECRET } from '../harness/api.ts';
import { QUANTIL_RIG, VIMS_RIG } from '../harness/cdn-rigs.ts';
import { answerChecker, documentOf, type OpenApiDocument, operations } from '../harness/openapi.ts';
import { uniquePrefix } from '../harness/prefix.ts';
import { testConfigInput } from '../harness/service.ts';
import { closedPort } from '../harness/unreachable-redis.ts';

const HUB_SECRET = 'hub-webhook-secret-0123456789';
const HUB = {
  name: 'hub',
  preset: 'generic',
  secret: HUB_SECRET,
  signature: { header: 'X-Hub-Signature-256', prefix: 'sha256=' },
  eventId: { header: 'x-delivery' },
  event: { field: 'event' },
  contentType: { field: 'page.kind' },
  events: ['published'],
  // A dir, so the source's purges spend QUANTIL's daily dirs quota like the purge API's.
  templates: { article: { dirs: ['https://www.example.com/{+page.path}/'] } },
};
const bearer = { authorization: `Bearer ${API_TOKEN}` };
const json = { 'content-type': 'application/json' };
const dirs = (count: number, name: string) =>
  Array.from({ length: count }, (_, i) => `https://www.example.com/${name}-${i}/`);

/** A body over the apps' api.bodyLimitBytes (64 KiB). */
const OVERSIZE = JSON.stringify({ urls: ['https://www.example.com/x'], pad: 'x'.repeat(70_000) });

function signedPublish(raw: string, contentType = 'application/json') {
  const timestamp = Math.floor(Date.now() / 1000);
  return {
    method: 'POST' as const,
    url: '/v1/events/publish',
    headers: {
      'content-type': contentType,
      [TIMESTAMP_HEADER]: String(timestamp),
      [SIGNATURE_HEADER]: sign(WEBHOOK_SECRET, timestamp, raw),
    },
    payload: raw,
  };
}

function hubDelivery(raw: string, headers: Record<string, string> = {}) {
  const signature = `sha256=${createHmac('sha256', HUB_SECRET).update(raw).digest('hex')}`;
  return {
    method: 'POST' as const,
    url: '/v1/sources/hub',
    headers: { ...json, 'x-hub-signature-256': signature, ...headers },
    payload: raw,
  };
}
const hubEvent = (path: string | undefined, event = 'published') =>
  JSON.stringify({ event, page: { kind: 'article', ...(path === undefined ? {} : { path }) } });

/** Host names whose lookups never answer (data, not DNS): two of them fill callbacks.maxIngestLookups. */
const asked: string[] = [];
const neverAnswers: HostLookup = (hostname) => {
  asked.push(hostname);
  return new Promise(() => {});
};

function apiConfig(cdns: Array<Record<string, unknown>>, simulatorUrl: string) {
  return {
    cdns,
    routes: testConfigInput(simulatorUrl, {}, cdns).routes,
    api: {
      host: '127.0.0.1',
      port: 0,
      tokens: [API_TOKEN],
      webhook: { secret: WEBHOOK_SECRET },
      bodyLimitBytes: 64 * 1024,
      // Above QUANTIL's 500 dirs a day, so one request can go over the quota.
      maxItemsPerRequest: 600,
      sources: [HUB],
    },
    callbacks: { timeoutMs: 200 },
  };
}

/**
 * Every route exercised for real (inject against the app, a real Redis, workers and the CDN simulator), and
 * each answer checked against the document: its status is documented for the route and its body validates
 * against that status's schema, closed (no field the document does not name), errors included. The last
 * test asserts every documented status of every route was seen, but 500.
 */
describe('the OpenAPI document against real answers', () => {
  let simulator: Simulator;
  let api: TestApi;
  let document: OpenApiDocument;
  let checker: ReturnType<typeof answerChecker>;
  const send = (request: Parameters<ReturnType<typeof answerChecker>['send']>[1]) =>
    checker.send(api.app, request);
  const purge = (payload: Record<string, unknown>, headers: Record<string, string> = bearer) =>
    send({ method: 'POST', url: '/v1/purges', headers, payload });
  const code = (response: { json(): { error?: string } }) => response.json().error;

  beforeAll(async () => {
    simulator = await startSimulator({
      ...VIMS_RIG.simulatorOptions({ taskDurationMs: 40, failMarker: 'broken' }),
      ...QUANTIL_RIG.simulatorOptions({ taskDurationMs: 40, failMarker: 'broken' }),
    });
    const cdns = [
      // One bulk target fills the backlog, and waits a minute for its call.
      { ...VIMS_RIG.cdnEntry(simulator.url), maxBulkBacklog: 1, coalesce: { bulkWindowMs: 60_000 } },
      QUANTIL_RIG.cdnEntry(simulator.url),
    ];
    api = await startTestApi(simulator.url, apiConfig(cdns, simulator.url), {
      workers: true,
      lookup: neverAnswers,
    });
    document = await documentOf(api.app);
    checker = answerChecker(document);
  });
  afterAll(async () => {
    await api?.close();
    await simulator?.close();
  });

  it('sheds a bulk purge while the backlog is full: 429 BACKLOG_FULL with Retry-After', async () => {
    // First, before any other purge could flush VIMS's pending set.
    expect((await purge({ urls: ['https://www.example.com/bulk/1'], priority: 'bulk' })).statusCode).toBe(
      202,
    );
    const shed = await purge({ urls: ['https://www.example.com/bulk/2'], priority: 'bulk' });
    expect([shed.statusCode, code(shed), shed.headers['retry-after']]).toEqual([429, 'BACKLOG_FULL', '30']);
    const raw = JSON.stringify({
      eventId: 'bulk-1',
      urls: ['https://www.example.com/bulk/3'],
      priority: 'bulk',
    });
    expect(code(await send(signedPublish(raw)))).toBe('BACKLOG_FULL');
  });

  it('POST /v1/purges: 200, 202, and each refusal', async () => {
    const dryRun = await purge({ urls: ['https://www.example.com/a'], dryRun: true });
    expect(dryRun.json()).toMatchObject({ dryRun: true, outcome: 'accepted' });
    expect((await purge({ urls: ['https://www.example.com/a'], idempotencyKey: 'k-1' })).statusCode).toBe(
      202,
    );
    expect(
      (await purge({ urls: ['https://www.example.com/a'], idempotencyKey: 'k-1' })).json(),
    ).toMatchObject({
      duplicate: true,
    });
    expect(code(await purge({ urls: ['https://www.example.com/b'], idempotencyKey: 'k-1' }))).toBe(
      'IDEMPOTENCY_KEY_REUSED',
    );
    expect(code(await purge({ urls: 'https://www.example.com/a' }))).toBe('REQUEST_INVALID');
    expect(code(await purge({ pattern: '\\.jpg$', cdns: ['quantil-main'] }))).toBe('KIND_UNSUPPORTED');
    expect(
      code(await purge({ urls: ['https://www.example.com/a'], callbackUrl: 'http://127.0.0.1/hook' })),
    ).toBe('CALLBACK_URL_FORBIDDEN');
    expect(code(await purge({ urls: ['https://www.example.com/a'] }, {}))).toBe('UNAUTHORIZED');
    expect(code(await purge({ dirs: dirs(601, 'many') }))).toBe('PAYLOAD_TOO_LARGE');
    const raw = { method: 'POST' as const, url: '/v1/purges' };
    expect(code(await send({ ...raw, headers: { ...bearer, ...json }, payload: '{"urls": [' }))).toBe(
      'INVALID_JSON',
    );
    expect(code(await send({ ...raw, headers: { ...bearer, ...json }, payload: OVERSIZE }))).toBe(
      'PAYLOAD_TOO_LARGE',
    );
    const text = { ...bearer, 'content-type': 'text/plain' };
    expect(code(await send({ ...raw, headers: text, payload: 'https://www.example.com/a' }))).toBe(
      'UNSUPPORTED_MEDIA_TYPE',
    );
  });

  it('POST /v1/purges: 503 CALLBACK_CHECK_BUSY while the callback host lookups allowed hang', async () => {
    const hook = (host: string) => ({
      urls: ['https://www.example.com/a'],
      callbackUrl: `https://${host}/hook`,
    });
    const hanging = [purge(hook('a.example.net')), purge(hook('b.example.net'))];
    await vi.waitFor(() => expect(asked).toEqual(['a.example.net', 'b.example.net']));
    expect(code(await purge(hook('c.example.net')))).toBe('CALLBACK_CHECK_BUSY');
    // The hanging lookups end at callbacks.timeoutMs: the host does not resolve.
    for (const response of await Promise.all(hanging)) expect(code(response)).toBe('REQUEST_INVALID');
  });

  it('GET /v1/purges/:id and GET /v1/purges: 200 and each refusal', async () => {
    const read = await purge({ urls: ['https://www.example.com/broken/read.html'], cdns: ['vims-main'] });
    const { id } = read.json<{ id: string }>();
    await api.service.waitForFinish(id);
    const status = await send({ url: `/v1/purges/${id}`, headers: bearer });
    expect(status.json()).toMatchObject({ id, state: 'failed', batches: [{ errorCode: 'CDN_TASK_FAILED' }] });
    expect(code(await send({ url: '/v1/purges/no-such-purge', headers: bearer }))).toBe('NOT_FOUND');
    expect(code(await send({ url: '/v1/purges/not!an!id', headers: bearer }))).toBe('REQUEST_INVALID');
    expect(code(await send({ url: `/v1/purges/${id}` }))).toBe('UNAUTHORIZED');

    const page = await send({ url: '/v1/purges?state=failed,succeeded&url=broken&limit=5', headers: bearer });
    expect(page.json().purges[0]).toMatchObject({
      id,
      errorCodes: ['CDN_TASK_FAILED'],
      matches: [expect.any(String)],
    });
    const refused = await send({ url: '/v1/purges?since=yesterday', headers: bearer });
    expect(refused.json()).toMatchObject({ error: 'REQUEST_INVALID', parameter: 'since' });
    expect(code(await send({ url: '/v1/purges' }))).toBe('UNAUTHORIZED');
  });

  it('POST /v1/events/publish: 202 and each refusal', async () => {
    const event = (eventId: string, extra: Record<string, unknown> = {}) =>
      JSON.stringify({ eventId, urls: ['https://www.example.com/news/1.html'], ...extra });
    expect((await send(signedPublish(event('e-1')))).statusCode).toBe(202);
    expect((await send(signedPublish(event('e-1')))).json()).toMatchObject({ duplicate: true });
    expect(code(await send(signedPublish(event('e-1', { urls: ['https://www.example.com/other'] }))))).toBe(
      'IDEMPOTENCY_KEY_REUSED',
    );
    expect(code(await send(signedPublish(event('e-2', { urls: [] }))))).toBe('REQUEST_INVALID');
    expect(code(await send(signedPublish(event('e-3', { callbackUrl: 'http://127.0.0.1/hook' }))))).toBe(
      'CALLBACK_URL_FORBIDDEN',
    );
    expect(code(await send(signedPublish('{"eventId": ')))).toBe('INVALID_JSON');
    expect(code(await send(signedPublish(event('e-4', { urls: dirs(601, 'p') }))))).toBe('PAYLOAD_TOO_LARGE');
    expect(code(await send(signedPublish(OVERSIZE)))).toBe('PAYLOAD_TOO_LARGE');
    expect(code(await send(signedPublish(event('e-5'), 'text/plain')))).toBe('UNSUPPORTED_MEDIA_TYPE');
    const forged = signedPublish(event('e-6'));
    forged.headers[SIGNATURE_HEADER] = `sha256=${'0'.repeat(64)}`;
    expect(code(await send(forged))).toBe('SIGNATURE_INVALID');
  });

  it('POST /v1/sources/hub: 202 accepted and ignored, and each refusal', async () => {
    const accepted = await send(hubDelivery(hubEvent('news/one'), { 'x-delivery': 'd-1' }));
    expect(accepted.json()).toMatchObject({ eventId: 'd-1', dirs: ['https://www.example.com/news/one/'] });
    expect((await send(hubDelivery(hubEvent('news/draft', 'draft')))).json()).toMatchObject({
      ignored: true,
    });
    expect(code(await send(hubDelivery(hubEvent('news/two'), { 'x-delivery': 'd-1' })))).toBe(
      'IDEMPOTENCY_KEY_REUSED',
    );
    expect(code(await send(hubDelivery(hubEvent(undefined))))).toBe('TEMPLATE_FIELD_MISSING');
    expect(code(await send(hubDelivery(hubEvent('news/x'), { 'x-delivery': 'd'.repeat(300) })))).toBe(
      'REQUEST_INVALID',
    );
    expect(code(await send(hubDelivery('{"event": ')))).toBe('INVALID_JSON');
    expect(code(await send(hubDelivery(OVERSIZE)))).toBe('PAYLOAD_TOO_LARGE');
    expect(code(await send(hubDelivery(hubEvent('news/t'), { 'content-type': 'text/plain' })))).toBe(
      'UNSUPPORTED_MEDIA_TYPE',
    );
    expect(
      code(
        await send(hubDelivery(hubEvent('news/f'), { 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` })),
      ),
    ).toBe('SIGNATURE_INVALID');
  });

  it("POST /v1/purges/:id/replay: 202, each refusal, and 429 once QUANTIL's dirs quota is spent", async () => {
    const failing = async (payload: Record<string, unknown>) => {
      const { id } = (await purge(payload)).json<{ id: string }>();
      expect((await api.service.waitForFinish(id)).state).toBe('failed');
      return id;
    };
    const vimsFailed = await failing({
      urls: ['https://www.example.com/broken/replayed.html'],
      cdns: ['vims-main'],
    });
    const quantilFailed = await failing({
      dirs: ['https://www.example.com/broken/'],
      cdns: ['quantil-main'],
    });
    const replay = (id: string, extra: Record<string, unknown> = {}) =>
      send({ method: 'POST', url: `/v1/purges/${id}/replay`, headers: bearer, ...extra });
    expect((await replay(vimsFailed)).json()).toMatchObject({ replayOf: vimsFailed });
    expect((await replay(vimsFailed)).json()).toMatchObject({ replayOf: vimsFailed, duplicate: true });
    // QUANTIL fails a path, not a call: sharing a call with the replay of a broken URL cannot fail it.
    const fine = await purge({ urls: ['https://www.example.com/fine.html'], cdns: ['quantil-main'] });
    const succeeded = fine.json<{ id: string }>().id;
    expect((await api.service.waitForFinish(succeeded)).state).toBe('succeeded');
    expect(code(await replay(succeeded))).toBe('NOTHING_TO_REPLAY');
    expect(code(await replay('no-such-purge'))).toBe('NOT_FOUND');
    expect(code(await replay(vimsFailed, { payload: { everything: true } }))).toBe('REQUEST_INVALID');
    expect(code(await replay(vimsFailed, { headers: { ...bearer, ...json }, payload: '{"all": ' }))).toBe(
      'INVALID_JSON',
    );
    expect(code(await replay(vimsFailed, { headers: { ...bearer, ...json }, payload: OVERSIZE }))).toBe(
      'PAYLOAD_TOO_LARGE',
    );
    expect(
      code(
        await replay(vimsFailed, { headers: { ...bearer, 'content-type': 'text/plain' }, payload: 'all' }),
      ),
    ).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(code(await replay(vimsFailed, { headers: {} }))).toBe('UNAUTHORIZED');

    // Spend the rest of today's dirs: one more is refused, for a new purge, a replay and a source's event.
    const provider = api.service.runtime.providers.get('quantil-main') as Provider;
    const left = 500 - (await api.service.runtime.quota.used(provider, 'dirs', Date.now()));
    expect(code(await purge({ dirs: dirs(left + 1, 'over'), cdns: ['quantil-main'] }))).toBe(
      'QUOTA_EXCEEDED',
    );
    expect((await purge({ dirs: dirs(left, 'spent'), cdns: ['quantil-main'] })).statusCode).toBe(202);
    expect(code(await replay(quantilFailed))).toBe('QUOTA_EXCEEDED');
    expect(code(await send(hubDelivery(hubEvent('news/late'))))).toBe('QUOTA_EXCEEDED');
  });

  it('health and metrics: 200', async () => {
    expect((await send({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
    expect((await send({ url: '/readyz' })).json()).toMatchObject({ status: 'ready' });
    expect((await send({ url: '/metrics' })).body).toContain('purge_worker_purges_accepted_total');
  });

  describe('with Redis down, and with too few replicas', () => {
    let downRuntime: Runtime;
    let down: FastifyInstance;
    let unreplicated: TestApi;

    beforeAll(async () => {
      const cdns = [VIMS_RIG.cdnEntry('http://127.0.0.1:9')];
      const config = apiConfig(cdns, 'http://127.0.0.1:9');
      // A loopback port nothing listens on: every Redis command fails to connect.
      const input = testConfigInput('http://127.0.0.1:9', {
        ...config,
        redis: { url: `redis://127.0.0.1:${await closedPort()}`, prefix: uniquePrefix() },
      });
      const log = createLogger({ level: 'silent' });
      downRuntime = createRuntime(parseConfig(input, {}), { log });
      down = await buildApp({ runtime: downRuntime, log });
      // The tests' Redis is a standalone server: no replica ever acknowledges.
      unreplicated = await startTestApi('http://127.0.0.1:9', {
        ...config,
        redis: {
          url: inject('redisUrl'),
          prefix: uniquePrefix(),
          waitReplicas: { replicas: 1, timeoutMs: 50 },
        },
      });
      // The same routes, so the same document.
      expect(await documentOf(unreplicated.app)).toEqual(await documentOf(api.app));
    });
    afterAll(async () => {
      await down?.close();
      await downRuntime?.close();
      await unreplicated?.close();
    });

    it('answers 503 REDIS_UNAVAILABLE on every route that reads or writes Redis, and readyz 503', async () => {
      const at = (request: Parameters<typeof send>[0]) => checker.send(down, request);
      const requests = [
        {
          method: 'POST' as const,
          url: '/v1/purges',
          headers: bearer,
          payload: { urls: ['https://www.example.com/a'] },
        },
        { url: '/v1/purges/some-purge', headers: bearer },
        { url: '/v1/purges', headers: bearer },
        { method: 'POST' as const, url: '/v1/purges/some-purge/replay', headers: bearer },
        signedPublish(JSON.stringify({ eventId: 'down-1', urls: ['https://www.example.com/a'] })),
        hubDelivery(hubEvent('news/down')),
      ];
      for (const request of requests) expect(code(await at(request))).toBe('REDIS_UNAVAILABLE');
      expect((await at({ url: '/readyz' })).json()).toMatchObject({ status: 'unavailable' });
    });

    it('answers 503 NOT_REPLICATED naming the purge it accepted on the primary', async () => {
      const response = await checker.send(unreplicated.app, {
        method: 'POST',
        url: '/v1/purges',
        headers: bearer,
        payload: { urls: ['https://www.example.com/a'] },
      });
      expect(response.json()).toMatchObject({
        error: 'NOT_REPLICATED',
        id: expect.any(String),
        cdns: ['vims-main'],
        replicas: { acknowledged: 0, required: 1 },
      });
      expect(response.headers['retry-after']).toBe('1');
    });
  });

  it('saw every status the document gives each route (but 500: INTERNAL is a bug)', () => {
    const documented = operations(document).flatMap(({ operation }) =>
      Object.keys(operation.responses)
        .filter((status) => status !== '500')
        .map((status) => `${operation.operationId} ${status}`),
    );
    expect([...checker.checked()].sort()).toEqual(documented.sort());
  });
});
