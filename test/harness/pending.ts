import type { Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { BatchJobData } from '../../src/pipeline/job.ts';
import { flushDeduplicationId } from '../../src/queue/flush.ts';
import { pendingKey } from '../../src/status/keys.ts';

/** The targets waiting in a CDN's pending set, oldest first. */
export function pendingTargets(redis: Redis, prefix: string, cdnId: string): Promise<string[]> {
  return redis.zrange(pendingKey(prefix, cdnId), 0, -1);
}

/** The flush a CDN's pending targets wait for (the job that will take them), if one is scheduled. */
export async function flushJob(queue: Queue<BatchJobData> | undefined, cdnId: string) {
  const id = await queue?.getDeduplicationJobId(flushDeduplicationId(cdnId));
  return id ? ((await queue?.getJob(id)) as Job<BatchJobData> | undefined) : undefined;
}

/** The job id of a batch (a batch is its flush job's CDN and id). */
export function batchJobIdOf(batchId: string, cdnId: string): string {
  return batchId.slice(cdnId.length + 1);
}
