import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { VIMS_RIG } from '../harness/cdn-rigs.ts';
import { startTestService, type TestService, testConfigInput } from '../harness/service.ts';

describe("a CDN's rate limits", () => {
  let simulator: Simulator;
  let service: TestService;

  beforeAll(async () => {
    simulator = await startSimulator(VIMS_RIG.simulatorOptions({ taskDurationMs: 0 }));
    // The shortest pattern VIMS allows, and paths too long for two in one: three purges make three submits.
    const entry = {
      ...VIMS_RIG.cdnEntry(simulator.url),
      rateLimit: { max: 2, durationMs: 1000 },
      maxPatternLength: 64,
    };
    service = startTestService(testConfigInput(simulator.url, {}, [entry]));
  });
  afterAll(async () => {
    await service.close();
    await simulator.close();
  });

  it('holds every call to that CDN, submits and polls alike, to max per duration', async () => {
    const ids = await Promise.all(
      ['a', 'b', 'c'].map(async (name) => {
        const { id } = await service.runtime.producer.enqueuePurge({
          urls: [`https://www.example.com/${'long-path-'.repeat(4)}${name}`],
        });
        return id;
      }),
    );
    for (const id of ids) expect((await service.waitForFinish(id)).state).toBe('succeeded');

    const times = simulator.vims.requests.map((r) => r.at).sort((a, b) => a - b);
    expect(times.length).toBeGreaterThanOrEqual(6); // three submits and at least three polls
    // Windows open when a worker takes a job and the CDN sees the call a little later, so the bounds leave
    // slack; unlimited, all of these calls land within a few tens of milliseconds.
    for (let i = 2; i < times.length; i++)
      expect((times[i] ?? 0) - (times[i - 2] ?? 0)).toBeGreaterThanOrEqual(500);
    expect((times.at(-1) ?? 0) - (times[0] ?? 0)).toBeGreaterThanOrEqual(1500);
  });

  it('pauses every job for that CDN when it answers 429, for as long as its Retry-After says', async () => {
    const other = await startSimulator(VIMS_RIG.simulatorOptions({ taskDurationMs: 0 }));
    const entry = { ...VIMS_RIG.cdnEntry(other.url), concurrency: 1 };
    const paused = startTestService(testConfigInput(other.url, {}, [entry]));
    try {
      other.vims.faults.inject('submit', { kind: 'status', status: 429, retryAfter: '1' });
      const purges = await Promise.all(
        ['x', 'y'].map((name) =>
          paused.runtime.producer.enqueuePurge({ urls: [`https://www.example.com/${name}`] }),
        ),
      );
      for (const { id } of purges) expect((await paused.waitForFinish(id)).state).toBe('succeeded');
      const [refused, next] = other.vims.requests;
      // Without the pause the other purge's submit would follow the 429 at once.
      expect((next?.at ?? 0) - (refused?.at ?? 0)).toBeGreaterThanOrEqual(900);
    } finally {
      await paused.close();
      await other.close();
    }
  });

  it('holds off no longer than policy.maxRetryAfterMs, whatever its Retry-After says', async () => {
    const other = await startSimulator(VIMS_RIG.simulatorOptions({ taskDurationMs: 0 }));
    const entry = { ...VIMS_RIG.cdnEntry(other.url), policy: { maxRetryAfterMs: 300 } };
    const capped = startTestService(testConfigInput(other.url, {}, [entry]));
    try {
      other.vims.faults.inject('submit', { kind: 'status', status: 429, retryAfter: '999999999' });
      const { id } = await capped.runtime.producer.enqueuePurge({
        urls: ['https://www.example.com/thirty-one-years.html'],
      });
      expect((await capped.waitForFinish(id)).state).toBe('succeeded');
      const [refused, retried] = other.vims.requests.filter((r) => r.op === 'submit');
      const waited = (retried?.at ?? 0) - (refused?.at ?? 0);
      expect(waited).toBeGreaterThanOrEqual(250);
      expect(waited).toBeLessThan(5_000);
    } finally {
      await capped.close();
      await other.close();
    }
  });

  it('does not count the waits a 429 imposes as failed attempts', async () => {
    const other = await startSimulator(VIMS_RIG.simulatorOptions({ taskDurationMs: 0 }));
    const entry = { ...VIMS_RIG.cdnEntry(other.url), policy: { submit: { attempts: 2 } } };
    const throttled = startTestService(testConfigInput(other.url, {}, [entry]));
    try {
      other.vims.faults.inject('submit', { kind: 'status', status: 429, retryAfter: '0' }, 3);
      const { id } = await throttled.runtime.producer.enqueuePurge({
        urls: ['https://www.example.com/slow-down'],
      });
      const status = await throttled.waitForFinish(id);
      // Four calls with only two attempts allowed: the three 429s used none of them.
      expect(status.batches[0]).toMatchObject({ state: 'succeeded', attempts: 4 });
    } finally {
      await throttled.close();
      await other.close();
    }
  });
});
