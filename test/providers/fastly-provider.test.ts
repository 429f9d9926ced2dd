import { describe, expect, it } from 'vitest';
import { fastlyCdnSchema } from '../../src/config/schema.ts';
import type { PurgeTarget } from '../../src/model/purge.ts';
import { CHECK_KEY, createFastlyProvider } from '../../src/providers/fastly/provider.ts';
import {
  DEFAULT_FASTLY_SERVICE,
  DEFAULT_FASTLY_TOKEN,
  type FastlySimulatorOptions,
  startFastlySimulator,
} from '../../src/simulator/fastly.ts';
import type { FaultInjector } from '../../src/simulator/faults.ts';
import { providerTestClient } from '../harness/provider-http.ts';
import { runProviderContract } from './contract.ts';

const http = providerTestClient;

/** One fixed clock for the simulator and the provider, so a reset header reads as an exact wait. */
const NOW = Date.UTC(2025, 0, 1, 12, 0, 0, 250);

async function rig(options: FastlySimulatorOptions = {}, entry: Record<string, unknown> = {}) {
  const fastly = await startFastlySimulator({ urlPurgeRequiresAuth: true, now: () => NOW, ...options });
  const client = http();
  const config = (token: string) =>
    fastlyCdnSchema.parse({
      id: 'edge',
      provider: 'fastly',
      baseUrl: fastly.url,
      serviceId: DEFAULT_FASTLY_SERVICE,
      token,
      ...entry,
    });
  const deps = { http: client, now: () => NOW };
  return {
    fastly,
    provider: createFastlyProvider(config(DEFAULT_FASTLY_TOKEN), deps),
    badCredentials: createFastlyProvider(config('not-a-fastly-token'), deps),
    faults: fastly.faults as unknown as FaultInjector<'submit' | 'status' | 'list'>,
    finishTasks: () => {},
    close: async () => {
      await client.close();
      await fastly.close();
    },
  };
}

runProviderContract({
  name: 'Fastly',
  start: () => rig(),
  targets: {
    urls: { urls: ['https://www.example.com/a.jpg'], dirs: [] },
    tags: { urls: [], dirs: [], tags: ['product-42'] },
    all: { urls: [], dirs: [], all: true },
  },
  refused: [
    { kind: 'dirs', target: { urls: [], dirs: ['https://www.example.com/news/'] } },
    { kind: 'pattern', target: { urls: [], dirs: [], pattern: '\\.jpg$' } },
  ],
  completesAtSubmit: true,
});

const submits = (r: Awaited<ReturnType<typeof rig>>) => r.fastly.requests.filter((q) => q.op === 'submit');

describe('Fastly provider specifics', () => {
  it('purges each URL with a call of its own (host, path and query), done at acceptance with no status call', async () => {
    const r = await rig();
    try {
      r.fastly.cache.put('www.example.com', '/a.jpg?v=2');
      r.fastly.cache.put('www.example.com', '/a.jpg');
      r.fastly.cache.put('img.example.com', '/b.png');
      const [batch, ...rest] = r.provider.toBatches({
        urls: ['https://www.example.com/a.jpg?v=2', 'https://img.example.com/b.png'],
        dirs: [],
      });
      expect(rest).toEqual([]);
      const submitted = await r.provider.submit(batch as PurgeTarget);
      expect(
        submits(r)
          .map(({ method, path }) => `${method} ${path}`)
          .sort(),
      ).toEqual(['POST /purge/img.example.com/b.png', 'POST /purge/www.example.com/a.jpg?v=2']);
      expect(r.fastly.cache.has('www.example.com', '/a.jpg?v=2')).toBe(false);
      expect(r.fastly.cache.has('img.example.com', '/b.png')).toBe(false);
      // `?v=2` is another object: the bare path stays.
      expect(r.fastly.cache.state('www.example.com', '/a.jpg')).toBe('fresh');
      const ids = r.fastly.purges.flatMap((p) => p.ids);
      expect(submitted.remoteId).toMatch(new RegExp(`^fastly:(${ids.join('|')})\\+1$`));
      expect(submitted.requestId?.split(' ').sort()).toEqual([...ids].sort());
      expect(submitted.doneAtAcceptance).toEqual({
        afterMs: 150,
        note: expect.stringMatching(/^Fastly has no status endpoint: 2 purge call\(s\) accepted; .*150 ms/),
      });
      // URL purges are exempt from the hourly limit: no rate headers, so no rateLimit (unknown, not zero).
      expect(submitted.rateLimit).toBeUndefined();
      expect(await r.provider.status(submitted.remoteId)).toEqual({ state: 'succeeded', progress: 100 });
      expect(submits(r)).toHaveLength(2);
    } finally {
      await r.close();
    }
  });

  it('purges surrogate keys in one batch call, 256 keys at most, and splits a longer list', async () => {
    const r = await rig();
    try {
      r.fastly.cache.put('www.example.com', '/p/42', ['product-42', 'listing']);
      r.fastly.cache.put('www.example.com', '/p/43', ['product-43']);
      r.fastly.cache.put('www.example.com', '/p/44', ['product-44']);
      const submitted = await r.provider.submit({ urls: [], dirs: [], tags: ['product-42', 'product-43'] });
      expect(submits(r)).toEqual([
        expect.objectContaining({
          method: 'POST',
          path: `/service/${DEFAULT_FASTLY_SERVICE}/purge`,
          body: { soft: false, json: { surrogate_keys: ['product-42', 'product-43'] } },
        }),
      ]);
      expect(r.fastly.cache.size).toBe(1);
      expect(r.fastly.cache.has('www.example.com', '/p/44')).toBe(true);
      expect(submitted.remoteId).toMatch(/^fastly:\d+-\d+-\d{6}$/);
      expect(r.provider.capabilities.maxTagsPerCall).toBe(256);
      const tags = Array.from({ length: 300 }, (_, i) => `k${i}`);
      const batches = r.provider.toBatches({ urls: [], dirs: [], tags });
      expect(batches.map((b) => b.tags?.length)).toEqual([256, 44]);
    } finally {
      await r.close();
    }
  });

  it('soft-purges URLs and keys with Fastly-Soft-Purge, but never purge_all, and says so', async () => {
    const r = await rig({}, { soft: true });
    try {
      r.fastly.cache.put('www.example.com', '/a', ['k']);
      r.fastly.cache.put('www.example.com', '/b', ['k']);
      r.fastly.cache.put('www.example.com', '/c');
      const soft = await r.provider.submit({ urls: ['https://www.example.com/c'], dirs: [], tags: ['k'] });
      expect(soft.doneAtAcceptance?.note).toContain('2 soft purge call(s) accepted');
      expect(submits(r).map((q) => (q.body as { soft: boolean }).soft)).toEqual([true, true]);
      expect(['/a', '/b', '/c'].map((path) => r.fastly.cache.state('www.example.com', path))).toEqual([
        'stale',
        'stale',
        'stale',
      ]);
      const all = await r.provider.submit({ urls: [], dirs: [], all: true });
      expect(submits(r)[2]).toMatchObject({
        path: `/service/${DEFAULT_FASTLY_SERVICE}/purge_all`,
        body: { soft: false },
      });
      expect(r.fastly.purges.at(-1)).toMatchObject({ kind: 'all', soft: false });
      expect(r.fastly.purges.at(-1)?.softIgnored).toBeUndefined();
      expect(r.fastly.cache.size).toBe(0);
      expect(all.doneAtAcceptance).toEqual({
        afterMs: 20_000,
        note: expect.stringContaining('hard, not soft: Fastly cannot soft-purge everything'),
      });
      expect(all.remoteId).toMatch(/^fastly:u-[0-9a-f-]{36}$/);
    } finally {
      await r.close();
    }
  });

  it('reads the rate headers of a counted purge into rateLimit', async () => {
    const r = await rig({ rateLimit: { limit: 3, windowMs: 60_000, counts: 'every-purge' } });
    try {
      const submitted = await r.provider.submit({ urls: [], dirs: [], tags: ['a'] });
      const window = r.fastly.rateWindow();
      expect(window.remaining).toBe(2);
      expect(submitted.rateLimit).toEqual({ remaining: 2, resetAfterMs: window.resetAt - NOW });
      // Of several calls in one submit, the window closest to spent is the one reported.
      const two = await r.provider.submit({
        urls: ['https://www.example.com/x', 'https://www.example.com/y'],
        dirs: [],
      });
      expect(two.rateLimit).toEqual({ remaining: 0, resetAfterMs: window.resetAt - NOW });
    } finally {
      await r.close();
    }
  });

  it('reads a 429 as CDN_RATE_LIMITED waiting until Fastly-RateLimit-Reset, or Retry-After when sent', async () => {
    const r = await rig({ rateLimit: { limit: 1000, windowMs: 3_600_000 } });
    try {
      r.fastly.exhaustRateWindow();
      const { resetAt } = r.fastly.rateWindow();
      const limited = await r.provider.submit({ urls: [], dirs: [], all: true }).catch((e: unknown) => e);
      expect(limited).toMatchObject({
        code: 'CDN_RATE_LIMITED',
        retryable: true,
        httpStatus: 429,
        retryAfterMs: resetAt - NOW,
      });
      expect((limited as Error).message).toContain('Too many requests');
      r.fastly.faults.inject('submit', {
        kind: 'status',
        status: 429,
        retryAfter: '7',
        body: '{"msg":"slow down"}',
      });
      await expect(
        r.provider.submit({ urls: ['https://www.example.com/a'], dirs: [] }),
      ).rejects.toMatchObject({
        code: 'CDN_RATE_LIMITED',
        retryAfterMs: 7000,
      });
    } finally {
      await r.close();
    }
  });

  it('refuses bad credentials, a service the token may not purge, purge_all without its scope, an unknown service', async () => {
    const other = 'OtherService000000000';
    const r = await rig({
      services: [DEFAULT_FASTLY_SERVICE, other],
      tokens: [
        { token: DEFAULT_FASTLY_TOKEN, services: [DEFAULT_FASTLY_SERVICE], scopes: ['purge_select'] },
        { token: 'global-token-0123456789' },
      ],
    });
    const elsewhere = await rig(
      { services: [DEFAULT_FASTLY_SERVICE, other] },
      { serviceId: 'NoSuchService' },
    );
    try {
      const wrongKey = await r.badCredentials
        .submit({ urls: [], dirs: [], tags: ['a'] })
        .catch((e: unknown) => e);
      expect(wrongKey).toMatchObject({ code: 'CDN_AUTH', retryable: false, httpStatus: 401 });
      expect((wrongKey as Error).message).toContain('Provided credentials are missing or invalid');
      expect((wrongKey as Error).message).not.toContain('not-a-fastly-token');
      await expect(r.provider.submit({ urls: [], dirs: [], all: true })).rejects.toMatchObject({
        code: 'CDN_AUTH',
        retryable: false,
        httpStatus: 403,
      });
      expect(await r.provider.check()).toMatchObject({ ok: true });
      await expect(elsewhere.provider.submit({ urls: [], dirs: [], tags: ['a'] })).rejects.toMatchObject({
        code: 'CDN_NOT_FOUND',
        retryable: false,
        httpStatus: 404,
      });
      expect(r.fastly.purges.map((p) => p.target)).toEqual([CHECK_KEY]);
      expect(r.fastly.purges[0]).toMatchObject({ kind: 'key', soft: true });
    } finally {
      await r.close();
      await elsewhere.close();
    }
  });

  it('fails the whole submit when one URL call fails, and its retry resends every call', async () => {
    const r = await rig();
    try {
      const batch = {
        urls: ['https://www.example.com/1', 'https://www.example.com/2', 'https://www.example.com/3'],
        dirs: [],
      };
      r.fastly.faults.inject('submit', { kind: 'status', status: 503, retryAfter: '3' });
      const error = await r.provider.submit(batch).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'CDN_UNAVAILABLE', retryable: true, retryAfterMs: 3000 });
      expect((error as Error).message).toMatch(
        /^Fastly: 1 of 3 purge call\(s\) failed — https:\/\/www\.example\.com\/\d: /,
      );
      expect(submits(r)).toHaveLength(3);
      await r.provider.submit(batch);
      expect(submits(r)).toHaveLength(6);
    } finally {
      await r.close();
    }
  });

  it('has at most urlConcurrency URL calls in flight', async () => {
    const r = await rig({}, { urlConcurrency: 2 });
    try {
      const first = r.fastly.faults.holdNext('submit');
      const second = r.fastly.faults.holdNext('submit');
      const urls = [1, 2, 3, 4, 5].map((n) => `https://www.example.com/${n}`);
      const done = r.provider.submit({ urls, dirs: [] });
      await Promise.all([first.arrived, second.arrived]);
      expect(submits(r)).toHaveLength(2);
      first.release();
      await r.fastly.waitForRequest('submit', 3);
      expect(submits(r)).toHaveLength(3);
      second.release();
      await done;
      expect(submits(r)).toHaveLength(5);
    } finally {
      await r.close();
    }
  });

  it("reads a 200 that is not Fastly's JSON as transient, a 400 as a permanent rejection with Fastly's reason", async () => {
    const r = await rig();
    try {
      r.fastly.faults.inject('submit', { kind: 'status', status: 200, body: '<html>portal</html>' });
      await expect(r.provider.submit({ urls: [], dirs: [], tags: ['a'] })).rejects.toMatchObject({
        code: 'CDN_BAD_RESPONSE',
        retryable: true,
      });
      r.fastly.faults.inject('submit', {
        kind: 'status',
        status: 400,
        body: '{"msg":"Bad request","detail":"surrogate key too long"}',
      });
      const rejected = await r.provider.submit({ urls: [], dirs: [], tags: ['a'] }).catch((e: unknown) => e);
      expect(rejected).toMatchObject({ code: 'CDN_REJECTED', retryable: false, httpStatus: 400 });
      expect((rejected as Error).message).toContain('Bad request: surrogate key too long');
    } finally {
      await r.close();
    }
  });

  it('times out a stalled call instead of hanging', async () => {
    const r = await rig();
    try {
      r.fastly.faults.inject('submit', { kind: 'stall' });
      await expect(
        r.provider.submit({ urls: ['https://www.example.com/a'], dirs: [] }),
      ).rejects.toMatchObject({
        code: 'CDN_TIMEOUT',
        retryable: true,
      });
    } finally {
      await r.close();
    }
  });

  it('defaults baseUrl to the Fastly API and refuses a service id that is not alphanumeric', () => {
    const entry = { id: 'f', provider: 'fastly', serviceId: DEFAULT_FASTLY_SERVICE, token: 't' };
    expect(fastlyCdnSchema.parse(entry)).toMatchObject({
      baseUrl: 'https://api.fastly.com',
      soft: false,
      maxItemsPerCall: 256,
      settleMs: { purge: 150, purgeAll: 20_000 },
    });
    expect(fastlyCdnSchema.safeParse({ ...entry, serviceId: '../x' }).success).toBe(false);
  });
});
