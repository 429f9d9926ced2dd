import { afterEach, describe, expect, it } from 'vitest';
import { quantilCdnSchema } from '../../src/config/schema.ts';
import { PurgeError } from '../../src/errors.ts';
import { createHttpClient, type HttpClient } from '../../src/providers/http.ts';
import type { Provider } from '../../src/providers/provider.ts';
import { createQuantilProvider } from '../../src/providers/quantil/provider.ts';
import type { QuantilOptions } from '../../src/simulator/quantil.ts';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { DOC_PURGE_ID, DOC_SAMPLE } from './quantil-fixtures.ts';

const T0 = Date.UTC(2014, 7, 7, 18, 46, 21);
const ACCOUNT = { user: 'alice', apiKey: 'alice-key' };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const BATCH = { urls: ['http://h.example.com/a.txt?x=1&y=2'], dirs: ['http://h.example.com/news/'] };
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface ProviderOverrides {
  apiKey?: string;
  skewMs?: number;
  domains?: string[];
}

async function setup(quantil: QuantilOptions = {}) {
  const clock = { now: T0 };
  const sim: Simulator = await startSimulator({
    quantil: { accounts: [ACCOUNT], taskDurationMs: 1000, now: () => clock.now, ...quantil },
  });
  const http: HttpClient = createHttpClient({
    connectTimeoutMs: 1000,
    headersTimeoutMs: 2000,
    bodyTimeoutMs: 2000,
    totalTimeoutMs: 3000,
    maxResponseBytes: 1024 * 1024,
  });
  cleanups.push(async () => {
    await http.close();
    await sim.close();
  });
  const build = (overrides: ProviderOverrides = {}): Provider => {
    const config = quantilCdnSchema.parse({
      id: 'q-main',
      provider: 'quantil',
      baseUrl: sim.url,
      user: ACCOUNT.user,
      apiKey: overrides.apiKey ?? ACCOUNT.apiKey,
      ...(overrides.domains ? { domains: overrides.domains } : {}),
    });
    return createQuantilProvider(config, { http, now: () => new Date(clock.now + (overrides.skewMs ?? 0)) });
  };
  return { sim, clock, provider: build(), build };
}

async function rejection(promise: Promise<unknown>): Promise<PurgeError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PurgeError);
  return error as PurgeError;
}

describe('QUANTIL provider shape', () => {
  it('declares its kinds, batch size, daily quota and quota account', async () => {
    const { provider, build } = await setup();
    expect(provider.name).toBe('quantil');
    expect(provider.cdnId).toBe('q-main');
    expect(provider.quotaAccount).toBe('alice');
    expect([...provider.capabilities.kinds]).toEqual(['urls', 'dirs']);
    expect(provider.capabilities).toMatchObject({
      maxItemsPerCall: 100,
      dailyQuota: { urls: 5000, dirs: 500 },
    });
    const withDomains = build({ domains: ['www.example.com'] });
    expect([...withDomains.capabilities.kinds]).toEqual(['urls', 'dirs', 'all']);
    expect(withDomains.toBatches({ urls: [], dirs: [], all: true })).toEqual([
      { urls: [], dirs: ['http://www.example.com/'] },
    ]);
    expect(() => provider.toBatches({ urls: [], dirs: [], pattern: 'x' })).toThrow(/q-main \(quantil\)/);
  });
});

describe('QUANTIL provider submit', () => {
  it('sends signed XML and takes the purge id from Location, plus the request id', async () => {
    const { sim, provider } = await setup();
    const result = await provider.submit(BATCH);
    expect(result.remoteId).toMatch(UUID);
    expect(result.requestId).toMatch(/^\d+$/);
    expect(sim.quantil.purge(result.remoteId)?.items.map((i) => [i.path, i.isdir])).toEqual([
      [BATCH.urls[0], false],
      [BATCH.dirs[0], true],
    ]);
    expect(await sim.quantil.waitForRequest('submit')).toMatchObject({ authorized: true, method: 'POST' });
  });

  it.each([
    ['body', 201],
    ['both', 200],
    ['location', 202],
  ] as const)('finds the id with idIn %s and HTTP %i', async (idIn, createStatus) => {
    const { sim, provider } = await setup({ idIn, createStatus });
    const { remoteId } = await provider.submit(BATCH);
    expect(sim.quantil.purges.map((p) => p.id)).toEqual([remoteId]);
  });

  it('fails clearly and permanently when the answer carries no purge id', async () => {
    const { sim, provider } = await setup({ idIn: 'none' });
    const error = await rejection(provider.submit(BATCH));
    expect([error.code, error.retryable]).toEqual(['CDN_BAD_RESPONSE', false]);
    expect(error.message).toBe(
      'QUANTIL purge: accepted (HTTP 202) but no purge id in Location header or body',
    );
    expect(sim.quantil.purges).toHaveLength(1);
  });

  it('maps a wrong key and a skewed clock to CDN_AUTH', async () => {
    const { build } = await setup();
    for (const provider of [build({ apiKey: 'wrong' }), build({ skewMs: 20 * 60_000 })]) {
      const error = await rejection(provider.submit(BATCH));
      expect([error.code, error.retryable, error.httpStatus]).toEqual(['CDN_AUTH', false, 401]);
    }
  });

  it('reports a quota refusal as QUOTA_EXCEEDED (not a credential problem), permanent, with the server’s explanation', async () => {
    const { provider } = await setup({ dailyQuota: { files: 0, dirs: 10 } });
    const error = await rejection(provider.submit(BATCH));
    expect([error.code, error.retryable, error.httpStatus]).toEqual(['QUOTA_EXCEEDED', false, 403]);
    expect(error.message).toMatch(/^QUANTIL purge: HTTP 403 — QuotaExceeded daily purge quota exceeded/);
  });

  it('makes 503 and 429 retryable, honouring Retry-After', async () => {
    const { sim, provider } = await setup();
    sim.quantil.faults.inject('submit', {
      kind: 'status',
      status: 503,
      retryAfter: '7',
      body: '<error><message>maintenance</message></error>',
    });
    sim.quantil.faults.inject('submit', { kind: 'status', status: 429, retryAfter: '2', body: 'slow down' });
    const unavailable = await rejection(provider.submit(BATCH));
    expect(unavailable).toMatchObject({ code: 'CDN_UNAVAILABLE', retryable: true, retryAfterMs: 7000 });
    expect(unavailable.message).toBe('QUANTIL purge: HTTP 503 — maintenance');
    const limited = await rejection(provider.submit(BATCH));
    expect(limited).toMatchObject({ code: 'CDN_RATE_LIMITED', retryable: true, retryAfterMs: 2000 });
  });
});

describe('QUANTIL provider status', () => {
  it('follows a purge pending -> running -> succeeded on the simulator clock', async () => {
    const { clock, provider } = await setup();
    const { remoteId } = await provider.submit({
      urls: ['http://h/1', 'http://h/2', 'http://h/3'],
      dirs: [],
    });
    expect(await provider.status(remoteId)).toEqual({ state: 'pending', progress: 0 });
    clock.now = T0 + 400;
    const running = await provider.status(remoteId);
    expect(running.state).toBe('running');
    expect(running.progress).toBeGreaterThan(0);
    expect(running.progress).toBeLessThan(100);
    clock.now = T0 + 1000;
    // The default casing mixes `success` and `Success`.
    expect(await provider.status(remoteId)).toEqual({ state: 'succeeded', progress: 100 });
  });

  it('reports failed items by path', async () => {
    const { clock, provider } = await setup({
      outcome: (path) => (path.endsWith('/bad') ? 'failure' : 'success'),
    });
    const { remoteId } = await provider.submit({ urls: ['http://h/ok', 'http://h/bad'], dirs: [] });
    clock.now = T0 + 1000;
    expect(await provider.status(remoteId)).toEqual({
      state: 'failed',
      reason: 'failed: http://h/bad',
      progress: 100,
    });
  });

  it("reads the documentation's sample response as served", async () => {
    const { sim, provider } = await setup();
    sim.quantil.serveVerbatim(DOC_PURGE_ID, DOC_SAMPLE);
    expect(await provider.status(DOC_PURGE_ID)).toEqual({ state: 'succeeded', progress: 100 });
    expect(await sim.quantil.waitForRequest('status')).toMatchObject({
      path: `/api/purge/${DOC_PURGE_ID}`,
      authorized: true,
    });
  });

  it('maps an unknown id to CDN_NOT_FOUND and an unreadable 2xx body to a retryable error', async () => {
    const { sim, provider } = await setup();
    expect((await rejection(provider.status('no-such-id'))).code).toBe('CDN_NOT_FOUND');
    sim.quantil.serveVerbatim('odd', '<html><body>maintenance</body></html>');
    expect(await rejection(provider.status('odd'))).toMatchObject({
      code: 'CDN_BAD_RESPONSE',
      retryable: true,
    });
  });
});

describe('QUANTIL answers the parser refuses', () => {
  it('are a bad response that is not retried, whether a status or a submit answer', async () => {
    const { sim, provider } = await setup();
    sim.quantil.serveVerbatim('hostile', '<purge-result><__proto__><x>1</x></__proto__></purge-result>');
    expect(await rejection(provider.status('hostile'))).toMatchObject({
      code: 'CDN_BAD_RESPONSE',
      retryable: false,
    });
    const deep = `${'<a>'.repeat(500)}${'</a>'.repeat(500)}`;
    sim.quantil.faults.inject('submit', { kind: 'status', status: 201, body: deep, afterAccept: true });
    expect(await rejection(provider.submit(BATCH))).toMatchObject({
      code: 'CDN_BAD_RESPONSE',
      retryable: false,
    });
  });
});

describe('QUANTIL provider check', () => {
  it('is ok with valid credentials and not ok, without throwing, with bad ones', async () => {
    const { sim, build, provider } = await setup();
    expect(await provider.check()).toEqual({ ok: true, detail: 'credentials accepted' });
    const list = await sim.quantil.waitForRequest('list');
    expect(list).toMatchObject({ method: 'GET', path: '/api/purge', authorized: true });
    const refused = await build({ apiKey: 'wrong' }).check();
    expect(refused.ok).toBe(false);
    expect(refused.detail).toMatch(/HTTP 401/);
    sim.quantil.faults.inject('list', { kind: 'html', status: 502 });
    expect((await rejection(provider.check())).code).toBe('CDN_UNAVAILABLE');
  });
});
