import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type FastlySimulator,
  type FastlySimulatorOptions,
  DEFAULT_FASTLY_SERVICE as SERVICE,
  startFastlySimulator,
  DEFAULT_FASTLY_TOKEN as TOKEN,
} from '../../src/simulator/fastly.ts';

let sim: FastlySimulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function start(options: FastlySimulatorOptions = {}): Promise<FastlySimulator> {
  sim = await startFastlySimulator(options);
  return sim;
}

async function call(
  s: FastlySimulator,
  method: 'POST' | 'PURGE' | 'GET',
  path: string,
  headers: Record<string, string> = {},
  body?: string,
) {
  const response = await request(`${s.url}${path}`, { method, headers, body: body ?? null });
  const text = await response.body.text();
  return { status: response.statusCode, headers: response.headers, json: JSON.parse(text) as unknown };
}

const key = { 'fastly-key': TOKEN };
const ID = /^\d+-\d+-\d{6}$/;

describe('Fastly simulator', () => {
  it('refuses a missing or wrong Fastly-Key on service routes with Fastly’s 401 body', async () => {
    const s = await start();
    for (const headers of [{}, { 'fastly-key': 'wrong' }, { authorization: `Bearer ${TOKEN}` }]) {
      const answer = await call(s, 'POST', `/service/${SERVICE}/purge/k`, headers);
      expect(answer).toMatchObject({
        status: 401,
        json: { msg: 'Provided credentials are missing or invalid' },
      });
    }
    expect(s.purges).toEqual([]);
    // The log says whether the key was good, never what it was.
    expect(JSON.stringify(s.requests)).not.toContain(TOKEN);
  });

  it('takes URL purges without a key unless the service requires auth', async () => {
    const open = await start();
    expect(await call(open, 'POST', '/purge/www.example.com/a', { 'fastly-key': 'wrong' })).toMatchObject({
      status: 200,
      json: { status: 'ok', id: expect.stringMatching(ID) },
    });
    await open.close();
    const locked = await start({ urlPurgeRequiresAuth: true });
    expect((await call(locked, 'POST', '/purge/www.example.com/a')).status).toBe(401);
    expect((await call(locked, 'POST', '/purge/www.example.com/a', key)).status).toBe(200);
  });

  it('purges one URL by host, path and query, by the API or by PURGE to the site, accepted even if never cached', async () => {
    const s = await start();
    s.cache.put('www.example.com', '/a?page=2');
    s.cache.put('www.example.com', '/a');
    await call(s, 'POST', '/purge/www.example.com/a?page=2', key);
    expect(s.cache.has('www.example.com', '/a?page=2')).toBe(false);
    expect(s.cache.has('www.example.com', '/a')).toBe(true);
    await call(s, 'PURGE', '/a', { host: 'WWW.example.com' });
    expect(s.cache.size).toBe(0);
    expect((await call(s, 'POST', '/purge/www.example.com/never-cached', key)).status).toBe(200);
    expect(s.purges.map(({ target, via, touched }) => ({ target, via, touched }))).toEqual([
      { target: 'www.example.com/a?page=2', via: 'api', touched: 1 },
      { target: 'www.example.com/a', via: 'edge', touched: 1 },
      { target: 'www.example.com/never-cached', via: 'api', touched: 0 },
    ]);
  });

  it('purges a batch of keys from JSON or a Surrogate-Key header, answering a map key -> id, 256 keys at most', async () => {
    const s = await start();
    s.cache.put('www.example.com', '/1', ['a']);
    s.cache.put('www.example.com', '/2', ['b', 'c']);
    s.cache.put('www.example.com', '/3', ['d']);
    const json = await call(s, 'POST', `/service/${SERVICE}/purge`, key, '{"surrogate_keys":["a","b"]}');
    expect(json.status).toBe(200);
    expect(Object.keys(json.json as object)).toEqual(['a', 'b']);
    expect(Object.values(json.json as object).every((id) => ID.test(id))).toBe(true);
    expect(s.cache.size).toBe(1);
    const header = await call(s, 'POST', `/service/${SERVICE}/purge`, { ...key, 'surrogate-key': 'd  x' });
    expect(Object.keys(header.json as object)).toEqual(['d', 'x']);
    expect(s.cache.size).toBe(0);
    const keys = Array.from({ length: 257 }, (_, i) => `k${i}`);
    const tooMany = await call(
      s,
      'POST',
      `/service/${SERVICE}/purge`,
      key,
      JSON.stringify({ surrogate_keys: keys }),
    );
    expect(tooMany).toMatchObject({ status: 400, json: { detail: expect.stringContaining('257') } });
    expect((await call(s, 'POST', `/service/${SERVICE}/purge`, key)).status).toBe(400);
    expect((await call(s, 'POST', `/service/${SERVICE}/purge`, key, '{"surrogate_keys":[]}')).status).toBe(
      400,
    );
  });

  it('soft-purges (stale, still held) when asked, except purge_all, which is hard and records the ignored header', async () => {
    const s = await start();
    s.cache.put('www.example.com', '/a', ['k']);
    s.cache.put('www.example.com', '/b');
    await call(s, 'POST', `/service/${SERVICE}/purge/k`, { ...key, 'fastly-soft-purge': '1' });
    expect(s.cache.state('www.example.com', '/a')).toBe('stale');
    const all = await call(s, 'POST', `/service/${SERVICE}/purge_all`, { ...key, 'fastly-soft-purge': '1' });
    expect(all).toMatchObject({ status: 200, json: { status: 'ok' } });
    expect(all.json).not.toHaveProperty('id');
    expect(s.cache.size).toBe(0);
    expect(s.purges.map(({ kind, soft, softIgnored }) => ({ kind, soft, softIgnored }))).toEqual([
      { kind: 'key', soft: true, softIgnored: undefined },
      { kind: 'all', soft: false, softIgnored: true },
    ]);
  });

  it('counts purge_all per token in its window with both headers, answers 429 when spent, and resets', async () => {
    let now = Date.UTC(2025, 0, 1, 12, 0, 0, 400);
    const s = await start({ now: () => now, rateLimit: { limit: 2, windowMs: 10_000 } });
    const first = await call(s, 'POST', `/service/${SERVICE}/purge_all`, key);
    const reset = Math.ceil((now + 10_000) / 1000);
    expect(first.headers).toMatchObject({
      'fastly-ratelimit-remaining': '1',
      'fastly-ratelimit-reset': String(reset),
    });
    // Key and URL purges are exempt (the older docs): no rate headers at all.
    const exempt = await call(s, 'POST', `/service/${SERVICE}/purge/k`, key);
    expect(exempt.headers['fastly-ratelimit-remaining']).toBeUndefined();
    await call(s, 'POST', `/service/${SERVICE}/purge_all`, key);
    const limited = await call(s, 'POST', `/service/${SERVICE}/purge_all`, key);
    expect(limited).toMatchObject({
      status: 429,
      headers: { 'fastly-ratelimit-remaining': '0', 'fastly-ratelimit-reset': String(reset) },
    });
    expect(s.purges.filter((p) => p.kind === 'all')).toHaveLength(2);
    now = reset * 1000;
    expect((await call(s, 'POST', `/service/${SERVICE}/purge_all`, key)).headers).toMatchObject({
      'fastly-ratelimit-remaining': '1',
    });
  });

  it('counts every purge when told to, and each token apart', async () => {
    const other = 'second-token-0123456789';
    const s = await start({
      tokens: [{ token: TOKEN }, { token: other }],
      rateLimit: { limit: 1, counts: 'every-purge' },
    });
    expect(
      (await call(s, 'POST', '/purge/www.example.com/a', key)).headers['fastly-ratelimit-remaining'],
    ).toBe('0');
    expect((await call(s, 'POST', '/purge/www.example.com/a', key)).status).toBe(429);
    expect((await call(s, 'POST', '/purge/www.example.com/a', { 'fastly-key': other })).status).toBe(200);
    expect(s.rateWindow(other)).toMatchObject({ used: 1, remaining: 0 });
  });

  it('refuses with 403 a token without the service or the purge-all scope, and 404 an unknown service', async () => {
    const s = await start({
      services: [SERVICE, 'Other'],
      tokens: [{ token: TOKEN, services: [SERVICE], scopes: ['purge_select'] }, { token: 'global' }],
    });
    expect((await call(s, 'POST', '/service/Other/purge/k', key)).status).toBe(403);
    expect((await call(s, 'POST', `/service/${SERVICE}/purge_all`, key)).status).toBe(403);
    expect((await call(s, 'POST', `/service/${SERVICE}/purge/k`, key)).status).toBe(200);
    expect(await call(s, 'POST', '/service/Nope/purge/k', { 'fastly-key': 'global' })).toMatchObject({
      status: 404,
      json: { msg: 'Record not found' },
    });
  });

  it('logs every purge call as a submit and applies injected faults to them', async () => {
    const s = await start();
    s.faults.inject('submit', { kind: 'status', status: 503 });
    expect((await call(s, 'POST', `/service/${SERVICE}/purge/k`, key)).status).toBe(503);
    expect(s.purges).toEqual([]);
    s.faults.inject('submit', { kind: 'status', status: 500, afterAccept: true });
    expect((await call(s, 'POST', `/service/${SERVICE}/purge/k`, key)).status).toBe(500);
    expect(s.purges).toHaveLength(1);
    expect((await call(s, 'GET', '/service/x/purge/k')).status).toBe(400);
    expect(s.requests.map((r) => r.op)).toEqual(['submit', 'submit', 'unknown']);
    expect(s.requests[0]).toMatchObject({ method: 'POST', authorized: true, body: { soft: false } });
  });
});
