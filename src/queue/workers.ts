import { DelayedError, type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import { mergePolicy } from '../config/policy.ts';
import type { Config } from '../config/schema.ts';
import { isPurgeError } from '../errors.ts';
import type { PipelineEvents } from '../observability/events.ts';
import type { Logger } from '../observability/logger.ts';
import { submitRetryDelay } from '../pipeline/backoff.ts';
import type { BatchJobData } from '../pipeline/job.ts';
import { runStep } from '../pipeline/step.ts';
import type { Provider } from '../providers/provider.ts';
import type { StatusStore } from '../status/store.ts';
import { createRedisConnection } from './connection.ts';
import { BACKOFF_TYPE, queueName } from './names.ts';
import { applyRateLimit } from './rate-limit.ts';

export interface WorkerPool {
  readonly workers: ReadonlyMap<string, Worker<BatchJobData>>;
  /** Stops taking jobs, lets in-flight ones finish within `graceMs`, then releases the rest to other workers. */
  close(graceMs?: number): Promise<void>;
}

export interface WorkerDeps {
  config: Config;
  providers: ReadonlyMap<string, Provider>;
  store: StatusStore;
  log: Logger;
  now?: () => number;
  random?: () => number;
  events?: PipelineEvents;
  /** Called (at least once) when a batch's end leaves its purge finished, with a callback URL to notify. */
  onCallbackDue?: (purgeId: string) => Promise<void>;
}

/** One BullMQ worker per CDN queue; each job walks submit -> poll -> ... -> finished by re-delaying itself. */
export function startWorkers(deps: WorkerDeps): WorkerPool {
  const { config, providers, store, log } = deps;
  const now = deps.now ?? Date.now;
  const random = deps.random ?? Math.random;
  const workers = new Map<string, Worker<BatchJobData>>();
  const onRedisError = (error: Error) =>
    log.error({ err: error.message }, 'Redis connection error (workers)');
  const connections = config.cdns.map(() => createRedisConnection(config.redis.url, 'worker', onRedisError));
  const queues: Queue[] = [];

  config.cdns.forEach((cdn, index) => {
    const provider = providers.get(cdn.id);
    if (!provider) throw new Error(`no provider for CDN ${cdn.id}`);
    const policy = mergePolicy(config.policy, cdn.policy);
    const connection = connections[index] as ReturnType<typeof createRedisConnection>;
    // Used to pause this CDN's queue for every worker process when the CDN answers 429.
    const queue = new Queue(queueName(cdn.id), { connection, prefix: config.redis.prefix });
    queue.on('error', (error) => log.debug({ err: error.message, cdnId: cdn.id }, 'queue error'));
    queues.push(queue);

    const processor = async (job: Job<BatchJobData>, token?: string) => {
      const jobLog = log.child({
        purgeId: job.data.purgeId,
        cdnId: job.data.cdnId,
        jobId: job.id,
        ...(job.data.remoteId ? { remoteId: job.data.remoteId } : {}),
      });
      const outcome = await runStep(job.data, {
        provider,
        store,
        policy,
        log: jobLog,
        now,
        random,
        checkpoint: (data) => job.updateData(data),
        isLastAttempt: job.attemptsMade + 1 >= (job.opts.attempts ?? 1),
        onRateLimited: (ms) => queue.rateLimit(ms),
        ...(deps.events ? { events: deps.events } : {}),
      });
      if (outcome.kind === 'wait') {
        // Data first, then the move: a crash between the two re-runs the step with the new data.
        if (!outcome.persisted) await job.updateData(outcome.data);
        await job.moveToDelayed(outcome.until, token);
        throw new DelayedError();
      }
      if (outcome.callbackDue) await deps.onCallbackDue?.(job.data.purgeId);
      if (outcome.state !== 'succeeded') throw new UnrecoverableError(`${outcome.state}: ${outcome.reason}`);
      return { state: outcome.state };
    };

    const worker = new Worker<BatchJobData>(queueName(cdn.id), processor, {
      connection,
      prefix: config.redis.prefix,
      // Started once the queue's rate limit is in Redis, so no job is ever taken before the limit holds.
      autorun: false,
      concurrency: cdn.concurrency,
      lockDuration: config.worker.lockDurationMs,
      stalledInterval: config.worker.stalledIntervalMs,
      maxStalledCount: config.worker.maxStalledCount,
      removeOnComplete: {
        age: config.worker.keepCompleted.ageSeconds,
        count: config.worker.keepCompleted.count,
      },
      removeOnFail: { age: config.worker.keepFailed.ageSeconds, count: config.worker.keepFailed.count },
      settings: {
        backoffStrategy: (attemptsMade: number, type?: string, error?: Error) => {
          if (type !== BACKOFF_TYPE) return 0;
          const retryAfterMs = isPurgeError(error) ? error.retryAfterMs : undefined;
          return submitRetryDelay(attemptsMade, policy.submit, retryAfterMs, random);
        },
      },
    });
    worker.on('error', (error) => log.error({ err: error, cdnId: cdn.id }, 'worker error'));
    worker.on('failed', (job, error) => {
      if (job && !(error instanceof DelayedError)) {
        log.debug(
          { purgeId: job.data.purgeId, cdnId: cdn.id, jobId: job.id, err: error.message },
          'job attempt failed',
        );
      }
    });
    workers.set(cdn.id, worker);
    applyRateLimit(queue, cdn.rateLimit).then(
      () => void worker.run(),
      (error: unknown) =>
        log.error({ err: error, cdnId: cdn.id }, 'cannot set the rate limit; worker not started'),
    );
  });

  return {
    workers,
    async close(graceMs = config.worker.shutdownGraceMs) {
      const graceful = Promise.all([...workers.values()].map((worker) => worker.close()));
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<'expired'>((resolve) => {
        timer = setTimeout(() => resolve('expired'), graceMs);
      });
      const result = await Promise.race([graceful.then(() => 'closed' as const), expired]);
      clearTimeout(timer);
      if (result === 'expired') {
        log.warn({ graceMs }, 'in-flight jobs did not finish in time; releasing them to other workers');
        await Promise.all([...workers.values()].map((worker) => worker.close(true)));
      }
      await Promise.all(
        connections.map((connection) => connection.quit().catch(() => connection.disconnect())),
      );
    },
  };
}
