import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AkamaiSimulator,
  DEFAULT_AKAMAI_CLIENT,
  internalErrorFault,
  startAkamaiSimulator,
} from '../../src/simulator/akamai.ts';
import { expectRefusedCredentials, expectRetriedThenSucceeded } from '../harness/cdn-e2e.ts';
import { purgeThrough, startTestService, type TestService, testConfigInput } from '../harness/service.ts';

function entry(id: string, sim: AkamaiSimulator, overrides: Record<string, unknown> = {}) {
  return { id, provider: 'akamai', baseUrl: sim.url, ...DEFAULT_AKAMAI_CLIENT, ...overrides };
}

describe('a purge through Akamai Fast Purge v3', () => {
  let main: AkamaiSimulator;
  /** Takes bodies of at most 1,024 bytes: the entry's 50,000-byte batches meet Akamai's 413. */
  let tight: AkamaiSimulator;
  /** Its request bucket refills at 2 a second, so a drained one answers 429 for half a second. */
  let slow: AkamaiSimulator;
  let service: TestService;

  beforeAll(async () => {
    main = await startAkamaiSimulator({ estimatedSeconds: 1 });
    tight = await startAkamaiSimulator({ maxBodyBytes: 1_024 });
    slow = await startAkamaiSimulator({
      estimatedSeconds: 0,
      buckets: { requests: { size: 10, perSecond: 2 } },
    });
    const cdns = [
      entry('akamai', main),
      entry('tight', tight),
      entry('slow', slow),
      entry('forged', main, { clientSecret: 'bm90LXRoZS1zZWNyZXQtb2YtdGhpcy1jbGllbnQ=' }),
    ];
    service = startTestService(
      testConfigInput(
        'http://127.0.0.1:1',
        { routes: [{ hosts: ['*.example.com'], cdns: ['akamai'] }] },
        cdns,
      ),
    );
  });
  afterAll(async () => {
    await service.close();
    await Promise.all([main.close(), tight.close(), slow.close()]);
  });

  const submits = (sim: AkamaiSimulator) => sim.requests.filter((r) => r.op === 'submit');

  it('succeeds estimatedSeconds after acceptance, signed, without any status call', async () => {
    const { status, sent } = await purgeThrough(service, () => submits(main), {
      urls: ['https://www.example.com/news/a.html', 'https://www.example.com/b.html'],
    });

    expect(status.state).toBe('succeeded');
    expect(status.batches).toHaveLength(1);
    const purge = main.purges.at(-1);
    expect(status.batches[0]).toMatchObject({
      cdnId: 'akamai',
      state: 'succeeded',
      attempts: 1,
      polls: 0,
      remoteId: `akamai:${purge?.purgeId}:${purge?.supportId}`,
      completion: expect.stringContaining('no status endpoint: counted done 1s after acceptance'),
    });
    expect(purge).toMatchObject({ action: 'invalidate', network: 'production' });
    expect([...(purge?.objects ?? [])].sort()).toEqual([
      'https://www.example.com/b.html',
      'https://www.example.com/news/a.html',
    ]);
    // One signed purge call; Akamai was never asked again.
    expect(sent).toMatchObject([{ authorized: true, path: '/ccu/v3/invalidate/url/production' }]);
    expect(main.requests.filter((r) => r.op !== 'submit')).toHaveLength(0);
  });

  it("fails at once, without retrying, on Akamai's 413 for a body over its limit", async () => {
    const urls = Array.from(
      { length: 20 },
      (_, i) => `https://www.example.com/${'long-path-'.repeat(6)}${i}`,
    );
    const { id } = await service.runtime.producer.enqueuePurge({ urls, cdns: ['tight'] });
    const status = await service.waitForFinish(id);

    expect(status.state).toBe('failed');
    expect(status.batches[0]).toMatchObject({
      cdnId: 'tight',
      state: 'failed',
      attempts: 1,
      errorCode: 'CDN_REJECTED',
    });
    expect(status.batches[0]?.error).toMatch(/HTTP 413 — Request entity too large: .*1,024 byte limit/);
    expect(submits(tight)).toHaveLength(1);
  });

  it('waits out a 429 for as long as the drained bucket needs, then succeeds', async () => {
    slow.drain('requests');
    const { id } = await service.runtime.producer.enqueuePurge({
      urls: ['https://www.example.com/rate.html'],
      cdns: ['slow'],
    });
    const status = await service.waitForFinish(id);

    expect(status.state).toBe('succeeded');
    const sent = submits(slow);
    expect(sent.length).toBeGreaterThanOrEqual(2);
    // The retry came no sooner than one request token (500 ms at 2 a second) after the 429.
    const [refused, accepted] = [sent[0], sent.at(-1)];
    expect((accepted?.at ?? 0) - (refused?.at ?? 0)).toBeGreaterThanOrEqual(450);
    expect(slow.purges).toHaveLength(1);
  });

  it('retries a 503 and then succeeds', async () => {
    main.faults.inject('submit', internalErrorFault(503));
    await expectRetriedThenSucceeded(
      service,
      () => submits(main),
      () => main.faults.pending(),
    );
  });

  it('fails at once when Akamai refuses the signature (a wrong client secret)', async () => {
    const purgesBefore = main.purges.length;
    await expectRefusedCredentials(service, () => submits(main), 'forged', {
      answer: 'HTTP 401 — Not authorized: The signature does not match',
      secret: 'bm90LXRoZS1z',
    });
    expect(main.purges.length).toBe(purgesBefore);
  });
});
