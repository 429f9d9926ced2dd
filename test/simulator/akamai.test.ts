import { createHash, createHmac } from 'node:crypto';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type AkamaiSimulator,
  DEFAULT_AKAMAI_CLIENT,
  startAkamaiSimulator,
} from '../../src/simulator/akamai.ts';

/**
 * The simulator checked on its own, with requests signed here step by step (not by the provider's signer):
 * what it accepts, what it refuses and how, its limits and its headers.
 */
const CLIENT = DEFAULT_AKAMAI_CLIENT;

function timestampOf(date: Date): string {
  return date
    .toISOString()
    .replace(/[-]/g, '')
    .replace(/\.\d{3}Z$/, '+0000');
}

interface Signing {
  secret?: string;
  clientToken?: string;
  timestamp?: string;
  nonce?: string;
  /** Bytes hashed, when they should differ from those sent. */
  hashed?: string;
  host?: string;
}

function authorization(method: string, host: string, target: string, body: string, s: Signing = {}): string {
  const timestamp = s.timestamp ?? timestampOf(new Date());
  const auth = `EG1-HMAC-SHA256 client_token=${s.clientToken ?? CLIENT.clientToken};access_token=${CLIENT.accessToken};timestamp=${timestamp};nonce=${s.nonce ?? crypto.randomUUID()};`;
  const hashedBody = s.hashed ?? body;
  const hash =
    method === 'POST' && hashedBody !== '' ? createHash('sha256').update(hashedBody).digest('base64') : '';
  const data = [method, 'http', s.host ?? host, target, '', hash, auth].join('\t');
  const key = createHmac('sha256', s.secret ?? CLIENT.clientSecret)
    .update(timestamp)
    .digest('base64');
  return `${auth}signature=${createHmac('sha256', key).update(data).digest('base64')}`;
}

let sim: AkamaiSimulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function post(
  target: string,
  body: unknown,
  signing: Signing & { contentType?: string; raw?: string } = {},
) {
  if (!sim) throw new Error('no simulator');
  const host = new URL(sim.url).host;
  const text = signing.raw ?? (body === undefined ? '' : JSON.stringify(body));
  const response = await request(`${sim.url}${target}`, {
    method: 'POST',
    headers: {
      authorization: authorization('POST', host, target, text, signing),
      'content-type': signing.contentType ?? 'application/json',
    },
    body: text,
  });
  const answer = await response.body.text();
  return {
    status: response.statusCode,
    headers: response.headers,
    body: answer ? JSON.parse(answer) : undefined,
  };
}

describe('Akamai Fast Purge v3 simulator', () => {
  it('accepts a signed purge with 201, fresh ids, estimatedSeconds and the rate headers', async () => {
    sim = await startAkamaiSimulator({ estimatedSeconds: 7 });
    const answer = await post('/ccu/v3/invalidate/url/production', {
      objects: ['https://www.example.com/a'],
    });
    expect(answer.status).toBe(201);
    expect(answer.body).toEqual({
      httpStatus: 201,
      estimatedSeconds: 7,
      purgeId: expect.stringMatching(/^edcp-[A-Za-z0-9]{22}$/),
      supportId: answer.body.purgeId,
      detail: 'Request accepted',
    });
    expect(answer.headers).toMatchObject({
      'x-ratelimit-limit': '100',
      'x-ratelimit-limit-per-second': '50',
      'x-ratelimit-remaining': '99',
      'x-ratelimit-limit-objects': '10000',
      'x-ratelimit-limit-per-second-objects': '200',
      'x-ratelimit-remaining-objects': '9999',
    });
    expect(sim.purges).toMatchObject([{ action: 'invalidate', type: 'url', network: 'production' }]);
  });

  it('routes every action, type and network, production when the network is left out; no status route', async () => {
    sim = await startAkamaiSimulator();
    expect((await post('/ccu/v3/delete/tag/staging', { objects: ['t'] })).status).toBe(201);
    expect((await post('/ccu/v3/invalidate/cpcode', { objects: [12345] })).status).toBe(201);
    expect(sim.purges.map((p) => `${p.action}/${p.type}/${p.network}`)).toEqual([
      'delete/tag/staging',
      'invalidate/cpcode/production',
    ]);
    expect((await post('/ccu/v3/invalidate/url/elsewhere', { objects: ['https://a.example/'] })).status).toBe(
      404,
    );
    expect((await post(`/ccu/v3/purges/${sim.purges[0]?.purgeId}`, undefined)).status).toBe(404);
  });

  it('refuses a wrong secret, an unknown client, a stale timestamp and a replayed nonce with 401', async () => {
    sim = await startAkamaiSimulator();
    const body = { objects: ['https://www.example.com/a'] };
    const path = '/ccu/v3/invalidate/url/production';
    const wrong = await post(path, body, { secret: 'c29tZS1vdGhlci1zZWNyZXQ=' });
    expect(wrong).toMatchObject({
      status: 401,
      body: { title: 'Not authorized', detail: 'The signature does not match' },
    });
    expect(wrong.headers['content-type']).toBe('application/problem+json');
    expect((await post(path, body, { clientToken: 'akab-nobody' })).body.detail).toBe(
      'Invalid authorization client token',
    );
    const old = timestampOf(new Date(Date.now() - 10 * 60_000));
    expect((await post(path, body, { timestamp: old })).body.detail).toBe('Invalid timestamp');
    expect((await post(path, body, { nonce: 'once' })).status).toBe(201);
    expect((await post(path, body, { nonce: 'once' })).body.detail).toMatch(/nonce/);
    expect(sim.purges).toHaveLength(1);
  });

  it('signs over the body hash, the Host and the target: any of them changed is refused', async () => {
    sim = await startAkamaiSimulator();
    const body = { objects: ['https://www.example.com/a'] };
    const path = '/ccu/v3/invalidate/url/production';
    expect((await post(path, body, { hashed: '{"objects":["https://www.example.com/b"]}' })).status).toBe(
      401,
    );
    expect((await post(path, body, { host: 'akab-other.luna.akamaiapis.net' })).status).toBe(401);
    const header = authorization(
      'POST',
      new URL(sim.url).host,
      '/ccu/v3/delete/url/production',
      JSON.stringify(body),
    );
    const response = await request(`${sim.url}${path}`, {
      method: 'POST',
      headers: { authorization: header, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(response.statusCode).toBe(401);
    await response.body.dump();
    // A missing header, and a right signature with its fields out of the scheme's order.
    const bare = await request(`${sim.url}${path}`, { method: 'POST', body: JSON.stringify(body) });
    expect(bare.statusCode).toBe(401);
    await bare.body.dump();
    const signed = authorization('POST', new URL(sim.url).host, path, JSON.stringify(body));
    const reordered = signed.replace(
      /^EG1-HMAC-SHA256 (client_token=[^;]*);(access_token=[^;]*);/,
      'EG1-HMAC-SHA256 $2;$1;',
    );
    const shuffled = await request(`${sim.url}${path}`, {
      method: 'POST',
      headers: { authorization: reordered, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(shuffled.statusCode).toBe(401);
    expect(JSON.parse(await shuffled.body.text())).toMatchObject({ detail: 'Invalid authorization header' });
  });

  it('refuses a body over 50,000 bytes with 413, and bad bodies with 400 or 415', async () => {
    sim = await startAkamaiSimulator();
    const path = '/ccu/v3/invalidate/url/production';
    const big = {
      objects: Array.from({ length: 500 }, (_, i) => `https://www.example.com/${'z'.repeat(100)}/${i}`),
    };
    const tooLarge = await post(path, big);
    expect(tooLarge).toMatchObject({
      status: 413,
      body: {
        httpStatus: 413,
        title: 'Request entity too large',
        detail: expect.stringContaining('50,000 byte limit'),
      },
    });
    expect(tooLarge.body.supportId).toMatch(/^edcp-/);
    expect((await post(path, { objects: ['https://www.example.com/café'] })).body.detail).toMatch(/^bad URL/);
    expect((await post(path, { objects: ['https://www.example.com/a'], extra: 1 })).status).toBe(400);
    expect((await post(path, { objects: [] })).status).toBe(400);
    expect((await post('/ccu/v3/invalidate/cpcode/production', { objects: ['12345'] })).status).toBe(400);
    expect((await post(path, { hostname: 'origin.example.com', objects: ['/a/b'] })).status).toBe(201);
    expect(
      (await post(path, undefined, { raw: '{"objects":', contentType: 'application/json' })).status,
    ).toBe(400);
    expect(
      (await post(path, { objects: ['https://a.example/'] }, { contentType: 'text/plain' })).status,
    ).toBe(415);
    expect(sim.purges).toHaveLength(1);
  });

  it('answers 429 with its numbers when a bucket is short, consuming no tokens, and refills over time', async () => {
    let now = Date.now();
    sim = await startAkamaiSimulator({ now: () => now, buckets: { url: { size: 5, perSecond: 1 } } });
    const path = '/ccu/v3/invalidate/url/production';
    const objects = (n: number) => Array.from({ length: n }, (_, i) => `https://www.example.com/${i}`);
    expect((await post(path, { objects: objects(4) })).status).toBe(201);
    const denied = await post(path, { objects: objects(3) });
    expect(denied).toMatchObject({
      status: 429,
      body: {
        title: 'URL Rate Limit exceeded',
        rateLimit: 5,
        rateLimitCurrentRequestSize: 3,
        rateLimitRemaining: 1,
      },
    });
    expect(denied.headers['x-ratelimit-remaining-objects']).toBe('1');
    expect(sim.tokens('url')).toBe(1);
    expect(sim.tokens('requests')).toBe(99);
    now += 2_000;
    expect((await post(path, { objects: objects(3) })).status).toBe(201);
  });

  it('tells the buckets on rate-limit-status, with their refresh times', async () => {
    const now = Date.now();
    sim = await startAkamaiSimulator({ now: () => now });
    sim.drain('tag');
    const answer = await post('/ccu/v3/rate-limit-status/tag', undefined);
    expect(answer.status).toBe(201);
    expect(answer.headers).toMatchObject({
      'x-ratelimit-remaining-objects': '0',
      'x-ratelimit-limit-objects': '5000',
      'x-ratelimit-limit-per-second-objects': '8.333',
      'x-ratelimit-seconds-to-refresh-limit-objects': '600',
      'x-ratelimit-seconds-to-refresh-limit': '0',
    });
    expect(sim.requests.map((r) => r.op)).toEqual(['status']);
  });

  it('refuses URLs of hosts the account may not purge with 403 naming the object', async () => {
    sim = await startAkamaiSimulator({ unauthorizedHosts: ['other.example.net'] });
    const answer = await post('/ccu/v3/invalidate/url/production', {
      objects: ['https://www.example.com/a', 'https://other.example.net/b'],
    });
    expect(answer).toMatchObject({
      status: 403,
      body: { detail: 'Unauthorized arl: https://other.example.net/b' },
    });
    expect(sim.purges).toHaveLength(0);
  });

  it('applies injected faults to purges, and an after-accept fault still purges', async () => {
    sim = await startAkamaiSimulator();
    sim.faults.inject('submit', { kind: 'status', status: 503 });
    expect(
      (await post('/ccu/v3/invalidate/url/production', { objects: ['https://a.example/'] })).status,
    ).toBe(503);
    expect(sim.purges).toHaveLength(0);
    sim.faults.inject('submit', { kind: 'status', status: 500, afterAccept: true });
    expect(
      (await post('/ccu/v3/invalidate/url/production', { objects: ['https://a.example/'] })).status,
    ).toBe(500);
    expect(sim.purges).toHaveLength(1);
    expect(sim.requests.map((r) => [r.op, r.authorized])).toEqual([
      ['submit', true],
      ['submit', true],
    ]);
  });
});
