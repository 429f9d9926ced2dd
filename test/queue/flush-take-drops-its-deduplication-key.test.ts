import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flushDeduplicationId } from '../../src/queue/flush.ts';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { VIMS_RIG } from '../harness/cdn-rigs.ts';
import { startTestService, type TestService, testConfigInput } from '../harness/service.ts';

/**
 * take.lua drops the flush's BullMQ deduplication key itself, where BullMQ's own removeDeduplicationKey
 * would: read back here through BullMQ's API, so a change in how BullMQ keeps the key fails this test.
 */
describe("a flush's take", () => {
  let simulator: Simulator;
  let service: TestService;

  beforeAll(async () => {
    simulator = await startSimulator(VIMS_RIG.simulatorOptions({ taskDurationMs: 20 }));
    const cdn = { ...VIMS_RIG.cdnEntry(simulator.url), coalesce: { windowMs: 0, bulkWindowMs: 0 } };
    service = startTestService(testConfigInput(simulator.url, {}, [cdn]));
  });
  afterAll(async () => {
    await service.close();
    await simulator.close();
  });

  it('drops its deduplication key, so a purge accepted while it submits gets a flush of its own', async () => {
    const queue = service.runtime.producer.queues.get('vims-main');
    if (!queue) throw new Error('no queue');
    const held = simulator.vims.holdNext('submit');
    const first = await service.runtime.producer.enqueuePurge({ urls: ['https://www.example.com/first'] });
    const flushing = await queue.getDeduplicationJobId(flushDeduplicationId('vims-main'));
    expect(flushing).not.toBeNull();
    await held.arrived;
    // The take ran (its batch is at the CDN): the key no longer folds adds into this flush. (It may name
    // another flush already: the reconciler's first sweep can add one, seeing the target pending and then
    // no flush waiting.)
    expect(await queue.getDeduplicationJobId(flushDeduplicationId('vims-main'))).not.toBe(flushing);

    // Its add was not folded into the held flush: a flush of its own takes it and ends it while the first
    // is still held at the CDN. (Not read back through the key: with no window, that flush may already
    // have run its own take and dropped the key by the time a read arrives.)
    const second = await service.runtime.producer.enqueuePurge({ urls: ['https://www.example.com/second'] });
    const b = await service.waitForFinish(second.id);
    expect(b.batches).toMatchObject([{ state: 'succeeded' }]);
    expect((await service.runtime.store.get(first.id))?.state).not.toBe('succeeded');
    held.release();

    const a = await service.waitForFinish(first.id);
    expect(a.batches).toMatchObject([{ batchId: `vims-main-${flushing}`, state: 'succeeded' }]);
    expect(b.batches[0]?.batchId).not.toBe(a.batches[0]?.batchId);
  });
});
