import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CloudFrontSimulator,
  DEFAULT_CLOUDFRONT_ACCOUNT,
  DEFAULT_DISTRIBUTION_ID,
  SERVICE_UNAVAILABLE_FAULT,
  startCloudFrontSimulator,
  THROTTLING_FAULT,
} from '../../src/simulator/cloudfront.ts';
import { startTestService, type TestService, testConfigInput } from '../harness/service.ts';

const WRONG_SECRET = 'a-secret-access-key-aws-never-issued';

describe('a purge through CloudFront', () => {
  let sim: CloudFrontSimulator;
  let service: TestService;

  beforeAll(async () => {
    sim = await startCloudFrontSimulator({ invalidationDurationMs: 150 });
    const entry = (id: string, secretAccessKey: string) => ({
      id,
      provider: 'cloudfront',
      baseUrl: sim.url,
      distributionId: DEFAULT_DISTRIBUTION_ID,
      accessKeyId: DEFAULT_CLOUDFRONT_ACCOUNT.accessKeyId,
      secretAccessKey,
      // Short waits, so the test does not sit through CloudFront-sized ones.
      busyRetryAfterMs: 200,
      throttleRetryAfterMs: 1_000,
    });
    const cdns = [entry('cf', DEFAULT_CLOUDFRONT_ACCOUNT.secretAccessKey), entry('cf-locked', WRONG_SECRET)];
    service = startTestService(
      testConfigInput(
        'http://127.0.0.1:1',
        {
          routes: [{ hosts: ['*.example.com'], cdns: ['cf'] }],
          policy: {
            submit: { attempts: 6, initialIntervalMs: 20, maxIntervalMs: 200, jitter: 0 },
            poll: { initialIntervalMs: 20, maxIntervalMs: 100, jitter: 0, deadlineMs: 20_000 },
            http: {
              connectTimeoutMs: 1_000,
              headersTimeoutMs: 1_000,
              bodyTimeoutMs: 1_000,
              totalTimeoutMs: 2_000,
            },
          },
        },
        cdns,
      ),
    );
  });
  afterAll(async () => {
    await service.close();
    await sim.close();
  });

  const submits = () => sim.requests.filter((r) => r.op === 'submit');
  const busy = () => sim.refusals.filter((r) => r.code === 'TooManyInvalidationsInProgress').length;

  it('submits the paths, polls the invalidation until Completed, and succeeds', async () => {
    const before = submits().length;
    const { id } = await service.runtime.producer.enqueuePurge({
      urls: ['https://www.example.com/news/a.html?x=1'],
      dirs: ['https://www.example.com/sport/'],
    });
    const status = await service.waitForFinish(id);

    expect(status.state).toBe('succeeded');
    expect(status.batches).toHaveLength(1);
    const [batch] = status.batches;
    expect(batch).toMatchObject({ cdnId: 'cf', state: 'succeeded', attempts: 1 });
    expect(batch?.polls).toBeGreaterThanOrEqual(1);
    const invalidation = sim.invalidation(batch?.remoteId ?? '');
    expect(invalidation).toMatchObject({ status: 'Completed', paths: ['/news/a.html?x=1', '/sport/*'] });
    expect(submits().length - before).toBe(1);
  });

  it('waits while the in-progress budget is full (CDN_BUSY) and then succeeds, for a purge bigger than the budget', async () => {
    // One purge in progress (it completes only when the test says so), then one of 3,500 URLs: more than
    // the 3,000 paths CloudFront lets be in progress at once, even alone.
    sim.setInvalidationDuration(3_600_000);
    const first = await service.runtime.producer.enqueuePurge({
      urls: Array.from({ length: 100 }, (_, i) => `https://www.example.com/first/${i}.html`),
    });
    await sim.waitForRequest('status', sim.requests.filter((r) => r.op === 'status').length + 1);
    const busyBefore = busy();
    const urls = Array.from({ length: 3500 }, (_, i) => `https://www.example.com/big/${i}.html`);
    const big = await service.runtime.producer.enqueuePurge({ urls });
    // CloudFront refused a batch of it for the budget: let every invalidation in progress complete now.
    await sim.waitForRefusal('TooManyInvalidationsInProgress', busyBefore + 1);
    sim.setInvalidationDuration(0);

    expect((await service.waitForFinish(first.id)).state).toBe('succeeded');
    const status = await service.waitForFinish(big.id);
    expect(status.state).toBe('succeeded');
    expect(status.batches.every((b) => b.state === 'succeeded')).toBe(true);
    expect(busy()).toBeGreaterThan(busyBefore);
    const sent = new Set(sim.invalidations.flatMap((i) => i.paths));
    expect(urls.every((url) => sent.has(new URL(url).pathname))).toBe(true);
    // No invalidation ever held more than the budget.
    expect(Math.max(...sim.invalidations.map((i) => i.paths.length))).toBeLessThanOrEqual(3000);
    sim.setInvalidationDuration(150);
  });

  it('waits out Throttling (a 400 with no Retry-After) for the configured time, then succeeds', async () => {
    sim.faults.inject('submit', THROTTLING_FAULT);
    const before = submits().length;
    const { id } = await service.runtime.producer.enqueuePurge({
      urls: ['https://www.example.com/throttled.html'],
    });
    const status = await service.waitForFinish(id);

    expect(status.state).toBe('succeeded');
    const [limited, accepted] = submits().slice(before);
    expect(submits().length - before).toBe(2);
    // The retry came no sooner than throttleRetryAfterMs (1 s) asked.
    expect((accepted?.at ?? 0) - (limited?.at ?? 0)).toBeGreaterThanOrEqual(950);
  });

  it('retries a 503 ServiceUnavailable', async () => {
    sim.faults.inject('submit', SERVICE_UNAVAILABLE_FAULT);
    const before = submits().length;
    const { id } = await service.runtime.producer.enqueuePurge({
      urls: ['https://www.example.com/retry.html'],
    });
    const status = await service.waitForFinish(id);

    expect(status.state).toBe('succeeded');
    expect(status.batches[0]).toMatchObject({ state: 'succeeded', attempts: 2 });
    expect(submits().length - before).toBe(2);
    expect(sim.faults.pending()).toBe(0);
  });

  it('fails at once, without retrying, when CloudFront refuses the signature', async () => {
    const before = submits().length;
    const { id } = await service.runtime.producer.enqueuePurge({
      urls: ['https://www.example.com/a.html'],
      cdns: ['cf-locked'],
    });
    const status = await service.waitForFinish(id);

    expect(status.state).toBe('failed');
    expect(status.batches[0]).toMatchObject({
      cdnId: 'cf-locked',
      state: 'failed',
      attempts: 1,
      errorCode: 'CDN_AUTH',
    });
    expect(status.batches[0]?.error).toMatch(/SignatureDoesNotMatch \(HTTP 403\)/);
    expect(status.batches[0]?.error).not.toContain(WRONG_SECRET);
    expect(submits().length - before).toBe(1);
  });
});
