import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.ts';
import { sign } from '../../src/callbacks/signature.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { WEBHOOK_SECRET } from '../harness/api.ts';
import { startTestService, TEST_VIMS_TOKEN, type TestService, testConfigInput } from '../harness/service.ts';

const CMS_TOKEN = 'cms-token-0123456789abcdef';
const SEARCH_TOKEN = 'search-token-0123456789abcdef';
const BARE_TOKEN = 'bare-token-0123456789abcdef';
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Idempotency keys belong to whoever sent them: an API token's name, or the webhook. */
describe('idempotency keys, scoped by client', () => {
  let simulator: Simulator;
  let service: TestService;
  let app: FastifyInstance;
  const lines: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    simulator = await startSimulator({ vims: { tokens: [TEST_VIMS_TOKEN] } });
    service = startTestService(
      testConfigInput(simulator.url, {
        api: {
          host: '127.0.0.1',
          port: 0,
          tokens: [{ name: 'cms', token: CMS_TOKEN }, { name: 'search', token: SEARCH_TOKEN }, BARE_TOKEN],
          webhook: { secret: WEBHOOK_SECRET },
        },
      }),
      { workers: false },
    );
    const sink = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    app = await buildApp({
      runtime: service.runtime,
      log: createLogger({ level: 'info', destination: sink }),
    });
  });
  afterAll(async () => {
    await app.close();
    await service.close();
    await simulator.close();
  });

  const purge = (token: string, payload: object) =>
    app.inject({ method: 'POST', url: '/v1/purges', headers: bearer(token), payload });

  function publish(eventId: string, urls: string[]) {
    const body = JSON.stringify({ eventId, urls });
    const timestamp = Math.floor(Date.now() / 1000);
    return app.inject({
      method: 'POST',
      url: '/v1/events/publish',
      headers: {
        'content-type': 'application/json',
        'x-purge-timestamp': String(timestamp),
        'x-purge-signature': sign(WEBHOOK_SECRET, timestamp, body),
      },
      payload: body,
    });
  }

  it('does not let an API client claim a CMS event id before the CMS publishes it', async () => {
    const urls = ['https://www.example.com/article-42.html'];
    const squatter = await purge(CMS_TOKEN, {
      urls: ['https://www.example.com/other.html'],
      idempotencyKey: 'event:article-42-published',
    });
    const squatted = await purge(SEARCH_TOKEN, { urls, idempotencyKey: 'article-42-published' });
    const real = await publish('article-42-published', urls);
    expect(real.statusCode).toBe(202);
    expect(real.json().duplicate).toBeUndefined();
    expect(real.json().id).not.toBe(squatter.json().id);
    expect(real.json().id).not.toBe(squatted.json().id);
  });

  it("keeps two clients' identical keys apart: both purges are enqueued", async () => {
    const cms = await purge(CMS_TOKEN, { urls: ['https://www.example.com/a.html'], idempotencyKey: 'rev-1' });
    const search = await purge(SEARCH_TOKEN, {
      urls: ['https://www.example.com/a.html'],
      idempotencyKey: 'rev-1',
    });
    expect([cms.statusCode, search.statusCode]).toEqual([202, 202]);
    expect(search.json().duplicate).toBeUndefined();
    expect(search.json().id).not.toBe(cms.json().id);
    const again = await purge(SEARCH_TOKEN, {
      urls: ['https://www.example.com/a.html'],
      idempotencyKey: 'rev-1',
    });
    expect(again.json()).toMatchObject({ id: search.json().id, duplicate: true });
  });

  it('logs the token name as client on every line about the request, and names a bare token by position', async () => {
    const named = await purge(CMS_TOKEN, { urls: ['https://www.example.com/logged.html'] });
    const bare = await purge(BARE_TOKEN, { urls: ['https://www.example.com/bare.html'] });
    const about = (reqId: string) => lines.filter((line) => line.reqId === reqId);
    const accepted = (id: string) => lines.find((line) => line.purgeId === id);
    const namedLine = accepted(named.json().id);
    const bareLine = accepted(bare.json().id);
    expect(namedLine).toMatchObject({ client: 'cms', msg: 'purge accepted' });
    expect(bareLine).toMatchObject({ client: 'tokens[2]' });
    const namedLines = about(String(namedLine?.reqId));
    const completed = namedLines.filter((line) => line.msg === 'request completed');
    expect(completed).toHaveLength(1);
    expect(completed[0]).toMatchObject({
      client: 'cms',
      method: 'POST',
      url: '/v1/purges',
      statusCode: 202,
      responseTime: expect.any(Number),
    });
    expect(namedLines.filter((line) => line.client !== 'cms')).toEqual([]);
    expect(about(String(bareLine?.reqId)).filter((line) => line.client !== 'tokens[2]')).toEqual([]);
    expect(JSON.stringify(lines)).not.toContain(CMS_TOKEN);
  });

  it('logs a request refused before authentication with no client', async () => {
    const refused = await app.inject({
      method: 'GET',
      url: '/v1/purges/nope',
      headers: bearer('wrong-token'),
    });
    expect(refused.statusCode).toBe(401);
    const completed = lines.filter((line) => line.msg === 'request completed' && line.statusCode === 401);
    expect(completed.at(-1)).toMatchObject({ method: 'GET', url: '/v1/purges/nope' });
    expect(completed.at(-1)).not.toHaveProperty('client');
  });

  it('logs webhook requests with client webhook on every line', async () => {
    const response = await publish('logged-event', ['https://www.example.com/webhook.html']);
    const line = lines.find((entry) => entry.purgeId === response.json().id);
    expect(line).toMatchObject({ client: 'webhook', eventId: 'logged-event' });
    const about = lines.filter((entry) => entry.reqId === line?.reqId);
    expect(about.map((entry) => entry.msg)).toContain('request completed');
    expect(about.filter((entry) => entry.client !== 'webhook')).toEqual([]);
  });

  it('names no client on a webhook request whose signature does not verify', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/events/publish',
      headers: {
        'content-type': 'application/json',
        'x-purge-timestamp': '1',
        'x-purge-signature': 'forged',
      },
      payload: JSON.stringify({ eventId: 'forged-event', urls: ['https://www.example.com/forged.html'] }),
    });
    expect(response.statusCode).toBe(401);
    const completed = lines.filter(
      (line) =>
        line.msg === 'request completed' && line.url === '/v1/events/publish' && line.statusCode === 401,
    );
    expect(completed).toHaveLength(1);
    const about = lines.filter((line) => line.reqId === completed[0]?.reqId);
    expect(about.filter((line) => 'client' in line)).toEqual([]);
  });

  it('names no client on a webhook request with no body to sign', async () => {
    const response = await app.inject({ method: 'POST', url: '/v1/events/publish' });
    expect(response.statusCode).toBe(400);
    const completed = lines.filter(
      (line) =>
        line.msg === 'request completed' && line.url === '/v1/events/publish' && line.statusCode === 400,
    );
    expect(completed).toHaveLength(1);
    expect(lines.filter((line) => line.reqId === completed[0]?.reqId && 'client' in line)).toEqual([]);
  });
});
