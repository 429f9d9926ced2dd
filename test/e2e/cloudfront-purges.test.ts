import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import {
  type CloudFrontSimulator,
  DEFAULT_CLOUDFRONT_ACCOUNT,
  DEFAULT_DISTRIBUTION_ID,
  SERVICE_UNAVAILABLE_FAULT,
  startCloudFrontSimulator,
  THROTTLING_FAULT,
} from '../../src/simulator/cloudfront.ts';
import { expectRefusedCredentials, expectRetriedThenSucceeded } from '../harness/cdn-e2e.ts';
import { purgeThrough, startTestService, type TestService, testConfigInput } from '../harness/service.ts';

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
    const { status, sent } = await purgeThrough(service, () => submits(), {
      urls: ['https://www.example.com/news/a.html?x=1'],
      dirs: ['https://www.example.com/sport/'],
    });

    expect(status.state).toBe('succeeded');
    expect(status.batches).toHaveLength(1);
    const [batch] = status.batches;
    expect(batch).toMatchObject({ cdnId: 'cf', state: 'succeeded', attempts: 1 });
    expect(batch?.polls).toBeGreaterThanOrEqual(1);
    const invalidation = sim.invalidation(batch?.remoteId ?? '');
    expect(invalidation).toMatchObject({ status: 'Completed', paths: ['/news/a.html?x=1', '/sport/*'] });
    expect(sent.length).toBe(1);
  });

  it('gives a newer purge of the same URL an invalidation of its own while the earlier one still runs', async () => {
    sim.setInvalidationDuration(3_600_000);
    const url = 'https://www.example.com/news/republished.html';
    // Put back whatever happens, so that a failure here cannot leave the next tests hour-long invalidations.
    onTestFinished(() => {
      sim.finish();
      sim.setInvalidationDuration(150);
    });
    // The purge's one batch, once CloudFront has accepted it (its invalidation id recorded).
    const accepted = (purgeId: string) =>
      vi.waitFor(
        async () => {
          const batch = (await service.runtime.store.get(purgeId))?.batches[0];
          if (!batch?.remoteId) throw new Error('not accepted yet');
          return batch;
        },
        { timeout: 10_000, interval: 20 },
      );
    const earlier = await service.runtime.producer.enqueuePurge({ urls: [url] });
    const earlierBatch = await accepted(earlier.id);
    // Published again: the earlier invalidation began before this change, so it cannot stand for it.
    const newer = await service.runtime.producer.enqueuePurge({ urls: [url] });
    const newerBatch = await accepted(newer.id);
    expect(newerBatch.remoteId).not.toBe(earlierBatch.remoteId);
    const made = sim.invalidations.filter((inv) => inv.paths.includes('/news/republished.html'));
    expect(made.map((inv) => inv.id)).toEqual([earlierBatch.remoteId, newerBatch.remoteId]);
    sim.finish();
    for (const id of [earlier.id, newer.id])
      expect((await service.waitForFinish(id)).state).toBe('succeeded');
  });

  it('holds a batch back while the in-progress budget is full, without CloudFront refusing it, then succeeds', async () => {
    // One purge in progress (it completes only when the test says so), then one of 3,500 URLs: its 3,000-URL
    // batch cannot be in progress beside the first 100 (CloudFront's 3,000 paths per distribution).
    sim.setInvalidationDuration(3_600_000);
    const first = await service.runtime.producer.enqueuePurge({
      urls: Array.from({ length: 100 }, (_, i) => `https://www.example.com/first/${i}.html`),
    });
    await sim.waitForRequest('status', sim.requests.filter((r) => r.op === 'status').length + 1);
    const busyBefore = busy();
    const urls = Array.from({ length: 3500 }, (_, i) => `https://www.example.com/big/${i}.html`);
    const big = await service.runtime.producer.enqueuePurge({ urls });
    // The pipeline holds the batch back itself: its record says why, and CloudFront never had to refuse it.
    const held = await vi.waitFor(
      async () => {
        const status = await service.runtime.store.get(big.id);
        const waiting = status?.batches.find((b) => b.errorCode === 'CDN_BUSY');
        if (!waiting) throw new Error('no batch held back yet');
        return waiting;
      },
      { timeout: 10_000, interval: 20 },
    );
    expect(held.error).toMatch(/ of 3000 paths and 0 of 15 wildcards already in progress/);
    expect(sim.inProgress(DEFAULT_DISTRIBUTION_ID).files).toBeLessThanOrEqual(3000);
    sim.finish();
    sim.setInvalidationDuration(0);

    expect((await service.waitForFinish(first.id)).state).toBe('succeeded');
    const status = await service.waitForFinish(big.id, 20_000);
    expect(status.state).toBe('succeeded');
    // Waiting was no attempt: each batch made one submit call.
    expect(status.batches.map((b) => [b.state, b.attempts])).toEqual([
      ['succeeded', 1],
      ['succeeded', 1],
    ]);
    expect(busy()).toBe(busyBefore);
    const sent = new Set(sim.invalidations.flatMap((i) => i.paths));
    expect(urls.every((url) => sent.has(new URL(url).pathname))).toBe(true);
    expect(Math.max(...sim.invalidations.map((i) => i.paths.length))).toBeLessThanOrEqual(3000);
    sim.setInvalidationDuration(150);
  });

  it("waits when CloudFront itself says too much is in progress (another tool's invalidations), then succeeds", async () => {
    // Invalidations made outside the pipeline fill the budget: only CloudFront knows of them. (Every earlier
    // one is completed for good first: a longer duration applies to running ones too.)
    sim.finish();
    sim.setInvalidationDuration(3_600_000);
    const provider = service.runtime.providers.get('cf');
    const outside = Array.from({ length: 3000 }, (_, i) => `https://www.example.com/outside/${i}.html`);
    await provider?.submit({ urls: outside, dirs: [] });
    const busyBefore = busy();
    const { id } = await service.runtime.producer.enqueuePurge({
      urls: ['https://www.example.com/after-outside.html'],
    });
    await sim.waitForRefusal('TooManyInvalidationsInProgress', busyBefore + 1);
    sim.finish();
    sim.setInvalidationDuration(0);
    const status = await service.waitForFinish(id, 20_000);
    expect(status.state).toBe('succeeded');
    expect(busy()).toBeGreaterThan(busyBefore);
    sim.setInvalidationDuration(150);
  });

  it('waits out Throttling (a 400 with no Retry-After) for the configured time, then succeeds', async () => {
    sim.faults.inject('submit', THROTTLING_FAULT);
    const { status, sent } = await purgeThrough(service, () => submits(), {
      urls: ['https://www.example.com/throttled.html'],
    });

    expect(status.state).toBe('succeeded');
    const [limited, accepted] = sent;
    expect(sent.length).toBe(2);
    // The retry came no sooner than throttleRetryAfterMs (1 s) asked.
    expect((accepted?.at ?? 0) - (limited?.at ?? 0)).toBeGreaterThanOrEqual(950);
  });

  it('retries a 503 ServiceUnavailable', async () => {
    sim.faults.inject('submit', SERVICE_UNAVAILABLE_FAULT);
    await expectRetriedThenSucceeded(
      service,
      () => submits(),
      () => sim.faults.pending(),
    );
  });

  it('fails at once, without retrying, when CloudFront refuses the signature', async () => {
    await expectRefusedCredentials(service, () => submits(), 'cf-locked', {
      answer: /SignatureDoesNotMatch \(HTTP 403\)/,
      secret: WRONG_SECRET,
    });
  });
});
