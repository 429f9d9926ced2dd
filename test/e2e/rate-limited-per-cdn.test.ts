import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { VIMS_RIG } from '../harness/cdn-rigs.ts';
import { startTestService, type TestService, testConfigInput } from '../harness/service.ts';

describe("a CDN's configured rate limit", () => {
  let simulator: Simulator;
  let service: TestService;

  beforeAll(async () => {
    simulator = await startSimulator(VIMS_RIG.simulatorOptions({ taskDurationMs: 0 }));
    const entry = { ...VIMS_RIG.cdnEntry(simulator.url), rateLimit: { max: 2, durationMs: 1000 } };
    service = startTestService(testConfigInput(simulator.url, {}, [entry]));
    await service.runtime.applyRateLimits();
  });
  afterAll(async () => {
    await service.close();
    await simulator.close();
  });

  it('holds every call to that CDN, submits and polls alike, to max per duration', async () => {
    const ids = await Promise.all(
      ['a', 'b', 'c'].map(async (name) => {
        const { id } = await service.runtime.producer.enqueuePurge({
          urls: [`https://www.example.com/${name}`],
        });
        return id;
      }),
    );
    for (const id of ids) expect((await service.waitForFinish(id)).state).toBe('succeeded');

    const times = simulator.vims.requests.map((r) => r.at).sort((a, b) => a - b);
    expect(times.length).toBeGreaterThanOrEqual(6); // three submits and at least three polls
    // Never three calls inside one window: each call comes about a window after the one two before it
    // (the window opens when a worker takes a job; the CDN sees the call a little later, hence the slack).
    for (let i = 2; i < times.length; i++)
      expect((times[i] ?? 0) - (times[i - 2] ?? 0)).toBeGreaterThanOrEqual(800);
  });
});
