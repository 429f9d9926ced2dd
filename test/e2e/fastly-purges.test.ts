import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_FASTLY_SERVICE,
  DEFAULT_FASTLY_TOKEN,
  type FastlySimulator,
  startFastlySimulator,
} from '../../src/simulator/fastly.ts';
import { expectRefusedCredentials, expectRetriedThenSucceeded } from '../harness/cdn-e2e.ts';
import { purgeThrough, startTestService, type TestService, testConfigInput } from '../harness/service.ts';

describe('a purge through Fastly', () => {
  let sim: FastlySimulator;
  let service: TestService;

  beforeAll(async () => {
    // purge_all counts against a per-token window of one second here (Fastly's is an hour), so a spent
    // window's wait (until Fastly-RateLimit-Reset, in whole seconds) is one to two seconds.
    sim = await startFastlySimulator({
      urlPurgeRequiresAuth: true,
      rateLimit: { limit: 100, windowMs: 1_000 },
    });
    const entry = (id: string, token: string) => ({
      id,
      provider: 'fastly',
      baseUrl: sim.url,
      serviceId: DEFAULT_FASTLY_SERVICE,
      token,
      // URL and key purges keep Fastly's 150 ms; purge_all's 20 s is shortened for the test.
      settleMs: { purgeAll: 200 },
    });
    const cdns = [entry('fastly', DEFAULT_FASTLY_TOKEN), entry('fastly-locked', 'a-key-fastly-never-issued')];
    service = startTestService(
      testConfigInput(
        'http://127.0.0.1:1',
        { routes: [{ hosts: ['*.example.com'], cdns: ['fastly'] }] },
        cdns,
      ),
    );
  });
  afterAll(async () => {
    await service.close();
    await sim.close();
  });

  const submits = () => sim.requests.filter((r) => r.op === 'submit');

  it('succeeds at acceptance, one call per URL and one for the keys, without asking Fastly again', async () => {
    sim.cache.put('www.example.com', '/news/a.html');
    sim.cache.put('img.example.com', '/logo.png?v=3');
    sim.cache.put('www.example.com', '/p/42', ['product-42']);
    sim.cache.put('www.example.com', '/weather.html');
    const { status, sent } = await purgeThrough(service, () => submits(), {
      urls: ['https://www.example.com/news/a.html', 'https://img.example.com/logo.png?v=3'],
      tags: ['product-42'],
      cdns: ['fastly'],
    });

    expect(status.state).toBe('succeeded');
    for (const batch of status.batches) {
      expect(batch).toMatchObject({
        cdnId: 'fastly',
        state: 'succeeded',
        attempts: 1,
        polls: 0,
        completion: expect.stringMatching(
          /^Fastly has no status endpoint: \d purge call\(s\) accepted; .*150 ms/,
        ),
        remoteId: expect.stringMatching(/^fastly:\d+-\d+-\d{6}/),
      });
    }
    expect(sent.map((r) => r.path).sort()).toEqual([
      '/purge/img.example.com/logo.png?v=3',
      '/purge/www.example.com/news/a.html',
      `/service/${DEFAULT_FASTLY_SERVICE}/purge`,
    ]);
    expect(sim.requests.every((r) => r.op === 'submit')).toBe(true);
    expect(sim.cache.has('www.example.com', '/news/a.html')).toBe(false);
    expect(sim.cache.has('img.example.com', '/logo.png?v=3')).toBe(false);
    expect(sim.cache.has('www.example.com', '/p/42')).toBe(false);
    expect(sim.cache.has('www.example.com', '/weather.html')).toBe(true);
  });

  it('keeps to 256 surrogate keys a call, and fails at once on the 400 Fastly refuses a call with', async () => {
    const tags = Array.from({ length: 300 }, (_, i) => `key-${i}`);
    const { status, sent } = await purgeThrough(service, () => submits(), { tags, cdns: ['fastly'] });

    expect(status.state).toBe('succeeded');
    const sizes = sent
      .map((r) => ((r.body as { json: { surrogate_keys: string[] } }).json.surrogate_keys ?? []).length)
      .sort((a, b) => b - a);
    expect(sizes[0]).toBeLessThanOrEqual(256);
    expect(sizes.reduce((sum, n) => sum + n, 0)).toBe(300);

    sim.faults.inject('submit', {
      kind: 'status',
      status: 400,
      body: '{"msg":"Bad request","detail":"Too many surrogate keys"}',
    });
    const refusedFrom = submits().length;
    const refused = await service.runtime.producer.enqueuePurge({ tags: ['one'], cdns: ['fastly'] });
    const failed = await service.waitForFinish(refused.id);
    expect(failed.state).toBe('failed');
    expect(failed.batches[0]).toMatchObject({ attempts: 1, errorCode: 'CDN_REJECTED' });
    expect(failed.batches[0]?.error).toContain('Bad request: Too many surrogate keys');
    expect(submits().length - refusedFrom).toBe(1);
  });

  it('waits out a 429 until Fastly-RateLimit-Reset, then succeeds', async () => {
    sim.exhaustRateWindow();
    const { resetAt } = sim.rateWindow();
    sim.cache.put('www.example.com', '/everything.html');
    const { status, sent } = await purgeThrough(service, () => submits(), { all: true, cdns: ['fastly'] });

    expect(status.state).toBe('succeeded');
    const [limited, accepted] = sent;
    expect(sent.length).toBe(2);
    expect(limited?.path).toBe(`/service/${DEFAULT_FASTLY_SERVICE}/purge_all`);
    // The retry came no sooner than the window's reset the 429's headers named.
    expect(accepted?.at ?? 0).toBeGreaterThanOrEqual(resetAt - 50);
    expect(status.batches[0]).toMatchObject({
      state: 'succeeded',
      polls: 0,
      completion: expect.stringContaining('purge_all accepted'),
    });
    expect(sim.purges.at(-1)).toMatchObject({ kind: 'all', soft: false });
    expect(sim.cache.size).toBe(0);
  });

  it('retries a 503', async () => {
    sim.faults.inject('submit', { kind: 'status', status: 503 });
    await expectRetriedThenSucceeded(
      service,
      () => submits(),
      () => sim.faults.pending(),
    );
  });

  it('fails at once, without retrying, when Fastly refuses the key', async () => {
    await expectRefusedCredentials(service, () => submits(), 'fastly-locked', {
      answer: 'Provided credentials are missing or invalid',
      secret: 'a-key-fastly-never-issued',
    });
  });
});
