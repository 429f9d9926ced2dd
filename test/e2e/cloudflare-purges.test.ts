import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CloudflareSimulator,
  DEFAULT_CLOUDFLARE_TOKEN,
  DEFAULT_CLOUDFLARE_ZONE,
  startCloudflareSimulator,
} from '../../src/simulator/cloudflare.ts';
import { expectRefusedCredentials, expectRetriedThenSucceeded } from '../harness/cdn-e2e.ts';
import { purgeThrough, startTestService, type TestService, testConfigInput } from '../harness/service.ts';

describe('a purge through Cloudflare', () => {
  let sim: CloudflareSimulator;
  let service: TestService;

  beforeAll(async () => {
    // The zone takes 2 files per call (the provider is configured for the free plan's 30), and its
    // tags/hosts/prefixes bucket holds 5 and refills one a second, so a drained bucket's wait is 1 s.
    sim = await startCloudflareSimulator({
      caps: { files: 2 },
      buckets: { flex: { size: 5, perSecond: 1 } },
    });
    const entry = (id: string, apiToken: string) => ({
      id,
      provider: 'cloudflare',
      baseUrl: sim.url,
      zoneId: DEFAULT_CLOUDFLARE_ZONE,
      apiToken,
    });
    const cdns = [
      entry('cf', DEFAULT_CLOUDFLARE_TOKEN),
      entry('cf-locked', 'a-token-cloudflare-never-issued'),
    ];
    service = startTestService(
      testConfigInput('http://127.0.0.1:1', { routes: [{ hosts: ['*.example.com'], cdns: ['cf'] }] }, cdns),
    );
  });
  afterAll(async () => {
    await service.close();
    await sim.close();
  });

  const submits = () => sim.requests.filter((r) => r.op === 'submit');

  it('succeeds at acceptance, one kind per call, without asking Cloudflare again', async () => {
    sim.cache.put('https://www.example.com/news/a.html');
    sim.cache.put('https://www.example.com/sport/live.html?minute=12');
    sim.cache.put('https://www.example.com/weather.html');
    const { status, sent } = await purgeThrough(service, () => submits(), {
      urls: ['https://www.example.com/news/a.html'],
      dirs: ['https://www.example.com/sport/'],
    });

    expect(status.state).toBe('succeeded');
    for (const batch of status.batches) {
      expect(batch).toMatchObject({
        cdnId: 'cf',
        state: 'succeeded',
        attempts: 1,
        polls: 0,
        completion: expect.stringContaining('Cloudflare has no purge status'),
        remoteId: expect.stringMatching(/^cloudflare:[12]c:[0-9a-f]{32}/),
      });
    }
    // Coalesced or not, each kind went in a call of its own: two calls in all, whatever the batches.
    const calls = status.batches.map((batch) => Number(/^cloudflare:(\d)c:/.exec(batch.remoteId ?? '')?.[1]));
    expect(calls.reduce((sum, n) => sum + n, 0)).toBe(2);
    expect(sent.map((r) => r.body)).toEqual(
      expect.arrayContaining([
        { files: ['https://www.example.com/news/a.html'] },
        { prefixes: ['www.example.com/sport/'] },
      ]),
    );
    expect(sent.length).toBe(2);
    expect(sim.requests.every((r) => r.op === 'submit')).toBe(true);
    expect(sim.cache.has('https://www.example.com/news/a.html')).toBe(false);
    expect(sim.cache.has('https://www.example.com/sport/live.html?minute=12')).toBe(false);
    expect(sim.cache.has('https://www.example.com/weather.html')).toBe(true);
  });

  it("splits a call the zone refuses as too many files into calls it takes, and refuses a prefix Cloudflare can't take at once", async () => {
    const urls = Array.from({ length: 5 }, (_, i) => `https://www.example.com/many/${i}.html`);
    for (const url of urls) sim.cache.put(url);
    const { status, sent } = await purgeThrough(service, () => submits(), { urls });

    expect(status.state).toBe('succeeded');
    expect(status.batches).toHaveLength(1);
    expect(status.batches[0]).toMatchObject({
      attempts: 1,
      remoteId: expect.stringMatching(/^cloudflare:3c:/),
    });
    // 5 refused ("No more than 2 files"), then 2 + 2 + 1.
    const sizes = sent.map((r) => (r.body as { files: string[] }).files.length);
    expect(sizes).toEqual([5, 2, 2, 1]);
    expect(urls.some((url) => sim.cache.has(url))).toBe(false);

    const deep = `https://www.example.com/${'d/'.repeat(31)}`;
    await expect(service.runtime.producer.enqueuePurge({ dirs: [deep] })).rejects.toMatchObject({
      code: 'REQUEST_INVALID',
      message: expect.stringContaining('more than 31'),
    });
  });

  it('waits out a 429 for its Retry-After, then succeeds', async () => {
    sim.buckets.flex.drain(Date.now());
    sim.cache.put('https://www.example.com/tagged/x.html');
    const { status, sent } = await purgeThrough(service, () => submits(), {
      dirs: ['https://www.example.com/tagged/'],
    });

    expect(status.state).toBe('succeeded');
    const [limited, accepted] = sent;
    expect(sent.length).toBe(2);
    // The retry came no sooner than the Retry-After (1 s) the 429 asked for.
    expect((accepted?.at ?? 0) - (limited?.at ?? 0)).toBeGreaterThanOrEqual(950);
    expect(sim.purges.at(-1)?.purge).toEqual({ field: 'prefixes', items: ['www.example.com/tagged/'] });
    expect(sim.cache.has('https://www.example.com/tagged/x.html')).toBe(false);
  });

  it('retries a 503', async () => {
    sim.faults.inject('submit', { kind: 'status', status: 503 });
    await expectRetriedThenSucceeded(
      service,
      () => submits(),
      () => sim.faults.pending(),
    );
  });

  it('fails at once, without retrying, when Cloudflare refuses the token', async () => {
    await expectRefusedCredentials(service, () => submits(), 'cf-locked', {
      answer: /HTTP 401 — 10000 Authentication error/,
      secret: 'a-token-cloudflare-never-issued',
    });
  });
});
