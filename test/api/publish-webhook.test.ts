import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIGNATURE_HEADER, sign, TIMESTAMP_HEADER } from '../../src/callbacks/signature.ts';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { startTestApi, type TestApi, WEBHOOK_SECRET } from '../harness/api.ts';
import { flushJob, pendingTargets } from '../harness/pending.ts';
import { TEST_VIMS_TOKEN } from '../harness/service.ts';

/** Over a real socket: the signature covers the raw bytes as they arrive, not a re-serialised object. */
describe('POST /v1/events/publish (CMS webhook)', () => {
  let simulator: Simulator;
  let api: TestApi;
  let base: string;

  beforeAll(async () => {
    simulator = await startSimulator({ vims: { tokens: [TEST_VIMS_TOKEN] } });
    api = await startTestApi(simulator.url);
    await api.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await api.close();
    await simulator.close();
  });

  async function deliver(rawBody: string, headers: Record<string, string>) {
    const response = await request(`${base}/v1/events/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: rawBody,
    });
    return { status: response.statusCode, body: (await response.body.json()) as Record<string, unknown> };
  }

  function signed(rawBody: string, timestamp = Math.floor(Date.now() / 1000), secret = WEBHOOK_SECRET) {
    return { [TIMESTAMP_HEADER]: String(timestamp), [SIGNATURE_HEADER]: sign(secret, timestamp, rawBody) };
  }

  it('accepts a signed publish event; a redelivery returns the first purge id and enqueues nothing', async () => {
    // Deliberately odd spacing: a verifier that re-serialised the JSON would compute another signature.
    const raw = '{ "eventId": "article-42-published",  "urls": ["https://www.example.com/news/42.html"] }';
    const first = await deliver(raw, signed(raw));
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({ cdns: ['vims-main'], eventId: 'article-42-published' });
    // The first delivery wrote the purge, put its URL in the CDN's pending set, and has a flush coming for it.
    const { runtime, redis, config } = api.service;
    expect(await runtime.store.get(String(first.body.id))).toMatchObject({
      state: 'queued',
      targets: { 'vims-main': { total: 1, pending: 1 } },
    });
    expect(await pendingTargets(redis, config.redis.prefix, 'vims-main')).toContain(
      'u https://www.example.com/news/42.html',
    );
    expect(await flushJob(runtime.producer.queues.get('vims-main'), 'vims-main')).toBeDefined();
    const keysAfterFirst = await api.keys();

    const redelivered = await deliver(raw, signed(raw));
    expect(redelivered.status).toBe(202);
    expect(redelivered.body).toMatchObject({ id: first.body.id, duplicate: true });
    expect(await api.keys()).toEqual(keysAfterFirst);
  });

  it('answers a re-sent event whose body changed with 409 IDEMPOTENCY_KEY_REUSED, writing nothing', async () => {
    const raw = '{"eventId":"article-43-published","urls":["https://www.example.com/news/43.html"]}';
    expect((await deliver(raw, signed(raw))).status).toBe(202);
    const keysAfterFirst = await api.keys();

    const changed = '{"eventId":"article-43-published","urls":["https://www.example.com/news/43-v2.html"]}';
    const resent = await deliver(changed, signed(changed));
    expect(resent.status).toBe(409);
    expect(resent.body).toMatchObject({ error: 'IDEMPOTENCY_KEY_REUSED' });
    expect(await api.keys()).toEqual(keysAfterFirst);
  });

  it.each([
    [
      'no signature',
      (_raw: string) => ({ [TIMESTAMP_HEADER]: String(Math.floor(Date.now() / 1000)) }),
      /missing x-purge-signature/,
    ],
    [
      'a signature by another secret',
      (raw: string) => signed(raw, undefined, 'another-secret-0123456789'),
      /does not match/,
    ],
    [
      'a stale timestamp (replay)',
      (raw: string) => signed(raw, Math.floor(Date.now() / 1000) - 3600),
      /more than 300s away/,
    ],
    ['a body altered after signing', (raw: string) => signed(raw.replace('43', '44')), /does not match/],
    [
      'no timestamp',
      (raw: string) => ({ [SIGNATURE_HEADER]: sign(WEBHOOK_SECRET, 0, raw) }),
      /missing or malformed x-purge-timestamp/,
    ],
  ])('refuses %s with 401 and writes nothing', async (_name, headersFor, reason) => {
    const raw = JSON.stringify({ eventId: 'evt-43', urls: ['https://www.example.com/43'] });
    const before = await api.keys();
    const response = await deliver(raw, headersFor(raw));
    expect(response.status).toBe(401);
    expect(response.body).toMatchObject({
      error: 'SIGNATURE_INVALID',
      message: expect.stringMatching(reason),
    });
    expect(await api.keys()).toEqual(before);
  });

  it('checks the body only after the signature: a signed but invalid event is a 400', async () => {
    const raw = JSON.stringify({ eventId: 'evt-44', urls: ['not a url'] });
    const before = await api.keys();
    const response = await deliver(raw, signed(raw));
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({
      error: 'REQUEST_INVALID',
      message: expect.stringMatching(/urls\[0\]/),
    });
    expect(await api.keys()).toEqual(before);
  });

  it('answers malformed JSON with 400 INVALID_JSON', async () => {
    const raw = '{"eventId": "evt-45", "urls": [';
    const response = await deliver(raw, signed(raw));
    expect(response.status).toBe(400);
    expect(response.body.error).toBe('INVALID_JSON');
  });

  it('refuses an unsigned body with 401 before looking at it, even when it is not JSON', async () => {
    const response = await deliver('{"eventId": "evt-46", "urls": [', {});
    expect(response.status).toBe(401);
    expect(response.body.error).toBe('SIGNATURE_INVALID');
  });
});
