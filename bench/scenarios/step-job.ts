import { randomUUID } from 'node:crypto';
import { DelayedError, type Job, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { type PollPolicy, policySchema } from '../../src/config/policy.ts';
import { workerSchema } from '../../src/config/schema.ts';
import { nextPollDelay } from '../../src/pipeline/backoff.ts';
import type { BatchJobData } from '../../src/pipeline/job.ts';
import { BACKOFF_TYPE } from '../../src/queue/names.ts';
import { applyRateLimit } from '../../src/queue/rate-limit.ts';
import { deletePrefix } from '../redis.ts';
import {
  type BenchContext,
  type Measurements,
  startStretch,
  uniquePrefix,
  waitForCompleted,
} from './common.ts';
import { BENCH_POLICY, BENCH_WORKER, POLLS_PER_BATCH } from './rig.ts';

/** Step jobs run about twice as fast as batches: more of them, for a stretch no shorter than the pipeline's. */
export const STEP_JOBS_PER_N = 3;

/**
 * The yardstick for a batch: BullMQ jobs that walk the same transitions a batch job does (submit step:
 * job.updateData, moveToDelayed by the first poll delay, DelayedError; then POLLS_PER_BATCH poll steps,
 * the last one completing), with the batch's job data, options, worker settings and queue rate limit, but
 * no HTTP and no status record. What the pipeline costs beyond this is our own work per step.
 */
export async function stepJobBaseline(ctx: BenchContext): Promise<Measurements> {
  const jobs = ctx.n * STEP_JOBS_PER_N;
  const policy = policySchema.parse(BENCH_POLICY);
  const settings = workerSchema.parse(BENCH_WORKER);
  const prefix = uniquePrefix();
  const queueConnection = new Redis(ctx.redisUrl, { maxRetriesPerRequest: 2 });
  const queue = new Queue<BatchJobData>('bench-step', { connection: queueConnection, prefix });
  let workerConnection: Redis | undefined;
  let worker: Worker<BatchJobData> | undefined;
  try {
    const createdAt = Date.now();
    await queue.addBulk(
      Array.from({ length: jobs }, (_, index) => {
        // A batch's shape and size: the job hash is rewritten on every step.
        const purgeId = randomUUID();
        const data: BatchJobData = {
          cdnId: 'vims-bench',
          batchId: `vims-bench-${index}`,
          acceptedAt: createdAt,
          deadlineAt: createdAt + policy.poll.deadlineMs,
          step: 'submit',
          polls: 0,
        };
        const opts = {
          jobId: `${purgeId}-vims-bench-0`,
          attempts: policy.submit.attempts,
          backoff: { type: BACKOFF_TYPE },
        };
        return { name: 'purge', data, opts };
      }),
    );
    // Timed from worker start, rate limit included, as runtime.startWorkers() is in the pipeline scenarios.
    const stretch = startStretch(ctx);
    workerConnection = new Redis(ctx.redisUrl, { maxRetriesPerRequest: null });
    worker = new Worker<BatchJobData>('bench-step', step(policy.poll), {
      connection: workerConnection,
      prefix,
      autorun: false,
      concurrency: 8,
      lockDuration: settings.lockDurationMs,
      stalledInterval: settings.stalledIntervalMs,
      maxStalledCount: settings.maxStalledCount,
      // Kept, never trimmed during the run, as the pipeline's batches are.
      removeOnComplete: {
        age: settings.keepCompleted.ageSeconds,
        count: Math.max(settings.keepCompleted.count, jobs),
      },
    });
    // The pipeline's queues always carry one (a 429 pauses the queue through it); taking a job checks it.
    await applyRateLimit(queue, undefined);
    void worker.run();
    const polls = await waitForCompleted([queue], jobs);
    return { 'step-job': stretch.finish(jobs, polls) };
  } finally {
    await worker?.close();
    await queue.close();
    const connections = workerConnection ? [queueConnection, workerConnection] : [queueConnection];
    await Promise.all(connections.map((c) => c.quit().catch(() => c.disconnect())));
    await deletePrefix(ctx.redisUrl, prefix);
  }
}

/** The batch processor's moves (src/queue/batch-processor.ts) with the CDN call and the record left out. */
function step(poll: PollPolicy) {
  async function waitUntil(job: Job<BatchJobData>, data: BatchJobData, token: string | undefined) {
    await job.updateData(data);
    await job.moveToDelayed(data.readyAt ?? Date.now(), token);
    throw new DelayedError();
  }
  return async (job: Job<BatchJobData>, token?: string) => {
    const now = Date.now();
    const { data } = job;
    if (data.step === 'submit') {
      const readyAt = now + nextPollDelay({ polls: 0, elapsedMs: 0 }, poll);
      const remoteId = String(job.id);
      return waitUntil(job, { ...data, step: 'poll', remoteId, submittedAt: now, polls: 0, readyAt }, token);
    }
    const polls = data.polls + 1;
    if (polls < POLLS_PER_BATCH) {
      const elapsedMs = now - (data.submittedAt ?? data.acceptedAt ?? now);
      const readyAt = now + nextPollDelay({ polls, elapsedMs }, poll);
      return waitUntil(job, { ...data, polls, readyAt }, token);
    }
    return { state: 'succeeded' };
  };
}
