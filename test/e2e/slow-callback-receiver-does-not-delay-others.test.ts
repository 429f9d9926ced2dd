import type { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type CallbackJobData, createCallbackScheduler } from '../../src/queue/callbacks.ts';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { type Receiver, startReceiver } from '../harness/receiver.ts';
import { startTestService, TEST_VIMS_TOKEN, type TestService, testConfigInput } from '../harness/service.ts';

const BLACK_HOLE_CALLBACKS = 40;
const HEALTHY_CALLBACKS = 3;

/** Two receivers on loopback, told apart by address: 127.0.0.1 never answers, 127.0.0.2 answers 204. */
describe('a callback receiver that never answers', () => {
  let simulator: Simulator;
  let blackHole: Receiver;
  let healthy: Receiver;
  let service: TestService;

  beforeAll(async () => {
    simulator = await startSimulator({ vims: { tokens: [TEST_VIMS_TOKEN], taskDurationMs: 10 } });
    blackHole = await startReceiver(() => {}, '127.0.0.1');
    healthy = await startReceiver((_req, res) => {
      res.statusCode = 204;
      res.end();
    }, '127.0.0.2');
    service = startTestService(
      testConfigInput(simulator.url, {
        api: { webhook: { secret: 'slow-receiver-test-secret' } },
        // A long timeout: the black hole holds each delivery it gets for the whole test.
        callbacks: { allowHosts: ['127.0.0.0/8'], timeoutMs: 10_000, attempts: 1 },
      }),
      { workers: false },
    );
  });
  afterAll(async () => {
    // Receivers first: closing them ends the held deliveries, so the workers can stop at once.
    await Promise.all([blackHole?.close(), healthy?.close()]);
    await service?.close();
    await simulator?.close();
  });

  it("does not delay another receiver's callbacks queued behind its own", async () => {
    const { runtime } = service;
    const callbacks = runtime.queues().find((queue) => queue.name === 'callbacks') as Queue<CallbackJobData>;
    const schedule = createCallbackScheduler(service.config, callbacks);
    const enqueue = async (callbackUrl: string) =>
      (await runtime.producer.enqueuePurge({ urls: ['https://www.example.com/a.html'] }, { callbackUrl })).id;
    // Every black-hole callback is queued before the first healthy one.
    for (let i = 0; i < BLACK_HOLE_CALLBACKS; i++) await schedule(await enqueue(`${blackHole.url}/hook`));
    for (let i = 0; i < HEALTHY_CALLBACKS; i++) await schedule(await enqueue(`${healthy.url}/hook`));

    runtime.startWorkers();
    await vi.waitFor(
      () => {
        if (healthy.received.length < HEALTHY_CALLBACKS)
          throw new Error(`${healthy.received.length} healthy callbacks delivered`);
      },
      { timeout: 5_000, interval: 20 },
    );
    // The black hole holds no more than its share: one delivery slot (callbacks.perHostConcurrency).
    expect(blackHole.connections).toBe(1);
  });
});
