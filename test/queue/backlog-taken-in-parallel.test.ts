import type { Job } from 'bullmq';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { BatchJobData } from '../../src/pipeline/job.ts';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { QUANTIL_RIG } from '../harness/cdn-rigs.ts';
import { startTestService, type TestService, testConfigInput } from '../harness/service.ts';

const url = (index: number) => `https://www.example.com/backlog/${index}.html`;
const isSlot = (job: Job<BatchJobData>) => /-slot-\d+$/.test(job.opts.deduplication?.id ?? '');

/**
 * A backlog of several calls (accepted while no worker ran) is taken by the CDN's own flush and the flushes
 * of extra slots at once (queue/after-take.ts), yet sent as it would be one flush at a time: every call full
 * but the last, each URL once.
 */
describe('a backlog of several calls', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** 11 one-URL purges to a QUANTIL taking 2 URLs a call, accepted before the workers start. */
  async function drain(entry: Record<string, unknown>) {
    const simulator: Simulator = await startSimulator(QUANTIL_RIG.simulatorOptions({ taskDurationMs: 0 }));
    const service: TestService = startTestService(
      testConfigInput(simulator.url, {}, [
        {
          ...QUANTIL_RIG.cdnEntry(simulator.url),
          maxItemsPerCall: 2,
          concurrency: 4,
          coalesce: { windowMs: 0 },
          ...entry,
        },
      ]),
      { workers: false },
    );
    cleanups.push(async () => {
      await service.close();
      await simulator.close();
    });
    const accepted = [];
    for (let index = 0; index < 11; index++) {
      accepted.push(await service.runtime.producer.enqueuePurge({ urls: [url(index)] }));
    }
    service.runtime.startWorkers();
    const statuses = await Promise.all(accepted.map(({ id }) => service.waitForFinish(id)));
    const queue = service.runtime.producer.queues.get('quantil-main');
    if (!queue) throw new Error('no queue');
    // Flushes of slots that found no full call left end too: nothing stays queued.
    await vi.waitFor(
      async () => {
        const left = await queue.getJobCounts('wait', 'delayed', 'active', 'prioritized');
        expect(Object.values(left).reduce((sum, count) => sum + count, 0)).toBe(0);
      },
      { timeout: 5_000, interval: 20 },
    );
    const jobs = (await queue.getJobs(['completed'])) as Job<BatchJobData>[];
    const items = new Map(statuses.flatMap((status) => status.batches.map((b) => [b.batchId, b.items])));
    return { simulator, statuses, jobs, items };
  }

  it('is taken by several flushes at once, every call full but the last, each URL sent once', async () => {
    const { simulator, statuses, jobs, items } = await drain({});
    expect(statuses.every((status) => status.state === 'succeeded')).toBe(true);
    const sent = simulator.quantil.purges.flatMap((purge) => purge.items.map((item) => item.path));
    expect(sent.sort()).toEqual(Array.from({ length: 11 }, (_, index) => url(index)).sort());
    expect(simulator.quantil.purges.map((purge) => purge.items.length).sort()).toEqual([1, 2, 2, 2, 2, 2]);
    // Some of the calls were taken by the flushes of extra slots (a slot's take of a full call only is
    // take.lua's, tested in test/redis-layout/purge-record.test.ts).
    const batchesOfSlots = jobs.filter((job) => isSlot(job) && job.data.batchId !== undefined);
    expect(batchesOfSlots.length).toBeGreaterThan(0);
    expect(batchesOfSlots.map((job) => items.get(job.data.batchId as string))).toEqual(
      batchesOfSlots.map(() => 2),
    );
  });

  it('is taken one flush at a time by a CDN with a rate limit of its own (each activation counts)', async () => {
    const { statuses, jobs } = await drain({ rateLimit: { max: 1_000, durationMs: 1_000 } });
    expect(statuses.every((status) => status.state === 'succeeded')).toBe(true);
    expect(jobs.filter(isSlot)).toEqual([]);
  });
});
