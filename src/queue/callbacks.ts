import { DelayedError, type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import { deliverCallback } from '../callbacks/deliver.ts';
import type { Config } from '../config/schema.ts';
import { describeError, errorCodeOf, isRetryable, PurgeError } from '../errors.ts';
import type { AddressGuard } from '../net/address-guard.ts';
import { createGuardedDispatcher } from '../net/guarded-dispatcher.ts';
import type { PipelineEvents } from '../observability/events.ts';
import type { Logger } from '../observability/logger.ts';
import { exponentialDelay, withJitter } from '../pipeline/backoff.ts';
import type { StatusStore } from '../status/store.ts';
import { createRedisConnection } from './connection.ts';
import { createHostSlots, deferralDelayMs } from './host-slots.ts';
import { type RedisHealth, workerErrorLogger } from './redis-health.ts';

export const CALLBACK_QUEUE = 'callbacks';

export interface CallbackJobData {
  purgeId: string;
}

/** Adds the one callback job a purge gets; the job id makes repeats (re-runs after a crash) no-ops. */
export function createCallbackScheduler(config: Config, queue: Queue<CallbackJobData>) {
  return async (purgeId: string): Promise<void> => {
    await queue.add(
      'callback',
      { purgeId },
      { jobId: `cb-${purgeId}`, attempts: config.callbacks.attempts, backoff: { type: 'callback' } },
    );
  };
}

export function createCallbackQueue(
  config: Config,
  connection: ReturnType<typeof createRedisConnection>,
  { readOnly = false }: { readOnly?: boolean } = {},
) {
  return new Queue<CallbackJobData>(CALLBACK_QUEUE, {
    connection,
    prefix: config.redis.prefix,
    ...(readOnly ? { skipMetasUpdate: true } : {}),
  });
}

/** Delivers callbacks apart from the purge jobs, so a slow or failing receiver never holds a purge up. */
export function startCallbackWorker(
  config: Config,
  store: StatusStore,
  guard: AddressGuard,
  log: Logger,
  { events, redisHealth }: { events?: PipelineEvents; redisHealth?: RedisHealth } = {},
) {
  const connection = createRedisConnection(
    config.redis,
    'worker',
    redisHealth ?? ((error) => log.error({ err: error.message }, 'Redis connection error (callbacks)')),
  );
  const secret = config.callbacks.secret ?? config.api.webhook.secret;
  // Every callback goes through the guard again at connect time: DNS may answer differently than at ingest.
  const dispatcher = createGuardedDispatcher(guard, { connectTimeoutMs: config.callbacks.timeoutMs });
  const policy = {
    initialIntervalMs: config.callbacks.initialIntervalMs,
    backoffCoefficient: 2,
    maxIntervalMs: config.callbacks.maxIntervalMs,
  };
  // One receiver host holds at most perHostConcurrency of this worker's slots (see host-slots.ts).
  const slots = createHostSlots(config.callbacks.perHostConcurrency);
  // Promotes a job deferred for a host whose slot just freed; only ever a hint (see host-slots.ts).
  const promoter = new Queue<CallbackJobData>(CALLBACK_QUEUE, { connection, prefix: config.redis.prefix });
  promoter.on('error', (error) => log.debug({ err: error.message }, 'callback promoter error'));
  const promoted = async (jobId: string): Promise<boolean> => {
    const waiting = await promoter.getJob(jobId);
    // Refused unless the job is delayed right now: it may have woken by itself, or not be delayed yet.
    return waiting
      ? waiting.promote().then(
          () => true,
          () => false,
        )
      : false;
  };
  const wakeOneWaiting = async (host: string) => {
    // A few stale hints are skipped; past those, the waiting jobs wake by their own delay.
    for (let tries = 0; tries < 5; tries++) {
      const jobId = slots.nextWaiting(host);
      if (jobId === undefined || (await promoted(jobId))) return;
    }
  };
  const deliver = async (job: Job<CallbackJobData>, token: string | undefined) => {
    const status = await store.get(job.data.purgeId);
    if (!status) {
      events?.emit('callback:delivery', { outcome: 'skipped' });
      return { skipped: 'purge record expired' };
    }
    const host = receiverHost(status.callbackUrl);
    if (!slots.take(host, String(job.id))) {
      slots.defer(host, String(job.id));
      // attemptsStarted counts every activation, attemptsMade only failures: the rest were deferrals.
      const deferrals = job.attemptsStarted - job.attemptsMade - 1;
      // Crash window: killed after the move, before the throw, the job is already safely delayed.
      await job.moveToDelayed(Date.now() + deferralDelayMs(deferrals), token);
      throw new DelayedError();
    }
    try {
      const code = await deliverCallback(status, {
        secret,
        timeoutMs: config.callbacks.timeoutMs,
        nowSeconds: Math.floor(Date.now() / 1000),
        dispatcher,
      }).catch((error: unknown) => {
        throw asJobFailure(error);
      });
      log.info({ purgeId: status.id, jobId: job.id, httpStatus: code }, 'completion callback delivered');
      events?.emit('callback:delivery', { outcome: 'delivered' });
      return { httpStatus: code };
    } finally {
      slots.give(host);
      wakeOneWaiting(host).catch((error: Error) =>
        log.debug({ err: error.message }, 'could not wake a deferred callback'),
      );
    }
  };
  const worker = new Worker<CallbackJobData>(CALLBACK_QUEUE, deliver, {
    connection,
    prefix: config.redis.prefix,
    concurrency: config.callbacks.concurrency,
    removeOnComplete: {
      age: config.worker.keepCompleted.ageSeconds,
      count: config.worker.keepCompleted.count,
    },
    removeOnFail: { age: config.worker.keepFailed.ageSeconds, count: config.worker.keepFailed.count },
    settings: {
      backoffStrategy: (attemptsMade: number) =>
        withJitter(exponentialDelay(attemptsMade - 1, policy), 0.2, Math.random),
    },
  });
  worker.on('failed', (job, error) => {
    // BullMQ tells every failed attempt; one that will be tried again has no finishedOn yet.
    events?.emit('callback:delivery', {
      outcome: typeof job?.finishedOn === 'number' ? 'failed' : 'retrying',
    });
    log.warn(
      { purgeId: job?.data.purgeId, jobId: job?.id, code: codeOf(error), err: error.message },
      'completion callback failed',
    );
  });
  const onWorkerError = workerErrorLogger(log, redisHealth);
  worker.on('error', (error) => onWorkerError(error, {}, 'callback worker error'));
  return {
    worker,
    async close(force = false) {
      await worker.close(force);
      await promoter.close();
      await dispatcher.close();
      await connection.quit().catch(() => connection.disconnect());
    },
  };
}

/**
 * A failed delivery as BullMQ keeps it. BullMQ stores only an error's message as the job's failure reason,
 * so the code leads it (`CALLBACK_DELIVERY_FAILED: ...`), and rides along as `code` for the log line.
 * A forbidden address stays forbidden: retrying would only knock on it again, so that one is unrecoverable
 * (and an UnrecoverableError would otherwise drop the code).
 */
function asJobFailure(error: unknown): Error {
  const code = errorCodeOf(error);
  const message = `${code}: ${describeError(error)}`;
  if (code === 'CALLBACK_URL_FORBIDDEN') return Object.assign(new UnrecoverableError(message), { code });
  return new PurgeError(code, message, { retryable: isRetryable(error), cause: error });
}

/** The code a delivery failure carries (see asJobFailure); none on what BullMQ raised itself. */
function codeOf(error: Error): string | undefined {
  const { code } = error as { code?: unknown };
  return typeof code === 'string' ? code : undefined;
}

/** The receiver a callback's delivery slots are counted against: its host name, any port (host-slots.ts normalises it). */
function receiverHost(callbackUrl: string | undefined): string {
  if (!callbackUrl) return '';
  try {
    return new URL(callbackUrl).hostname;
  } catch {
    return '';
  }
}
