import { randomUUID } from 'node:crypto';
import { DelayedError, type Job, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { type PollPolicy, policySchema } from '../../src/config/policy.ts';
import { workerSchema } from '../../src/config/schema.ts';
import { nextPollDelay } from '../../src/pipeline/backoff.ts';
import type { BatchJobData } from '../../src/pipeline/job.ts';
import { createHttpClient, type HttpClient } from '../../src/providers/http.ts';
import type { Provider } from '../../src/providers/provider.ts';
import { createProvider } from '../../src/providers/registry.ts';
import { BACKOFF_TYPE } from '../../src/queue/names.ts';
import { applyRateLimit } from '../../src/queue/rate-limit.ts';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { deletePrefix } from '../redis.ts';
import {
  type BenchContext,
  type Measurements,
  startStretch,
  uniquePrefix,
  waitForCompleted,
} from './common.ts';
import { BENCH_POLICY, BENCH_WORKER, benchConfig, benchUrl, POLLS_PER_BATCH, VIMS_TOKEN } from './rig.ts';

/** Step jobs run about twice as fast as batches: more of them, for a stretch no shorter than the pipeline's. */
export const STEP_JOBS_PER_N = 3;

/** A VIMS provider against a simulator of its own, as the pipeline rows call it: a step job's CDN calls. */
interface CdnCalls {
  provider: Provider;
  close(): Promise<void>;
}

async function startCdnCalls(ctx: BenchContext): Promise<CdnCalls> {
  // Instant tasks, as the pipeline rows' simulator has: the one poll finds the task done.
  const simulator: Simulator = await startSimulator({ vims: { tokens: [VIMS_TOKEN], taskDurationMs: 0 } });
  const config = benchConfig(ctx.redisUrl, uniquePrefix(), simulator.url, ['vims'], 8);
  const http: HttpClient = createHttpClient(config.policy.http);
  const [vims] = config.cdns;
  if (!vims) throw new Error('the bench config has no VIMS entry');
  return {
    provider: createProvider(vims, { http }),
    async close() {
      await http.close();
      await simulator.close();
    },
  };
}

/**
 * The yardstick for a batch: BullMQ jobs that walk the same transitions a batch job does (submit step:
 * job.updateData, moveToDelayed by the first poll delay, DelayedError; then POLLS_PER_BATCH poll steps,
 * the last one completing), with the batch's job data, options, worker settings and queue rate limit, but
 * no HTTP and no status record. What the pipeline costs beyond this is our own work per step.
 *
 * With `cdnCalls`, each step also makes the call a batch's step makes (a one-URL VIMS submit, then its
 * status), through the same provider, client and simulator as the pipeline rows: what the pipeline costs
 * beyond that is its orchestration alone (the take, the record's transitions), the CDN's side left out.
 */
export async function stepJobBaseline(
  ctx: BenchContext,
  options: { cdnCalls?: boolean } = {},
): Promise<Measurements> {
  const id = options.cdnCalls ? 'step-job-cdn' : 'step-job';
  const jobs = ctx.n * STEP_JOBS_PER_N;
  const policy = policySchema.parse(BENCH_POLICY);
  const settings = workerSchema.parse(BENCH_WORKER);
  const prefix = uniquePrefix();
  const queueConnection = new Redis(ctx.redisUrl, { maxRetriesPerRequest: 2 });
  const queue = new Queue<BatchJobData>('bench-step', { connection: queueConnection, prefix });
  let workerConnection: Redis | undefined;
  let worker: Worker<BatchJobData> | undefined;
  let calls: CdnCalls | undefined;
  try {
    if (options.cdnCalls) calls = await startCdnCalls(ctx);
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
    worker = new Worker<BatchJobData>('bench-step', step(policy.poll, calls?.provider), {
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
    return { [id]: stretch.finish(jobs, polls) };
  } finally {
    await worker?.close();
    await queue.close();
    await calls?.close();
    const connections = workerConnection ? [queueConnection, workerConnection] : [queueConnection];
    await Promise.all(connections.map((c) => c.quit().catch(() => c.disconnect())));
    await deletePrefix(ctx.redisUrl, prefix);
  }
}

/**
 * The batch processor's moves (src/queue/batch-processor.ts) with the record left out, and the CDN calls
 * too unless a provider is given.
 */
function step(poll: PollPolicy, provider: Provider | undefined) {
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
      // A URL of its own per job (batchId `vims-bench-<index>`), as each pipeline purge has.
      const url = benchUrl(Number(data.batchId?.split('-').at(-1) ?? 0));
      const remoteId = provider
        ? (await provider.submit({ urls: [url], dirs: [] })).remoteId
        : String(job.id);
      return waitUntil(job, { ...data, step: 'poll', remoteId, submittedAt: now, polls: 0, readyAt }, token);
    }
    if (provider) {
      const status = await provider.status(data.remoteId ?? '');
      if (status.state !== 'succeeded')
        throw new Error(`a step job's task was ${status.state}, not done at once`);
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
