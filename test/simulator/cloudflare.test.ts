import { afterEach, describe, expect, it } from 'vitest';
import {
  type CloudflareSimulator,
  type CloudflareSimulatorOptions,
  DEFAULT_CLOUDFLARE_TOKEN,
  DEFAULT_CLOUDFLARE_ZONE,
  startCloudflareSimulator,
} from '../../src/simulator/cloudflare.ts';

let sim: CloudflareSimulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function start(options: CloudflareSimulatorOptions = {}) {
  sim = await startCloudflareSimulator(options);
  return sim;
}

interface Answer {
  status: number;
  headers: Headers;
  json: { success: boolean; errors: Array<{ code: number; message: string }>; result: unknown };
}

async function call(
  s: CloudflareSimulator,
  body: unknown,
  {
    token = DEFAULT_CLOUDFLARE_TOKEN as string | null,
    zone = DEFAULT_CLOUDFLARE_ZONE,
    route = 'purge_cache',
    method = 'POST',
  } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const response = await fetch(`${s.url}/zones/${zone}/${route}`, {
    method,
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return {
    status: response.status,
    headers: response.headers,
    json: (await response.json()) as Answer['json'],
  };
}

describe('Cloudflare simulator', () => {
  it('answers an accepted purge with the success envelope and a 32-hex id', async () => {
    const s = await start();
    const answer = await call(s, { files: ['https://www.example.com/a'] });
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({
      success: true,
      errors: [],
      messages: [],
      result: { id: expect.stringMatching(/^[0-9a-f]{32}$/) },
    });
    expect(s.requests[0]).toMatchObject({
      op: 'submit',
      authorized: true,
      body: { files: ['https://www.example.com/a'] },
    });
  });

  it('refuses a missing Authorization (400 6003), a wrong token (401), a token without the zone (403), an unknown zone (404)', async () => {
    const other = 'a'.repeat(32);
    const s = await start({
      zones: [DEFAULT_CLOUDFLARE_ZONE, other],
      tokens: [DEFAULT_CLOUDFLARE_TOKEN, { token: 'zone-scoped-token-000000', zones: [other] }],
    });
    const body = { purge_everything: true };
    const missing = await call(s, body, { token: null });
    expect(missing.status).toBe(400);
    expect(missing.json.errors[0]).toMatchObject({ code: 6003, message: 'Invalid request headers' });
    const wrong = await call(s, body, { token: 'wrong-token-wrong-token' });
    expect([wrong.status, wrong.json.errors[0]?.code]).toEqual([401, 10000]);
    const scoped = await call(s, body, { token: 'zone-scoped-token-000000' });
    expect([scoped.status, scoped.json.errors[0]?.code]).toEqual([403, 10000]);
    const unknown = await call(s, body, { zone: 'f'.repeat(32) });
    expect([unknown.status, unknown.json.errors[0]?.code]).toEqual([404, 7003]);
    expect(s.purges).toHaveLength(0);
    expect(s.requests.map((r) => r.authorized)).toEqual([false, false, true, true]);
  });

  it.each([
    ['no field', {}],
    ['two fields', { files: ['https://www.example.com/a'], tags: ['t'] }],
    ['purge_everything beside another field', { purge_everything: true, hosts: ['www.example.com'] }],
    ['purge_everything false', { purge_everything: false }],
    ['an empty list', { tags: [] }],
    ['a files object without url', { files: [{ headers: { Origin: 'https://a.example' } }] }],
  ])('refuses %s with 400 and code 1012', async (_name, body) => {
    const s = await start();
    const answer = await call(s, body);
    expect(answer.status).toBe(400);
    expect(answer.json).toMatchObject({ success: false, result: null });
    expect(answer.json.errors[0]).toEqual({
      code: 1012,
      message: 'Request must contain one of "purge_everything", "files", "tags", "hosts" or "prefixes"',
    });
  });

  it('takes files as strings and {url, headers} objects mixed', async () => {
    const s = await start();
    s.cache.put('https://www.example.com/a');
    s.cache.put('https://www.example.com/b');
    const files = [
      'https://www.example.com/a',
      { url: 'https://www.example.com/b', headers: { 'CF-IPCountry': 'US' } },
    ];
    expect((await call(s, { files })).status).toBe(200);
    expect(s.cache.size).toBe(0);
  });

  it('enforces the per-call caps with a "no more than N" refusal', async () => {
    const s = await start({ plan: 'pro' });
    const files = Array.from({ length: 31 }, (_, i) => `https://www.example.com/${i}`);
    const tooMany = await call(s, { files });
    expect(tooMany.status).toBe(400);
    expect(tooMany.json.errors[0]?.message).toBe('No more than 30 files may be purged in one request');
    expect((await call(s, { files: files.slice(0, 30) })).status).toBe(200);
    const tags = Array.from({ length: 101 }, (_, i) => `t${i}`);
    expect((await call(s, { tags })).json.errors[0]?.message).toMatch(/No more than 100 items/);
  });

  it.each([
    ['a scheme', 'https://www.example.com/foo/'],
    ['a query string', 'www.example.com/foo/?a=1'],
    ['more than 31 separators', `www.example.com/${'d/'.repeat(31)}`],
  ])('refuses a prefix with %s', async (_name, prefix) => {
    const s = await start();
    const answer = await call(s, { prefixes: [prefix] });
    expect(answer.status).toBe(400);
    expect(answer.json.errors[0]?.message).toContain('Invalid prefix');
  });

  it('purges by prefix whatever the query, by tag, by host, and everything', async () => {
    const s = await start({ plan: 'enterprise' });
    s.cache.put('https://www.example.com/news/a?x=1', ['news']);
    s.cache.put('https://www.example.com/newsroom', ['room']);
    s.cache.put('https://img.example.com/p.png', ['img']);
    s.cache.put('https://cdn.example.com/q.js');
    await call(s, { prefixes: ['WWW.example.com/news/'] });
    expect(s.cache.has('https://www.example.com/news/a?x=1')).toBe(false);
    expect(s.cache.has('https://www.example.com/newsroom')).toBe(true);
    await call(s, { tags: ['room'] });
    expect(s.cache.has('https://www.example.com/newsroom')).toBe(false);
    await call(s, { hosts: ['img.example.com'] });
    expect(s.cache.has('https://img.example.com/p.png')).toBe(false);
    await call(s, { purge_everything: true });
    expect(s.cache.size).toBe(0);
    expect(s.purges.map((p) => p.hit)).toEqual([1, 1, 1, 1]);
  });

  it('marks objects stale on invalidate_cache, and takes DELETE as well as POST', async () => {
    const s = await start();
    s.cache.put('https://www.example.com/a');
    s.cache.put('https://www.example.com/b');
    await call(s, { files: ['https://www.example.com/a'] }, { route: 'invalidate_cache' });
    expect(s.cache.state('https://www.example.com/a')).toBe('stale');
    expect((await call(s, { files: ['https://www.example.com/b'] }, { method: 'DELETE' })).status).toBe(200);
    expect(s.cache.has('https://www.example.com/b')).toBe(false);
  });

  it("limits tags/hosts/prefixes/everything by the free plan's bucket: 25 at once, then 5 a minute", async () => {
    let now = 0;
    const s = await start({ plan: 'free', now: () => now });
    for (let i = 0; i < 25; i += 1) expect((await call(s, { tags: [`t${i}`] })).status).toBe(200);
    const limited = await call(s, { tags: ['one-more'] });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('12');
    expect(limited.headers.get('ratelimit')).toBe('"default";r=0;t=12');
    expect(limited.headers.get('ratelimit-policy')).toBe('"burst";q=25;w=300');
    expect(limited.json.errors[0]?.code).toBe(971);
    // Files have their own bucket (URLs per second): still open.
    expect((await call(s, { files: ['https://www.example.com/a'] })).status).toBe(200);
    now += 12_000;
    const refilled = await call(s, { tags: ['one-more'] });
    expect(refilled.status).toBe(200);
    expect(refilled.headers.get('retry-after')).toBeNull();
    expect(refilled.headers.get('ratelimit')).toBe('"default";r=0;t=12');
  });

  it('counts the files bucket in URLs', async () => {
    let now = 0;
    const s = await start({ buckets: { files: { size: 40, perSecond: 40 } }, now: () => now });
    const files = (n: number) => Array.from({ length: n }, (_, i) => `https://www.example.com/${i}`);
    expect((await call(s, { files: files(30) })).headers.get('ratelimit')).toMatch(/r=10;/);
    const limited = await call(s, { files: files(30) });
    expect([limited.status, limited.headers.get('retry-after')]).toEqual([429, '1']);
    now += 1000;
    expect((await call(s, { files: files(30) })).status).toBe(200);
  });

  it('blocks every call for blockMs once the global limit is passed', async () => {
    let now = 0;
    const s = await start({
      plan: 'enterprise',
      globalLimit: { max: 2, windowMs: 300_000, blockMs: 300_000 },
      now: () => now,
    });
    const body = { hosts: ['www.example.com'] };
    expect((await call(s, body)).status).toBe(200);
    expect((await call(s, body)).status).toBe(200);
    const blocked = await call(s, body);
    expect([blocked.status, blocked.headers.get('retry-after')]).toEqual([429, '300']);
    now += 299_000;
    expect((await call(s, body)).status).toBe(429);
    now += 2_000;
    expect((await call(s, body)).status).toBe(200);
  });

  it('verifies tokens, has no status route, and answers unknown routes with 404 7000', async () => {
    const s = await start({
      tokens: [DEFAULT_CLOUDFLARE_TOKEN, { token: 'expired-token-000000000', status: 'expired' }],
    });
    const verify = async (token: string) => {
      const response = await fetch(`${s.url}/user/tokens/verify`, {
        headers: { authorization: `Bearer ${token}` },
      });
      return { status: response.status, json: (await response.json()) as Answer['json'] };
    };
    expect(await verify(DEFAULT_CLOUDFLARE_TOKEN)).toMatchObject({
      status: 200,
      json: { success: true, result: { status: 'active' } },
    });
    expect(await verify('expired-token-000000000')).toMatchObject({
      status: 200,
      json: { result: { status: 'expired' } },
    });
    expect((await verify('nope-nope-nope-nope')).status).toBe(401);
    const status = await fetch(`${s.url}/zones/${DEFAULT_CLOUDFLARE_ZONE}/purge_cache/abc`);
    expect(status.status).toBe(404);
    expect(((await status.json()) as Answer['json']).errors[0]?.code).toBe(7000);
  });

  it('injects faults on purge calls: a 503, and a 200 whose purge happened but whose answer was lost', async () => {
    const s = await start();
    s.cache.put('https://www.example.com/a');
    s.faults.inject('submit', { kind: 'status', status: 503 });
    expect((await call(s, { files: ['https://www.example.com/a'] })).status).toBe(503);
    expect(s.cache.has('https://www.example.com/a')).toBe(true);
    s.faults.inject('submit', { kind: 'status', status: 500, afterAccept: true });
    expect((await call(s, { files: ['https://www.example.com/a'] })).status).toBe(500);
    expect(s.cache.has('https://www.example.com/a')).toBe(false);
  });
});
