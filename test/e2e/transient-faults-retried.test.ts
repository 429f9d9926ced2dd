import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { RIGS, type SimHandle } from '../harness/cdn-rigs.ts';
import { startTestService, type TestService, testConfigInput } from '../harness/service.ts';

describe.each(RIGS)('transient $provider faults', (rig) => {
  let simulator: Simulator;
  let sim: SimHandle;
  let service: TestService;

  beforeAll(async () => {
    simulator = await startSimulator(rig.simulatorOptions({ taskDurationMs: 100 }));
    sim = rig.sim(simulator);
    service = startTestService(testConfigInput(simulator.url, {}, [rig.cdnEntry(simulator.url)]));
  });
  afterAll(async () => {
    await service.close();
    await simulator.close();
  });

  it('retries a submit through a proxy 502, a 429 with Retry-After and a reset, then succeeds', async () => {
    const first = sim.requests('submit').length;
    sim.faults.inject('submit', { kind: 'html', status: 502 });
    sim.faults.inject('submit', { kind: 'status', status: 429, retryAfter: '1' });
    sim.faults.inject('submit', { kind: 'reset' });
    const { id } = await service.runtime.producer.enqueuePurge({
      urls: ['https://www.example.com/retry.html'],
    });
    const status = await service.waitForFinish(id);

    expect(status.state).toBe('succeeded');
    expect(status.batches[0]).toMatchObject({ attempts: 4, state: 'succeeded' });
    const times = sim
      .requests('submit')
      .slice(first)
      .map((r) => r.at);
    expect(times).toHaveLength(4);
    // The retry after the 429 waited at least the second the CDN asked for.
    expect((times[2] ?? 0) - (times[1] ?? 0)).toBeGreaterThanOrEqual(1000);
  });

  it('keeps polling through a truncated body, a 500 and a stalled status call, without using up attempts', async () => {
    sim.faults.inject('status', { kind: 'truncate' });
    sim.faults.inject('status', { kind: 'status', status: 500 });
    sim.faults.inject('status', { kind: 'stall' });
    const { id } = await service.runtime.producer.enqueuePurge({
      urls: ['https://www.example.com/polls.html'],
    });
    const status = await service.waitForFinish(id);

    expect(status.state).toBe('succeeded');
    expect(status.batches[0]?.attempts).toBe(1);
    expect(status.batches[0]?.polls).toBeGreaterThanOrEqual(4);
    expect(sim.faults.pending('status')).toBe(0);
  });

  it('gives up after the configured attempts and says why', async () => {
    const first = sim.requests('submit').length;
    sim.faults.inject(
      'submit',
      { kind: 'status', status: 503, body: 'upstream down', contentType: 'text/plain' },
      4,
    );
    const { id } = await service.runtime.producer.enqueuePurge({
      urls: ['https://www.example.com/down.html'],
    });
    const status = await service.waitForFinish(id);

    expect(status.batches[0]).toMatchObject({ state: 'failed', attempts: 4, errorCode: 'CDN_UNAVAILABLE' });
    expect(status.batches[0]?.error).toMatch(/^gave up after 4 attempts: .*HTTP 503/);
    expect(sim.requests('submit').length - first).toBe(4);
  });
});
