import type { Job, Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { CallbackJobData } from '../../src/queue/callbacks.ts';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { type Receiver, startReceiver } from '../harness/receiver.ts';
import { startTestService, TEST_VIMS_TOKEN, type TestService, testConfigInput } from '../harness/service.ts';

/** README promises the CALLBACK_* code in the callback worker's log line and in its job's failure reason. */
describe('a completion callback that fails for good', () => {
  let simulator: Simulator;
  let failing: Receiver;
  let service: TestService;
  let callbacks: Queue<CallbackJobData>;

  beforeAll(async () => {
    simulator = await startSimulator({ vims: { tokens: [TEST_VIMS_TOKEN], taskDurationMs: 20 } });
    failing = await startReceiver((_req, res) => {
      res.statusCode = 500;
      res.end();
    });
    service = startTestService(
      testConfigInput(simulator.url, {
        // Only 127.0.0.1 is allowed: 127.0.0.2 below is refused by the guard, never dialled.
        callbacks: { allowHosts: ['127.0.0.1'], attempts: 2, initialIntervalMs: 20, maxIntervalMs: 40 },
      }),
    );
    callbacks = service.runtime
      .queues()
      .find((queue) => queue.name === 'callbacks') as Queue<CallbackJobData>;
  });
  afterAll(async () => {
    await service.close();
    await failing.close();
    await simulator.close();
  });

  async function failedCallbackOf(callbackUrl: string): Promise<Job<CallbackJobData>> {
    const { id } = await service.runtime.producer.enqueuePurge(
      { urls: ['https://www.example.com/a.html'] },
      { callbackUrl },
    );
    await service.waitForFinish(id);
    return vi.waitFor(
      async () => {
        // The state first, then the job: a job read before its last attempt ended would show that attempt
        // missing even once its state says failed.
        if ((await callbacks.getJobState(`cb-${id}`)) !== 'failed') {
          throw new Error(`callback of ${id} has not failed yet`);
        }
        const job = await callbacks.getJob(`cb-${id}`);
        if (!job) throw new Error(`callback of ${id} is gone`);
        return job;
      },
      { timeout: 10_000, interval: 20 },
    );
  }

  const failedLines = (purgeId: string) =>
    service.logs.filter((line) => line.msg === 'completion callback failed' && line.purgeId === purgeId);

  it('keeps CALLBACK_DELIVERY_FAILED in the failure reason and as code on its log lines', async () => {
    const job = await failedCallbackOf(`${failing.url}/hook`);
    expect(job.attemptsMade).toBe(2);
    expect(job.failedReason).toBe('CALLBACK_DELIVERY_FAILED: callback receiver answered HTTP 500');
    // The worker logs a failure just after BullMQ records it: wait for the line rather than race it.
    const lines = await vi.waitFor(
      () => {
        const found = failedLines(job.data.purgeId);
        if (found.length < 2) throw new Error('not logged yet');
        return found;
      },
      { timeout: 5_000, interval: 20 },
    );
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(line).toMatchObject({ code: 'CALLBACK_DELIVERY_FAILED' });
  });

  it('keeps CALLBACK_URL_FORBIDDEN in the failure reason and as code, and does not retry it', async () => {
    const job = await failedCallbackOf('http://127.0.0.2:9/hook');
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toMatch(/^CALLBACK_URL_FORBIDDEN: .*127\.0\.0\.2 is a loopback address/);
    await vi.waitFor(
      () =>
        expect(failedLines(job.data.purgeId)).toEqual([
          expect.objectContaining({ code: 'CALLBACK_URL_FORBIDDEN' }),
        ]),
      { timeout: 5_000, interval: 20 },
    );
  });
});
