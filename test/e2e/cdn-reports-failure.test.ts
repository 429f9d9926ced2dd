import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { startTestService, TEST_VIMS_TOKEN, type TestService, testConfigInput } from '../harness/service.ts';

describe('a purge the CDN reports as failed', () => {
  let simulator: Simulator;
  let service: TestService;

  beforeAll(async () => {
    simulator = await startSimulator({
      vims: {
        tokens: [TEST_VIMS_TOKEN],
        taskDurationMs: 100,
        outcome: (task) => (task.pattern.includes('broken') ? 'FAILURE' : 'SUCCESS'),
        failureOutput: "Command failed: ['varnishadm', 'ban'] exit 1",
      },
    });
    service = startTestService(testConfigInput(simulator.url));
  });
  afterAll(async () => {
    await service.close();
    await simulator.close();
  });

  it("ends failed with the CDN's output as the reason, without resubmitting", async () => {
    const { id } = await service.runtime.producer.enqueuePurge({
      urls: ['https://www.example.com/broken.html'],
    });
    const status = await service.waitForFinish(id);
    expect(status.state).toBe('failed');
    expect(status.batches[0]).toMatchObject({ state: 'failed', attempts: 1 });
    expect(status.batches[0]?.error).toBe("FAILURE: Command failed: ['varnishadm', 'ban'] exit 1");
    expect(simulator.vims.requests.filter((r) => r.op === 'submit')).toHaveLength(1);
  });

  it('ends failed when the task is revoked, naming the state', async () => {
    const before = simulator.vims.tasks.length;
    simulator.vims.setTaskDuration(60_000);
    const { id } = await service.runtime.producer.enqueuePurge({
      urls: ['https://www.example.com/revoked.html'],
    });
    await simulator.vims.waitForRequest(
      'status',
      simulator.vims.requests.filter((r) => r.op === 'status').length + 1,
    );
    const task = simulator.vims.tasks[before];
    if (!task) throw new Error('task was not created');
    simulator.vims.setTaskState(task.id, 'REVOKED', 'terminated by operator');
    const status = await service.waitForFinish(id);
    expect(status.batches[0]).toMatchObject({ state: 'failed', error: 'REVOKED: terminated by operator' });
    simulator.vims.setTaskDuration(100);
  });
});
