import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { startTestService, TEST_VIMS_TOKEN, type TestService, testConfigInput } from '../harness/service.ts';

describe('a purge the CDN refuses with 400', () => {
  let simulator: Simulator;
  let service: TestService;

  beforeAll(async () => {
    simulator = await startSimulator({ vims: { tokens: [TEST_VIMS_TOKEN], taskDurationMs: 50 } });
    const input = testConfigInput(simulator.url);
    // vm 999 is not a host of service 101, so VIMS answers 400 "failed creation : unknown target".
    input.cdns = [{ ...(input.cdns[0] as (typeof input.cdns)[0]), target: '999' }];
    service = startTestService(input);
  });
  afterAll(async () => {
    await service.close();
    await simulator.close();
  });

  it("fails at once with VIMS's message, after exactly one submit", async () => {
    const { id } = await service.runtime.producer.enqueuePurge({ urls: ['https://www.example.com/a.html'] });
    const status = await service.waitForFinish(id);
    expect(status.state).toBe('failed');
    expect(status.batches[0]).toMatchObject({ state: 'failed', attempts: 1, polls: 0 });
    expect(status.batches[0]?.error).toMatch(/HTTP 400 — failed creation : unknown target/);
    expect(simulator.vims.requests.filter((r) => r.op === 'submit')).toHaveLength(1);
  });

  it('fails at once on a wrong token (401), without retrying', async () => {
    const other = await startSimulator({ vims: { tokens: ['sk_live_someone_else'] } });
    const refused = startTestService(testConfigInput(other.url));
    try {
      const { id } = await refused.runtime.producer.enqueuePurge({
        urls: ['https://www.example.com/a.html'],
      });
      const status = await refused.waitForFinish(id);
      expect(status.batches[0]).toMatchObject({ state: 'failed', attempts: 1 });
      expect(status.batches[0]?.error).toMatch(/HTTP 401/);
      expect(other.vims.requests.filter((r) => r.op === 'submit')).toHaveLength(1);
    } finally {
      await refused.close();
      await other.close();
    }
  });
});
