import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { RIGS, VIMS_RIG } from '../harness/cdn-rigs.ts';
import { startTestService, type TestService, testConfigInput } from '../harness/service.ts';

describe.each(RIGS)('a purge $provider reports as failed', (rig) => {
  let simulator: Simulator;
  let service: TestService;

  beforeAll(async () => {
    simulator = await startSimulator(rig.simulatorOptions({ taskDurationMs: 100, failMarker: 'broken' }));
    service = startTestService(testConfigInput(simulator.url, {}, [rig.cdnEntry(simulator.url)]));
  });
  afterAll(async () => {
    await service.close();
    await simulator.close();
  });

  it("ends failed with the CDN's reason, without resubmitting", async () => {
    const url = 'https://www.example.com/broken.html';
    const { id } = await service.runtime.producer.enqueuePurge({ urls: [url] });
    const status = await service.waitForFinish(id);
    expect(status.state).toBe('failed');
    expect(status.batches[0]).toMatchObject({ state: 'failed', attempts: 1, errorCode: 'CDN_TASK_FAILED' });
    expect(status.batches[0]?.error).toMatch(rig.failureReason(url));
    expect(rig.sim(simulator).requests('submit')).toHaveLength(1);
  });
});

describe('a VIMS task revoked while running', () => {
  it('ends failed, naming the state and its output', async () => {
    const simulator = await startSimulator(VIMS_RIG.simulatorOptions({ taskDurationMs: 60_000 }));
    const service = startTestService(testConfigInput(simulator.url, {}, [VIMS_RIG.cdnEntry(simulator.url)]));
    try {
      const { id } = await service.runtime.producer.enqueuePurge({
        urls: ['https://www.example.com/revoked.html'],
      });
      await simulator.vims.waitForRequest('status', 1);
      const task = simulator.vims.tasks[0];
      if (!task) throw new Error('task was not created');
      simulator.vims.setTaskState(task.id, 'REVOKED', 'terminated by operator');
      const status = await service.waitForFinish(id);
      expect(status.batches[0]).toMatchObject({ state: 'failed', error: 'REVOKED: terminated by operator' });
    } finally {
      await service.close();
      await simulator.close();
    }
  });
});
