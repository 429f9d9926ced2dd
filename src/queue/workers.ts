import { type Job, type MinimalJob, Queue, Worker } from 'bullmq';
import { mergePolicy } from '../config/policy.ts';
import type { Config } from '../config/schema.ts';
import { errorCodeOf, isPurgeError } from '../errors.ts';
import type { PipelineEvents } from '../observability/events.ts';
import type { Logger } from '../observability/logger.ts';
import { submitRetryDelay } from '../pipeline/backoff.ts';
import type { BatchJobData } from '../pipeline/job.ts';
import { createPolling, type DurationLearner } from '../pipeline/poll-plan.ts';
import { summary, verificationGivenUp } from '../pipeline/verification.ts';
import type { Provider } from '../providers/provider.ts';
import { createInProgressBudget } from '../status/in-progress.ts';
import { createPollDurations } from '../status/poll-durations.ts';
import type { QuotaLedger } from '../status/quota.ts';
import type { StatusStore } from '../status/store.ts';
import { withTimeout } from '../with-timeout.ts';
import { createBatchProcessor } from './batch-processor.ts';
import { callBudgetOf } from './call-budget.ts';
import { createRedisConnection, type RedisClient } from './connection.ts';
import { createFlushScheduler, flushBatchId, flushSettings } from './flush.ts';
import { BACKOFF_TYPE, queueName } from './names.ts';
import { applyRateLimit } from './rate-limit.ts';
import { startReconciler } from './reconciler.ts';
import { type RedisHealth, workerErrorLogger } from './redis-health.ts';
import { type VerificationDeps, verificationFor } from './verification.ts';

export interface WorkerPool {
  readonly workers: ReadonlyMap<string, Worker<BatchJobData>>;
  /**
   * Stops taking jobs and lets in-flight ones finish within `graceMs`; past it, aborts their CDN calls and
   * drops the connections, so their locks lapse and another worker takes them over.
   */
  close(graceMs?: number): Promise<void>;
}

export interface WorkerDeps {
  config: Config;
  providers: ReadonlyMap<string, Provider>;
  /** Must sit on a worker connection (it waits out Redis outages) like the workers themselves. */
  store: StatusStore;
  log: Logger;
  /** The process's one view of Redis outages (runtime.ts); without it each connection logs its own. */
  redisHealth?: RedisHealth;
  now?: () => number;
  random?: () => number;
  events?: PipelineEvents;
  /** Called (at least once) when a batch's end leaves its purge finished, with a callback URL to notify. */
  onCallbackDue?: (purgeId: string) => Promise<void>;
  /** Tells what each batch was charged against daily quotas, so one that ends unaccepted gives it back. */
  quota?: Pick<QuotaLedger, 'chargesOf'>;
  /** For CDNs that verify (cdns[].verify): how stale URLs are sent again, and names resolved for checks. */
  verification?: Omit<VerificationDeps, 'now'>;
}

/** How long jobs aborted at shutdown get to move themselves back to the queue before Redis is cut. */
const RELEASE_WINDOW_MS = 2_000;

/** One BullMQ worker per CDN queue; each job walks submit -> poll -> ... -> finished by re-delaying itself. */
export function startWorkers(deps: WorkerDeps): WorkerPool {
  const { config, providers, store, log } = deps;
  const now = deps.now ?? Date.now;
  const random = deps.random ?? Math.random;
  const workers = new Map<string, Worker<BatchJobData>>();
  const queues: Queue[] = [];
  /** Each CDN's learnt task durations: what waits to be written goes out before the connections close. */
  const learners: DurationLearner[] = [];
  const onRedisError =
    deps.redisHealth ??
    ((error: Error) => log.error({ err: error.message }, 'Redis connection error (workers)'));
  const onWorkerError = workerErrorLogger(log, deps.redisHealth);
  const connections = config.cdns.map(() => createRedisConnection(config.redis, 'worker', onRedisError));
  // Follow-up flushes go through the workers' own queues (their connections wait out a Redis blip).
  const flushQueues = new Map<string, Queue<BatchJobData>>();
  const flushes = createFlushScheduler(flushQueues, flushSettings(config));

  const verifying = (cdn: Config['cdns'][number], provider: Provider) => {
    const verification = deps.verification && verificationFor(cdn, provider, { ...deps.verification, now });
    if (cdn.verify && !deps.verification)
      log.warn({ cdnId: cdn.id }, 'verify is set, but nothing to re-purge with');
    return verification ? { verification } : {};
  };

  // A CDN that lets only so much be in progress (CloudFront) keeps its ledger on the worker connection.
  const inProgressFor = (cdnId: string, provider: Provider, redis: RedisClient) => {
    const limit = provider.capabilities.inProgressLimit;
    if (!limit) return {};
    const { prefix } = config.redis;
    return {
      inProgress: createInProgressBudget({
        redis,
        prefix,
        cdnId,
        limit,
        ttlSeconds: config.statusTtlSeconds,
      }),
    };
  };

  config.cdns.forEach((cdn, index) => {
    const provider = providers.get(cdn.id);
    if (!provider) throw new Error(`no provider for CDN ${cdn.id}`);
    const policy = mergePolicy(config.policy, cdn.policy);
    const connection = connections[index] as ReturnType<typeof createRedisConnection>;
    const queue = new Queue<BatchJobData>(queueName(cdn.id), { connection, prefix: config.redis.prefix });
    queue.on('error', (error) => log.debug({ err: error.message, cdnId: cdn.id }, 'queue error'));
    queues.push(queue);
    flushQueues.set(cdn.id, queue);

    const learner = createPollDurations({
      redis: connection,
      prefix: config.redis.prefix,
      cdnId: cdn.id,
      now,
    });
    learners.push(learner);
    const processor = createBatchProcessor({
      provider,
      policy,
      store,
      queue,
      log,
      now,
      random,
      ...(deps.events ? { events: deps.events } : {}),
      ...(deps.onCallbackDue ? { onCallbackDue: deps.onCallbackDue } : {}),
      chargesOf: (target, queuedAt) => deps.quota?.chargesOf(provider, target, queuedAt) ?? [],
      flushes,
      callBudget: callBudgetOf(provider),
      ...inProgressFor(cdn.id, provider, connection),
      ...verifying(cdn, provider),
      polling: createPolling({
        policy: policy.poll,
        random,
        durations: learner,
        log,
      }),
    });
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
        backoffStrategy: (attemptsMade: number, type?: string, error?: Error, job?: MinimalJob) => {
          if (type !== BACKOFF_TYPE) return 0;
          const retryAfterMs = isPurgeError(error) ? error.retryAfterMs : undefined;
          const deadlineAt = (job?.data as BatchJobData | undefined)?.deadlineAt ?? Number.POSITIVE_INFINITY;
          const bounds = { maxRetryAfterMs: policy.maxRetryAfterMs, timeLeftMs: deadlineAt - now() };
          return submitRetryDelay(attemptsMade, policy.submit, retryAfterMs, bounds, random);
        },
      },
    });
    worker.on('error', (error) => onWorkerError(error, { cdnId: cdn.id }, 'worker error'));
    worker.on('failed', (job, error) => {
      if (job) void recordFinalFailure(provider, job, error);
    });
    workers.set(cdn.id, worker);
    applyRateLimit(queue, cdn.rateLimit).then(
      () => void worker.run(),
      (error: unknown) =>
        log.error({ err: error, cdnId: cdn.id }, 'cannot set the rate limit; worker not started'),
    );
  });

  /**
   * BullMQ can fail a job for good without our step ever ending it: stalled more often than allowed, or out
   * of attempts on an error the step does not handle. The batch must still reach a terminal state (the
   * transition never leaves one, so this is a no-op after the step's own failures). A flush that failed
   * before its take left its targets pending: the next flush (or the reconciler) takes them; one that failed
   * after it, with its data still at `take`, names its batch by its own id (no such batch: a no-op).
   * Crash window: killed before this runs, the batch stays open; the reconciler ends it.
   */
  async function recordFinalFailure(provider: Provider, job: Job<BatchJobData>, error: Error): Promise<void> {
    if (typeof job.finishedOn !== 'number') return; // retrying, not final
    const { cdnId } = job.data;
    const batchId =
      job.data.batchId ?? (job.data.step === 'take' && job.id ? flushBatchId(cdnId, job.id) : undefined);
    if (batchId === undefined) return;
    try {
      const batch = job.data.remoteId ? undefined : await store.batchTarget(batchId);
      const acceptedAt = job.data.acceptedAt ?? batch?.acceptedAt ?? now();
      const charges = batch && deps.quota ? deps.quota.chargesOf(provider, batch.target, acceptedAt) : [];
      // A batch the CDN reported done, failed for good while its edges were checked, still succeeded.
      const patch =
        job.data.step === 'verify'
          ? verificationGivenUp(
              job.data.verify && summary(job.data.verify, 'unverified'),
              `its job failed before its edges were checked: ${error.message}`,
            )
          : { state: 'failed' as const, error: error.message, errorCode: errorCodeOf(error) };
      const result = await store.update({ cdnId, batchId }, patch, now(), {}, charges);
      if (result.outcome === 'applied') {
        log.warn(
          { cdnId, batchId, jobId: job.id, state: 'failed', reason: error.message, code: errorCodeOf(error) },
          'purge failed',
        );
      }
      for (const purgeId of result.callbacksDue) await deps.onCallbackDue?.(purgeId);
    } catch (storeError) {
      log.error({ err: storeError, jobId: job.id }, 'cannot record a failed job in its batch');
    }
  }

  const reconcilerConnection = createRedisConnection(config.redis, 'worker', onRedisError);
  connections.push(reconcilerConnection);
  const reconciler = startReconciler({
    config,
    store,
    queues: flushQueues,
    flushes,
    connection: reconcilerConnection,
    log,
    ...(deps.redisHealth ? { redisHealth: deps.redisHealth } : {}),
    now,
    ...(deps.events ? { events: deps.events } : {}),
    ...(deps.onCallbackDue ? { onCallbackDue: deps.onCallbackDue } : {}),
    chargesOf: (cdnId, target, queuedAt) => {
      const provider = providers.get(cdnId);
      return provider && deps.quota ? deps.quota.chargesOf(provider, target, queuedAt) : [];
    },
  }).catch((error: unknown) => {
    log.error({ err: error }, 'cannot start the reconciler');
    return undefined;
  });

  return {
    workers,
    async close(graceMs = config.worker.shutdownGraceMs) {
      await (await reconciler)?.close();
      const graceful = Promise.all([...workers.values()].map((worker) => worker.close()));
      // Settled either way counts: a close that failed leaves nothing to wait for.
      const closed = graceful.then(
        () => true,
        () => true,
      );
      const closedWithin = (ms: number) => withTimeout(closed, ms, 'closing workers').catch(() => false);
      if (!(await closedWithin(graceMs))) {
        // worker.close(true) would only return the pending close: abort the calls instead. Each aborted step
        // hands its job back to the queue (not as an attempt); whatever has not within the release window
        // (a Redis call that hangs) is cut off with the connections, and its lock lapses instead.
        log.warn({ graceMs }, 'in-flight jobs did not finish in time; releasing them to other workers');
        for (const worker of workers.values()) worker.cancelAllJobs('shutting down');
        if (!(await closedWithin(RELEASE_WINDOW_MS))) {
          for (const connection of connections) connection.disconnect();
          return;
        }
      }
      // Best effort, as learning always is (bounded: a Redis that no longer answers is cut off below).
      await withTimeout(
        Promise.all(learners.map((learner) => learner.flush())),
        RELEASE_WINDOW_MS,
        'writing learnt task durations',
      ).catch(() => {});
      await Promise.all(queues.map((queue) => queue.close()));
      await Promise.all(
        connections.map((connection) => connection.quit().catch(() => connection.disconnect())),
      );
    },
  };
}
