import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { RIGS } from '../harness/cdn-rigs.ts';
import { startTestService, type TestService, testConfigInput } from '../harness/service.ts';

describe.each(RIGS)('a purge $provider refuses', (rig) => {
  let simulator: Simulator;
  let service: TestService;

  beforeAll(async () => {
    simulator = await startSimulator(rig.simulatorOptions({ taskDurationMs: 50 }));
    service = startTestService(testConfigInput(simulator.url, {}, [rig.cdnEntry(simulator.url)]));
  });
  afterAll(async () => {
    await service.close();
    await simulator.close();
  });

  it("with 400: fails at once with the CDN's message, after exactly one submit", async () => {
    const { body, contentType } = rig.rejection;
    rig.sim(simulator).faults.inject('submit', { kind: 'status', status: 400, body, contentType });
    const { id } = await service.runtime.producer.enqueuePurge({ urls: ['https://www.example.com/a.html'] });
    const status = await service.waitForFinish(id);
    expect(status.state).toBe('failed');
    expect(status.batches[0]).toMatchObject({
      state: 'failed',
      attempts: 1,
      polls: 0,
      errorCode: 'CDN_REJECTED',
    });
    expect(status.batches[0]?.error).toMatch(rig.rejection.reason);
    expect(rig.sim(simulator).requests('submit')).toHaveLength(1);
  });

  it('with 401 (wrong credentials): fails at once, without retrying', async () => {
    const refused = startTestService(
      testConfigInput(simulator.url, {}, [rig.cdnEntry(simulator.url, false)]),
    );
    try {
      const before = rig.sim(simulator).requests('submit').length;
      const { id } = await refused.runtime.producer.enqueuePurge({
        urls: ['https://www.example.com/a.html'],
      });
      const status = await refused.waitForFinish(id);
      expect(status.batches[0]).toMatchObject({ state: 'failed', attempts: 1, errorCode: 'CDN_AUTH' });
      expect(status.batches[0]?.error).toMatch(/HTTP 401/);
      expect(rig.sim(simulator).requests('submit').length - before).toBe(1);
    } finally {
      await refused.close();
    }
  });
});
