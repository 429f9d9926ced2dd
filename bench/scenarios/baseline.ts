import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { deletePrefix } from '../redis.ts';
import {
  type BenchContext,
  type Measurements,
  startStretch,
  uniquePrefix,
  waitForCompleted,
} from './common.ts';

/**
 * Bare jobs go roughly ten times faster than batches, so N of them would be over in tens of milliseconds,
 * where worker start-up and the 5 ms completion poll are a large part of the time. A rate does not depend
 * on the count, so the yardstick gets more jobs to be measured over a similar stretch.
 */
export const BASELINE_JOBS_PER_N = 10;

/**
 * The yardstick: BullMQ moving no-op jobs on the same Redis and with the same worker settings the pipeline
 * uses (concurrency 8, completed jobs kept). Whatever the pipeline costs beyond this is ours.
 */
export async function baseline(ctx: BenchContext): Promise<Measurements> {
  const jobs = ctx.n * BASELINE_JOBS_PER_N;
  const prefix = uniquePrefix();
  const queueConnection = new Redis(ctx.redisUrl, { maxRetriesPerRequest: 2 });
  const queue = new Queue('bench-noop', { connection: queueConnection, prefix });
  let workerConnection: Redis | undefined;
  let worker: Worker | undefined;
  try {
    await queue.addBulk(Array.from({ length: jobs }, (_, index) => ({ name: 'noop', data: { index } })));
    // Timed from worker start, connection included, as runtime.startWorkers() is in the pipeline scenarios.
    const stretch = startStretch(ctx);
    workerConnection = new Redis(ctx.redisUrl, { maxRetriesPerRequest: null });
    worker = new Worker('bench-noop', async () => {}, {
      connection: workerConnection,
      prefix,
      concurrency: 8,
      // Kept, never trimmed during the run, as the pipeline's batches are (keepCompleted.count 10000).
      removeOnComplete: { age: 86_400, count: Math.max(10_000, jobs) },
    });
    const polls = await waitForCompleted([queue], jobs);
    return { baseline: stretch.finish(jobs, polls) };
  } finally {
    await worker?.close();
    await queue.close();
    const connections = workerConnection ? [queueConnection, workerConnection] : [queueConnection];
    await Promise.all(connections.map((c) => c.quit().catch(() => c.disconnect())));
    await deletePrefix(ctx.redisUrl, prefix);
  }
}
