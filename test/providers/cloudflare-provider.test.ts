import { describe, expect, it } from 'vitest';
import { cloudflareCdnSchema } from '../../src/config/schema.ts';
import type { PurgeTarget } from '../../src/model/purge.ts';
import { createCloudflareProvider } from '../../src/providers/cloudflare/provider.ts';
import {
  type CloudflareSimulatorOptions,
  cloudflareErrorBody,
  DEFAULT_CLOUDFLARE_TOKEN,
  DEFAULT_CLOUDFLARE_ZONE,
  startCloudflareSimulator,
} from '../../src/simulator/cloudflare.ts';
import type { FaultInjector } from '../../src/simulator/faults.ts';
import { providerTestClient } from '../harness/provider-http.ts';
import { runProviderContract } from './contract.ts';

const http = providerTestClient;

async function rig(options: CloudflareSimulatorOptions = {}, entry: Record<string, unknown> = {}) {
  const sim = await startCloudflareSimulator(options);
  const client = http();
  const config = (apiToken: string) =>
    cloudflareCdnSchema.parse({
      id: 'cf',
      provider: 'cloudflare',
      baseUrl: sim.url,
      zoneId: DEFAULT_CLOUDFLARE_ZONE,
      apiToken,
      ...entry,
    });
  return {
    sim,
    provider: createCloudflareProvider(config(DEFAULT_CLOUDFLARE_TOKEN), { http: client }),
    badCredentials: createCloudflareProvider(config('not-the-token-cloudflare-issued'), { http: client }),
    faults: sim.faults as unknown as FaultInjector<'submit' | 'status' | 'list'>,
    finishTasks: () => {},
    submits: () => sim.requests.filter((r) => r.op === 'submit'),
    close: async () => {
      await client.close();
      await sim.close();
    },
  };
}

const empty = { urls: [], dirs: [] };

runProviderContract({
  name: 'Cloudflare',
  start: () => rig(),
  targets: {
    urls: { urls: ['https://www.example.com/a.jpg'], dirs: [] },
    dirs: { urls: [], dirs: ['https://www.example.com/news/'] },
    tags: { ...empty, tags: ['product-42'] },
    all: { ...empty, all: true },
  },
  refused: [{ kind: 'pattern', target: { ...empty, pattern: '\\.jpg$' } }],
  completesAtSubmit: true,
});

describe('Cloudflare provider specifics', () => {
  it('sends files as full URLs, dirs as host+path prefixes and tags as tags, and the zone drops them', async () => {
    const r = await rig();
    try {
      r.sim.cache.put('https://www.example.com/a.jpg?v=2');
      r.sim.cache.put('https://www.example.com/news/x.html?page=3');
      r.sim.cache.put('https://www.example.com/newsletter.html');
      r.sim.cache.put('https://www.example.com/p/42.html', ['product-42']);
      r.sim.cache.put('https://www.example.com/p/43.html', ['product-43']);
      const batch: PurgeTarget = {
        urls: ['https://www.example.com/a.jpg?v=2'],
        dirs: ['https://www.example.com/news/'],
        tags: ['product-42'],
      };
      const submitted = await r.provider.submit(batch);
      // One kind per call: three calls inside the one submit.
      expect(r.submits().map((s) => s.body)).toEqual([
        { files: ['https://www.example.com/a.jpg?v=2'] },
        { prefixes: ['www.example.com/news/'] },
        { tags: ['product-42'] },
      ]);
      expect(submitted.remoteId).toMatch(/^cloudflare:3c:[0-9a-f]{32}\.[0-9a-f]{32}\.[0-9a-f]{32}$/);
      expect(submitted.doneAtAcceptance).toMatchObject({ afterMs: 150 });
      expect(submitted.doneAtAcceptance?.note).toMatch(/no purge status.*accepted/);
      expect(r.sim.cache.has('https://www.example.com/a.jpg?v=2')).toBe(false);
      expect(r.sim.cache.has('https://www.example.com/news/x.html?page=3')).toBe(false);
      expect(r.sim.cache.has('https://www.example.com/p/42.html')).toBe(false);
      expect(r.sim.cache.has('https://www.example.com/newsletter.html')).toBe(true);
      expect(r.sim.cache.has('https://www.example.com/p/43.html')).toBe(true);
      // status answers from the id alone: no further request.
      expect(await r.provider.status(submitted.remoteId)).toEqual({ state: 'succeeded', progress: 100 });
      expect(r.sim.requests).toHaveLength(3);
      // Every call carried the Bearer token the simulator issued.
      expect(r.sim.requests.every((request) => request.authorized)).toBe(true);
    } finally {
      await r.close();
    }
  });

  it('soft-purges through invalidate_cache: objects go stale instead of away', async () => {
    const r = await rig({}, { soft: true });
    try {
      r.sim.cache.put('https://www.example.com/a.jpg');
      await r.provider.submit({ urls: ['https://www.example.com/a.jpg'], dirs: [] });
      expect(r.submits()[0]?.path).toBe(`/client/v4/zones/${DEFAULT_CLOUDFLARE_ZONE}/invalidate_cache`);
      expect(r.sim.cache.state('https://www.example.com/a.jpg')).toBe('stale');
      expect(r.sim.purges[0]).toMatchObject({ soft: true, hit: 1 });
    } finally {
      await r.close();
    }
  });

  it('purges everything, or only the configured hosts when allHosts is set', async () => {
    const everything = await rig();
    const hosts = await rig({}, { allHosts: ['www.example.com'] });
    try {
      for (const r of [everything, hosts]) {
        r.sim.cache.put('https://www.example.com/a');
        r.sim.cache.put('https://img.example.com/b');
        await r.provider.submit({ ...empty, all: true });
      }
      expect(everything.submits()[0]?.body).toEqual({ purge_everything: true });
      expect(everything.sim.cache.size).toBe(0);
      expect(hosts.submits()[0]?.body).toEqual({ hosts: ['www.example.com'] });
      expect(hosts.sim.cache.has('https://img.example.com/b')).toBe(true);
    } finally {
      await everything.close();
      await hosts.close();
    }
  });

  it('splits by the plan caps: 30 files off Enterprise, 500 on it, tags by 100', async () => {
    const free = await rig();
    const enterprise = await rig({ plan: 'enterprise' }, { plan: 'enterprise' });
    try {
      const urls = Array.from({ length: 70 }, (_, i) => `https://www.example.com/${i}`);
      const tags = Array.from({ length: 150 }, (_, i) => `t${i}`);
      expect(free.provider.capabilities).toMatchObject({ maxItemsPerCall: 30, maxTagsPerCall: 100 });
      expect(free.provider.toBatches({ urls, dirs: [] }).map((b) => b.urls.length)).toEqual([30, 30, 10]);
      expect(free.provider.toBatches({ ...empty, tags }).map((b) => b.tags?.length)).toEqual([100, 50]);
      expect(enterprise.provider.capabilities.maxItemsPerCall).toBe(100);
      expect(enterprise.provider.toBatches({ urls, dirs: [] })).toHaveLength(1);
      // A batch bigger than one call (coalesced, or planned under other caps) is several calls.
      await enterprise.provider.submit({ urls, dirs: [], tags });
      expect(enterprise.submits().map((s) => Object.keys(s.body as object)[0])).toEqual([
        'files',
        'tags',
        'tags',
      ]);
    } finally {
      await free.close();
      await enterprise.close();
    }
  });

  it('splits and resends a call the zone refuses as too many items, and remembers the smaller cap', async () => {
    const r = await rig({ caps: { files: 10 } });
    try {
      const urls = Array.from({ length: 25 }, (_, i) => `https://www.example.com/${i}`);
      await r.provider.submit({ urls, dirs: [] });
      // 25 refused ("No more than 10"), then 10 + 10 + 5.
      expect(r.submits().map((s) => (s.body as { files: string[] }).files.length)).toEqual([25, 10, 10, 5]);
      expect(r.sim.purges).toHaveLength(3);
      await r.provider.submit({ urls: urls.slice(0, 20), dirs: [] });
      expect(
        r
          .submits()
          .slice(4)
          .map((s) => (s.body as { files: string[] }).files.length),
      ).toEqual([10, 10]);
    } finally {
      await r.close();
    }
  });

  it('reads an exhausted bucket as a 429 with Retry-After, and rate headers on success', async () => {
    let now = 1_000_000;
    const r = await rig({ buckets: { flex: { size: 2, perSecond: 0.1 } }, now: () => now });
    try {
      const first = await r.provider.submit({ ...empty, tags: ['a'] });
      expect(first.rateLimit).toEqual({ remaining: 1, resetAfterMs: 10_000 });
      const second = await r.provider.submit({ ...empty, tags: ['b'] });
      expect(second.rateLimit).toEqual({ remaining: 0, resetAfterMs: 10_000 });
      const limited = await r.provider.submit({ ...empty, tags: ['c'] }).catch((e: unknown) => e);
      expect(limited).toMatchObject({
        code: 'CDN_RATE_LIMITED',
        retryable: true,
        httpStatus: 429,
        retryAfterMs: 10_000,
      });
      now += 10_000;
      await expect(r.provider.submit({ ...empty, tags: ['c'] })).resolves.toMatchObject({
        rateLimit: { remaining: 0 },
      });
    } finally {
      await r.close();
    }
  });

  it('reads a 429 from another layer: its Retry-After when given, else no wait of its own', async () => {
    const r = await rig();
    try {
      r.sim.faults.inject('submit', {
        kind: 'status',
        status: 429,
        body: cloudflareErrorBody(971, 'Please wait and consider throttling your request speed'),
      });
      // No Retry-After and no Ratelimit header: the pipeline's backoff decides (the fallback on `t=`: mapping test).
      await expect(
        r.provider.submit({ urls: ['https://www.example.com/a'], dirs: [] }),
      ).rejects.toMatchObject({
        code: 'CDN_RATE_LIMITED',
        retryAfterMs: undefined,
      });
      r.sim.faults.inject('submit', { kind: 'status', status: 429, retryAfter: '7' });
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

  it('reads HTTP 200 with success: false as a refusal, not an acceptance', async () => {
    const r = await rig();
    try {
      r.sim.faults.inject('submit', {
        kind: 'status',
        status: 200,
        body: cloudflareErrorBody(1099, 'Purge failed'),
      });
      await expect(
        r.provider.submit({ urls: ['https://www.example.com/a'], dirs: [] }),
      ).rejects.toMatchObject({
        code: 'CDN_REJECTED',
        retryable: false,
        message: expect.stringContaining('1099 Purge failed'),
      });
    } finally {
      await r.close();
    }
  });

  it('refuses a token without the zone (403) and an unknown zone (404) permanently, never echoing the token', async () => {
    const other = 'b'.repeat(32);
    const r = await rig({
      zones: [DEFAULT_CLOUDFLARE_ZONE, other],
      tokens: [{ token: DEFAULT_CLOUDFLARE_TOKEN, zones: [other] }],
    });
    const unknownZone = await rig({}, { zoneId: 'c'.repeat(32) });
    try {
      const refused = await r.provider
        .submit({ urls: ['https://www.example.com/a'], dirs: [] })
        .catch((e: unknown) => e);
      expect(refused).toMatchObject({ code: 'CDN_AUTH', retryable: false, httpStatus: 403 });
      expect((refused as Error).message).toContain('10000 Authentication error');
      const lost = await unknownZone.provider
        .submit({ urls: ['https://www.example.com/a'], dirs: [] })
        .catch((e: unknown) => e);
      expect(lost).toMatchObject({ code: 'CDN_NOT_FOUND', retryable: false, httpStatus: 404 });
      const wrong = await r.badCredentials
        .submit({ urls: ['https://www.example.com/a'], dirs: [] })
        .catch((e: unknown) => e);
      expect(wrong).toMatchObject({ code: 'CDN_AUTH', httpStatus: 401 });
      for (const error of [refused, lost, wrong]) {
        expect((error as Error).message).not.toContain(DEFAULT_CLOUDFLARE_TOKEN);
        expect((error as Error).message).not.toContain('not-the-token');
      }
    } finally {
      await r.close();
      await unknownZone.close();
    }
  });

  it('says how many calls were accepted before the one that failed', async () => {
    const r = await rig();
    try {
      r.sim.faults.inject('submit', {
        kind: 'status',
        status: 200,
        body: '{"success":true,"errors":[],"result":{"id":"x"}}',
      });
      r.sim.faults.inject('submit', { kind: 'status', status: 503 });
      const error = await r.provider
        .submit({ urls: ['https://www.example.com/a'], dirs: ['https://www.example.com/b/'] })
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'CDN_UNAVAILABLE', retryable: true });
      expect((error as Error).message).toContain('call 2 of 2; 1 accepted before it');
    } finally {
      await r.close();
    }
  });

  it('reads a truncated answer as transient, and refuses a dir Cloudflare cannot take before sending', async () => {
    const r = await rig();
    try {
      r.sim.faults.inject('submit', { kind: 'truncate' });
      await expect(
        r.provider.submit({ urls: ['https://www.example.com/a'], dirs: [] }),
      ).rejects.toMatchObject({
        retryable: true,
      });
      const deep = `https://www.example.com/${'d/'.repeat(31)}`;
      expect(() => r.provider.toBatches({ urls: [], dirs: [deep] })).toThrow(
        expect.objectContaining({ code: 'REQUEST_INVALID' }),
      );
      expect(r.submits()).toHaveLength(1);
    } finally {
      await r.close();
    }
  });

  it('checks the token through /user/tokens/verify', async () => {
    const r = await rig({ tokens: [{ token: DEFAULT_CLOUDFLARE_TOKEN, status: 'disabled' }] });
    try {
      // A disabled token: verify answers, but not "active".
      expect(await r.provider.check()).toMatchObject({
        ok: false,
        detail: expect.stringContaining('disabled'),
      });
      expect(r.sim.requests.map((q) => q.path)).toEqual(['/client/v4/user/tokens/verify']);
    } finally {
      await r.close();
    }
  });
});
