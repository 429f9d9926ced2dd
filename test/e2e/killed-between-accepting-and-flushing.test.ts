import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { purgeKey } from '../../src/status/keys.ts';
import { QUANTIL_RIG, VIMS_RIG } from '../harness/cdn-rigs.ts';
import { spawnNode } from '../harness/child.ts';
import { startTestService, type TestService, testConfigInput } from '../harness/service.ts';

/**
 * The crash windows coalescing adds, with real processes SIGKILLed in them: a producer killed after accepting
 * a purge but before adding its flush (no idempotency key, so no caller retry will save it), and a worker
 * killed mid-flush after the CDN accepted a batch carrying many purges.
 */
describe('a process SIGKILLed in a coalescing crash window', () => {
  let simulator: Simulator;
  let input: ReturnType<typeof testConfigInput>;
  let silent: Server;
  const sockets = new Set<Socket>();

  beforeAll(async () => {
    simulator = await startSimulator({
      ...VIMS_RIG.simulatorOptions({ taskDurationMs: 50 }),
      ...QUANTIL_RIG.simulatorOptions({ taskDurationMs: 50 }),
    });
    input = testConfigInput(simulator.url, { reconcile: { intervalMs: 200 } }, [
      { ...VIMS_RIG.cdnEntry(simulator.url), coalesce: { windowMs: 200 } },
      { ...QUANTIL_RIG.cdnEntry(simulator.url), coalesce: { windowMs: 200 } },
    ]);
    // Accepts connections and never answers: a Redis that hangs every command sent to it.
    silent = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    silent.close();
    await simulator.close();
  });

  it('between accepting a purge and adding its flush: the reconciler flushes it and it succeeds', async () => {
    const observer = startTestService(input, { workers: false });
    const url = 'https://www.example.com/accepted-then-killed.html';
    const child = spawnNode('test/harness/producer-process.ts', [], {
      PURGE_TEST_CONFIG: JSON.stringify(input),
      PURGE_TEST_QUEUE_PORT: String((silent.address() as { port: number }).port),
      PURGE_TEST_URLS: url,
    });
    let rescuer: TestService | undefined;
    try {
      await child.printed('producer-ready');
      const recordKey = await vi.waitFor(
        async () => {
          const [key] = await observer.redis.keys(purgeKey(input.redis.prefix, '*'));
          if (!key) throw new Error('not accepted yet');
          return key;
        },
        { timeout: 5_000, interval: 10 },
      );
      child.process.kill('SIGKILL');
      await child.exited();
      const id = recordKey.slice(purgeKey(input.redis.prefix, '').length);
      expect((await observer.runtime.store.get(id))?.state).toBe('queued');

      rescuer = startTestService(input);
      const status = await rescuer.waitForFinish(id, 5_000);
      expect(status.state).toBe('succeeded');
      expect(rescuer.logs.filter((line) => line.kind === 'flush_missing').length).toBeGreaterThan(0);
    } finally {
      child.process.kill('SIGKILL');
      await rescuer?.close();
      await observer.close();
    }
  });

  it('mid-flush after the CDN accepted: every purge the batch carries is purged (at worst twice), none stuck', async () => {
    const producer = startTestService(input, { workers: false });
    const doomed = spawnNode('test/harness/worker-process.ts', [], {
      PURGE_TEST_CONFIG: JSON.stringify(input),
    });
    let rescuer: TestService | undefined;
    try {
      await doomed.printed('worker-ready');
      const held = simulator.vims.holdNext('submit');
      const submitsBefore = simulator.vims.requests.filter((r) => r.op === 'submit').length;
      const purges = await Promise.all(
        Array.from({ length: 5 }, (_, i) =>
          producer.runtime.producer.enqueuePurge({ urls: [`https://www.example.com/flushed-${i}.html`] }),
        ),
      );
      await held.arrived; // VIMS has the batch; its answer (the task id) is still on the way
      doomed.process.kill('SIGKILL');
      await doomed.exited();
      held.release();

      rescuer = startTestService(input);
      for (const { id } of purges) {
        const status = await rescuer.waitForFinish(id, 10_000);
        expect(status.state).toBe('succeeded');
        const vims = status.batches.filter((batch) => batch.cdnId === 'vims-main');
        expect(vims).toEqual([expect.objectContaining({ state: 'succeeded', attempts: 2, purges: 5 })]);
      }
      expect(simulator.vims.requests.filter((r) => r.op === 'submit').length - submitsBefore).toBe(2);
      expect(await producer.runtime.store.pendingCount('vims-main')).toBe(0);
      expect(await producer.runtime.store.openBatches('vims-main', 10)).toEqual([]);
    } finally {
      doomed.process.kill('SIGKILL');
      await rescuer?.close();
      await producer.close();
    }
  });
});
