import type { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type CallbackJobData, createCallbackScheduler } from '../../src/queue/callbacks.ts';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { type Receiver, startReceiver } from '../harness/receiver.ts';
import { startTestService, TEST_VIMS_TOKEN, type TestService, testConfigInput } from '../harness/service.ts';

const CALLBACKS = 12;
const ANSWER_MS = 200;

/**
 * With one delivery slot per host, the other callbacks to that host wait delayed; each freed slot wakes
 * the next at once. Back to back, 12 answers of 200 ms take about 2.4 s; waiting out the deferral delays
 * (which double each time) instead takes about 11 s. The bound sits between the two.
 */
describe('a receiver that answers slowly, with many callbacks due', () => {
  let simulator: Simulator;
  let receiver: Receiver;
  let service: TestService;

  beforeAll(async () => {
    simulator = await startSimulator({ vims: { tokens: [TEST_VIMS_TOKEN], taskDurationMs: 10 } });
    receiver = await startReceiver((_req, res) => {
      setTimeout(() => {
        res.statusCode = 204;
        res.end();
      }, ANSWER_MS);
    });
    service = startTestService(
      testConfigInput(simulator.url, {
        api: { webhook: { secret: 'busy-receiver-test-secret' } },
        callbacks: { allowHosts: ['127.0.0.1'], concurrency: 4, perHostConcurrency: 1 },
      }),
      { workers: false },
    );
  });
  afterAll(async () => {
    await receiver?.close();
    await service?.close();
    await simulator?.close();
  });

  it('gets them one after another, its slot never left idle for a deferral delay', async () => {
    const { runtime } = service;
    const callbacks = runtime.queues().find((queue) => queue.name === 'callbacks') as Queue<CallbackJobData>;
    const schedule = createCallbackScheduler(service.config, callbacks);
    for (let i = 0; i < CALLBACKS; i++) {
      const { id } = await runtime.producer.enqueuePurge(
        { urls: ['https://www.example.com/a.html'] },
        { callbackUrl: `${receiver.url}/hook` },
      );
      await schedule(id);
    }

    runtime.startWorkers();
    await vi.waitFor(
      () => {
        if (receiver.received.length < CALLBACKS) throw new Error(`${receiver.received.length} delivered`);
      },
      { timeout: 6_000, interval: 20 },
    );
    // One slot for the host: never two deliveries at once, so one connection kept alive throughout.
    expect(receiver.connections).toBe(1);
  });
});
