import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { startTestService, TEST_VIMS_TOKEN, type TestService, testConfigInput } from '../harness/service.ts';

describe('transient CDN faults', () => {
  let simulator: Simulator;
  let service: TestService;

  beforeAll(async () => {
    simulator = await startSimulator({ vims: { tokens: [TEST_VIMS_TOKEN], taskDurationMs: 100 } });
    service = startTestService(testConfigInput(simulator.url));
  });
  afterAll(async () => {
    await service.close();
    await simulator.close();
  });

  const submits = () => simulator.vims.requests.filter((r) => r.op === 'submit');

  it('retries a submit through a proxy 502, a 429 with Retry-After and a reset, then succeeds', async () => {
    const first = submits().length;
    simulator.vims.faults.inject('submit', { kind: 'html', status: 502 });
    simulator.vims.faults.inject('submit', { kind: 'status', status: 429, retryAfter: '1' });
    simulator.vims.faults.inject('submit', { kind: 'reset' });
    const { id } = await service.runtime.producer.enqueuePurge({
      urls: ['https://www.example.com/retry.html'],
    });
    const status = await service.waitForFinish(id);

    expect(status.state).toBe('succeeded');
    expect(status.batches[0]).toMatchObject({ attempts: 4, state: 'succeeded' });
    const times = submits()
      .slice(first)
      .map((r) => r.at);
    expect(times).toHaveLength(4);
    // The retry after the 429 waited at least the second the CDN asked for.
    expect((times[2] ?? 0) - (times[1] ?? 0)).toBeGreaterThanOrEqual(1000);
  });

  it('keeps polling through a truncated body, a 500 and a stalled status call, without using up attempts', async () => {
    simulator.vims.faults.inject('status', { kind: 'truncate' });
    simulator.vims.faults.inject('status', { kind: 'status', status: 500, body: '{"status":"error"}' });
    simulator.vims.faults.inject('status', { kind: 'stall' });
    const { id } = await service.runtime.producer.enqueuePurge({
      urls: ['https://www.example.com/polls.html'],
    });
    const status = await service.waitForFinish(id);

    expect(status.state).toBe('succeeded');
    expect(status.batches[0]?.attempts).toBe(1);
    expect(status.batches[0]?.polls).toBeGreaterThanOrEqual(4);
    expect(simulator.vims.faults.pending('status')).toBe(0);
  });

  it('gives up after the configured attempts and says why', async () => {
    const first = submits().length;
    simulator.vims.faults.inject('submit', { kind: 'status', status: 503, body: 'upstream down' }, 4);
    const { id } = await service.runtime.producer.enqueuePurge({
      urls: ['https://www.example.com/down.html'],
    });
    const status = await service.waitForFinish(id);

    expect(status.batches[0]).toMatchObject({ state: 'failed', attempts: 4 });
    expect(status.batches[0]?.error).toMatch(/^gave up after 4 attempts: .*HTTP 503/);
    expect(submits().length - first).toBe(4);
  });
});
