import { describe, expect, it } from 'vitest';
import { akamaiCdnSchema } from '../../src/config/schema.ts';
import type { PurgeTarget } from '../../src/model/purge.ts';
import { createAkamaiProvider } from '../../src/providers/akamai/provider.ts';
import {
  type AkamaiSimulatorOptions,
  DEFAULT_AKAMAI_CLIENT,
  internalErrorFault,
  startAkamaiSimulator,
  wafBurstFault,
} from '../../src/simulator/akamai.ts';
import type { FaultInjector } from '../../src/simulator/faults.ts';
import { providerTestClient } from '../harness/provider-http.ts';
import { runProviderContract } from './contract.ts';

const http = providerTestClient;

async function rig(options: AkamaiSimulatorOptions = {}, entry: Record<string, unknown> = {}) {
  const sim = await startAkamaiSimulator(options);
  const client = http();
  const config = (overrides: Record<string, unknown>) =>
    akamaiCdnSchema.parse({
      id: 'akamai',
      provider: 'akamai',
      baseUrl: sim.url,
      ...DEFAULT_AKAMAI_CLIENT,
      allCpCodes: [12345, 98765],
      ...entry,
      ...overrides,
    });
  return {
    sim,
    config,
    make: (overrides: Record<string, unknown> = {}) =>
      createAkamaiProvider(config(overrides), { http: client }),
    provider: createAkamaiProvider(config({}), { http: client }),
    badCredentials: createAkamaiProvider(
      config({ clientSecret: 'bm90LXRoZS1jbGllbnQtc2VjcmV0LW9mLXRoaXMtYWNjb3VudA==' }),
      {
        http: client,
      },
    ),
    faults: sim.faults as unknown as FaultInjector<'submit' | 'status' | 'list'>,
    finishTasks: () => {},
    close: async () => {
      await client.close();
      await sim.close();
    },
  };
}

const URL_BATCH: PurgeTarget = { urls: ['https://www.example.com/a.jpg'], dirs: [] };

runProviderContract({
  name: 'Akamai',
  start: () => rig(),
  targets: {
    urls: { urls: ['https://www.example.com/a.jpg', 'https://www.example.com/b?x=1'], dirs: [] },
    tags: { urls: [], dirs: [], tags: ['product-42', 'home'] },
    all: { urls: [], dirs: [], all: true },
  },
  refused: [
    { kind: 'dirs', target: { urls: [], dirs: ['https://www.example.com/news/'] } },
    { kind: 'pattern', target: { urls: [], dirs: [], pattern: '\\.jpg$' } },
  ],
  completesAtSubmit: true,
});

describe('Akamai provider specifics', () => {
  it('posts a signed invalidate/url on production and is done estimatedSeconds after acceptance', async () => {
    const r = await rig();
    try {
      const result = await r.provider.submit(URL_BATCH);
      const [request] = r.sim.requests;
      expect(request).toMatchObject({
        op: 'submit',
        method: 'POST',
        path: '/ccu/v3/invalidate/url/production',
        authorized: true,
        body: { objects: ['https://www.example.com/a.jpg'] },
      });
      const [purge] = r.sim.purges;
      expect(result.remoteId).toBe(`akamai:${purge?.purgeId}:${purge?.supportId}`);
      expect(result.requestId).toBe(purge?.supportId);
      expect(result.doneAtAcceptance).toEqual({
        afterMs: 5000,
        note: expect.stringContaining('no status endpoint'),
      });
      // The request bucket's headers: 100 less this call, refilling one token per 20 ms.
      expect(result.rateLimit).toEqual({ remaining: 99, resetAfterMs: 20 });
      expect(await r.provider.status(result.remoteId)).toEqual({ state: 'succeeded', progress: 100 });
      expect(r.sim.requests).toHaveLength(1);
    } finally {
      await r.close();
    }
  });

  it('purges with delete on staging when so configured; soft: true is invalidate, false is delete', async () => {
    const r = await rig();
    try {
      await r.make({ action: 'delete', network: 'staging' }).submit(URL_BATCH);
      await r.make({ soft: false }).submit(URL_BATCH);
      await r.make({ soft: true }).submit(URL_BATCH);
      expect(r.sim.purges.map((p) => `${p.action}/${p.network}`)).toEqual([
        'delete/staging',
        'delete/production',
        'invalidate/production',
      ]);
      expect(() => r.make({ action: 'delete', soft: true })).toThrow(
        expect.objectContaining({ code: 'CONFIG_INVALID' }),
      );
    } finally {
      await r.close();
    }
  });

  it('purges cache tags by tag, and all as the configured CP codes (integers)', async () => {
    const r = await rig();
    try {
      await r.provider.submit({ urls: [], dirs: [], tags: ['product-42', 'home'] });
      await r.provider.submit({ urls: [], dirs: [], all: true });
      expect(r.sim.requests.map((q) => [q.path, q.body])).toEqual([
        ['/ccu/v3/invalidate/tag/production', { objects: ['product-42', 'home'] }],
        ['/ccu/v3/invalidate/cpcode/production', { objects: [12345, 98765] }],
      ]);
      const hostless = r.make({ allCpCodes: undefined });
      expect(() => hostless.toBatches({ urls: [], dirs: [], all: true })).toThrow(
        expect.objectContaining({
          code: 'KIND_UNSUPPORTED',
          message: expect.stringContaining('CDN akamai (akamai)'),
        }),
      );
    } finally {
      await r.close();
    }
  });

  it('sends a coalesced batch of URLs and tags as one call of each type, both ids in the remote id', async () => {
    const r = await rig();
    try {
      const result = await r.provider.submit({ urls: ['https://www.example.com/a'], dirs: [], tags: ['t'] });
      expect(r.sim.purges.map((p) => p.type)).toEqual(['url', 'tag']);
      expect(result.remoteId).toBe(
        `akamai:${r.sim.purges.map((p) => `${p.purgeId}:${p.supportId}`).join(',')}`,
      );
      expect(await r.provider.status(result.remoteId)).toMatchObject({ state: 'succeeded' });
    } finally {
      await r.close();
    }
  });

  it('cuts many URLs into calls of at most 50,000 bytes, each accepted by the simulator', async () => {
    const r = await rig();
    try {
      const urls = Array.from(
        { length: 900 },
        (_, i) => `https://www.example.com/${'p'.repeat(100)}/${i}.html`,
      );
      const batches = r.provider.toBatches({ urls, dirs: [] });
      expect(batches.length).toBe(3);
      for (const batch of batches) await r.provider.submit(batch);
      expect(r.sim.purges.every((p) => p.bytes <= 50_000)).toBe(true);
      expect(r.sim.purges.flatMap((p) => p.objects)).toEqual(urls);
      expect(r.sim.requests.every((q) => q.authorized)).toBe(true);
    } finally {
      await r.close();
    }
  });

  it('reads 413 (body over the limit) as a permanent rejection', async () => {
    const r = await rig({ maxBodyBytes: 2_000 });
    try {
      const urls = Array.from({ length: 40 }, (_, i) => `https://www.example.com/${'q'.repeat(60)}/${i}`);
      const [batch] = r.provider.toBatches({ urls, dirs: [] });
      await expect(r.provider.submit(batch as PurgeTarget)).rejects.toMatchObject({
        code: 'CDN_REJECTED',
        retryable: false,
        httpStatus: 413,
        message: expect.stringContaining('exceeds the 2,000 byte limit'),
      });
    } finally {
      await r.close();
    }
  });

  it('reads a 429 of the URL bucket as rate limited, waiting what the bucket needs, tokens untouched', async () => {
    const at = Date.now();
    const r = await rig({ now: () => at });
    try {
      r.sim.drain('url');
      const urls = ['https://www.example.com/1', 'https://www.example.com/2', 'https://www.example.com/3'];
      const error = await r.provider.submit({ urls, dirs: [] }).catch((e: unknown) => e);
      // Three URL tokens short at 200 a second: 15 ms.
      expect(error).toMatchObject({
        code: 'CDN_RATE_LIMITED',
        retryable: true,
        httpStatus: 429,
        retryAfterMs: 15,
      });
      expect((error as Error).message).toContain('URL Rate Limit exceeded');
      expect(r.sim.tokens('requests')).toBe(100);
    } finally {
      await r.close();
    }
  });

  it('reads a 429 of the request bucket as one request token away, and a Retry-After if one is sent', async () => {
    const at = Date.now();
    const r = await rig({ now: () => at });
    try {
      r.sim.drain('requests');
      await expect(r.provider.submit(URL_BATCH)).rejects.toMatchObject({
        code: 'CDN_RATE_LIMITED',
        retryAfterMs: 20,
      });
      expect(r.sim.tokens('url')).toBe(10_000);
      r.sim.faults.inject('submit', { kind: 'status', status: 429, retryAfter: '7' });
      await expect(r.provider.submit(URL_BATCH)).rejects.toMatchObject({ retryAfterMs: 7000 });
    } finally {
      await r.close();
    }
  });

  it('reads a wrong secret (401 from the gateway) as permanent CDN_AUTH without leaking the secret', async () => {
    const r = await rig();
    try {
      const error = await r.badCredentials.submit(URL_BATCH).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'CDN_AUTH', retryable: false, httpStatus: 401 });
      expect((error as Error).message).toContain('The signature does not match');
      expect((error as Error).message).not.toContain('bm90LXRoZS1j');
      const stranger = r.make({ clientToken: 'akab-someone-else' });
      await expect(stranger.submit(URL_BATCH)).rejects.toMatchObject({
        code: 'CDN_AUTH',
        message: expect.stringContaining('Invalid authorization client token'),
      });
      expect(r.sim.purges).toHaveLength(0);
    } finally {
      await r.close();
    }
  });

  it('reads 403 "unauthorized arl" as permanent, naming the object', async () => {
    const r = await rig({ unauthorizedHosts: ['other.example.net'] });
    try {
      const batch = { urls: ['https://www.example.com/a', 'https://other.example.net/b'], dirs: [] };
      await expect(r.provider.submit(batch)).rejects.toMatchObject({
        code: 'CDN_AUTH',
        retryable: false,
        httpStatus: 403,
        message: expect.stringContaining('https://other.example.net/b'),
      });
    } finally {
      await r.close();
    }
  });

  it('reads problem+json 500s as transient and a WAF 400 as a permanent refusal with its reason', async () => {
    const r = await rig();
    try {
      r.sim.faults.inject('submit', internalErrorFault(500));
      await expect(r.provider.submit(URL_BATCH)).rejects.toMatchObject({
        code: 'CDN_UNAVAILABLE',
        retryable: true,
        message: expect.stringContaining('Internal Server Error: If problem persists'),
      });
      r.sim.faults.inject('submit', internalErrorFault(507));
      await expect(r.provider.submit(URL_BATCH)).rejects.toMatchObject({ code: 'CDN_UNAVAILABLE' });
      r.sim.faults.inject('submit', wafBurstFault());
      await expect(r.provider.submit(URL_BATCH)).rejects.toMatchObject({
        code: 'CDN_REJECTED',
        retryable: false,
        message: expect.stringContaining('web application firewall'),
      });
    } finally {
      await r.close();
    }
  });

  it('caps an absurd estimatedSeconds, and says so', async () => {
    const r = await rig({ estimatedSeconds: 86_400 });
    try {
      const { doneAtAcceptance } = await r.provider.submit(URL_BATCH);
      expect(doneAtAcceptance?.afterMs).toBe(300_000);
      expect(doneAtAcceptance?.note).toContain('estimatedSeconds 86400, capped');
    } finally {
      await r.close();
    }
  });

  it('signs the accountSwitchKey query with the path', async () => {
    const r = await rig();
    try {
      await r.make({ accountSwitchKey: '1-5C0YLB:1-8BYUX' }).submit(URL_BATCH);
      expect(r.sim.requests[0]).toMatchObject({
        path: '/ccu/v3/invalidate/url/production?accountSwitchKey=1-5C0YLB%3A1-8BYUX',
        authorized: true,
      });
    } finally {
      await r.close();
    }
  });

  it('fails permanently on an acceptance without a usable purgeId', async () => {
    const r = await rig();
    try {
      r.sim.faults.inject('submit', {
        kind: 'status',
        status: 201,
        body: JSON.stringify({ httpStatus: 201, estimatedSeconds: 5, detail: 'Request accepted' }),
      });
      await expect(r.provider.submit(URL_BATCH)).rejects.toMatchObject({
        code: 'CDN_BAD_RESPONSE',
        retryable: false,
      });
    } finally {
      await r.close();
    }
  });

  it('checks credentials with rate-limit-status, purging nothing', async () => {
    const r = await rig();
    try {
      expect(await r.provider.check()).toEqual({
        ok: true,
        detail: 'credentials accepted (production); tokens left: 100 requests, 10000 URL objects',
      });
      expect(await r.badCredentials.check()).toMatchObject({
        ok: false,
        detail: expect.stringContaining('401'),
      });
      expect(r.sim.requests.map((q) => [q.op, q.path])).toEqual([
        ['status', '/ccu/v3/rate-limit-status/url'],
        ['status', '/ccu/v3/rate-limit-status/url'],
      ]);
      expect(r.sim.purges).toHaveLength(0);
    } finally {
      await r.close();
    }
  });
});
