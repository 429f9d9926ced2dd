import { Queue, Worker } from 'bullmq';
import type { Config } from '../config/schema.ts';
import type { PurgeTarget } from '../model/purge.ts';
import type { PipelineEvents, RepairKind } from '../observability/events.ts';
import type { Logger } from '../observability/logger.ts';
import type { BatchJobData } from '../pipeline/job.ts';
import { verificationGivenUp } from '../pipeline/verification.ts';
import type { QuotaCharge, StatusStore } from '../status/store.ts';
import type { RedisClient } from './connection.ts';
import { type FlushScheduler, flushDeduplicationId, flushDeduplicationIds } from './flush.ts';
import { type RedisHealth, workerErrorLogger } from './redis-health.ts';

export const MAINTENANCE_QUEUE = 'maintenance';
const SCHEDULER_ID = 'reconcile';

/** Open batches one sweep looks at per CDN: the oldest, which are the ones a crash can have left. */
const OPEN_BATCHES_PER_SWEEP = 500;

/** States in which a batch's job will never end the batch: it must be ended here. */
const JOB_GONE = new Set(['completed', 'failed', 'unknown']);

/**
 * How long past its deadline a batch whose job is waiting (not running) may stay open before the sweep ends
 * it `timed_out`: a job normally ends itself within a poll interval of its deadline; one stuck behind a paused
 * queue or a lost worker's lock may not.
 */
const OVERDUE_GRACE_MS = 60_000;

export interface ReconcilerDeps {
  config: Config;
  store: StatusStore;
  /** Each CDN's queue (on a connection that waits out Redis outages). */
  queues: ReadonlyMap<string, Queue<BatchJobData>>;
  flushes: FlushScheduler;
  connection: RedisClient;
  log: Logger;
  /** The process's one view of Redis outages: a worker's connection errors during one are only detail. */
  redisHealth?: RedisHealth;
  events?: PipelineEvents;
  now?: () => number;
  onCallbackDue?: (purgeId: string) => Promise<void>;
  /** What a batch was charged against its CDN's daily quota, to give back when it ends unaccepted. */
  chargesOf?: (cdnId: string, target: PurgeTarget, queuedAt: number) => readonly QuotaCharge[];
}

/** How long a due callback may go unconfirmed before the sweep schedules it: longer than a normal hand-off. */
const CALLBACK_CONFIRM_GRACE_MS = 10_000;

/**
 * One sweep, every `reconcile.intervalMs`, across every process: a single BullMQ job scheduler (the same id
 * from every process makes one repeatable job), run by whichever worker takes it. It repairs what the crash
 * windows named in the code can leave:
 * - a CDN with pending targets and no flush coming (killed between accepting a purge and adding its flush,
 *   or between a take and its follow-up flush): a flush is added;
 * - an open batch whose job has ended, failed or vanished without ending it (BullMQ failed the job for good
 *   and the process that should have recorded it died): the batch ends `failed`, which counts down every
 *   purge it carries and schedules their callbacks;
 * - an open batch well past its deadline whose job is not running (stuck behind a pause, or a lost lock):
 *   it ends `timed_out`, so no purge outlives its deadline by more than the grace and one sweep.
 * - a callback a batch's end made due whose scheduling nobody confirmed (killed in between): it is scheduled.
 * A quota charge cannot leak: it is taken in the same call that accepts a purge, and given back in the same
 * call that ends a batch the CDN never accepted (this sweep's endings included).
 */
export function createReconciler(deps: ReconcilerDeps) {
  const now = deps.now ?? Date.now;

  function repaired(cdnId: string, kind: RepairKind, detail: Record<string, unknown>) {
    deps.log.warn({ cdnId, kind, ...detail }, 'reconciler repaired');
    deps.events?.emit('reconcile:repaired', { cdnId, kind });
  }

  async function ensureFlush(cdnId: string, queue: Queue<BatchJobData>): Promise<void> {
    const pending = await deps.store.pendingCount(cdnId);
    if (pending === 0) return;
    // Either waiting flush takes every lane, but the bulk lane's waits out the bulk window: it will do only
    // when nothing but bulk targets wait (urgent or normal ones behind it would wait that window too).
    const bulkOnly = (await deps.store.pendingCount(cdnId, 'bulk')) === pending;
    const stale: string[] = [];
    for (const deduplicationId of flushDeduplicationIds(cdnId)) {
      const flushId = await queue.getDeduplicationJobId(deduplicationId);
      const flush = flushId ? await queue.getJob(flushId) : undefined;
      const live = flush !== undefined && !JOB_GONE.has(await flush.getState());
      if (live && (deduplicationId === flushDeduplicationId(cdnId) || bulkOnly)) return;
      if (flushId && !live) stale.push(deduplicationId);
    }
    // A key naming a job that has ended would fold every new flush into it (BullMQ drops it when the job ends,
    // so only a crash in between could leave one).
    for (const deduplicationId of stale) await queue.removeDeduplicationKey(deduplicationId);
    await deps.flushes.ensure(cdnId, { delayMs: 0 });
    repaired(cdnId, 'flush_missing', { pending });
  }

  async function endAbandoned(cdnId: string, queue: Queue<BatchJobData>): Promise<void> {
    for (const batch of await deps.store.openBatches(cdnId, OPEN_BATCHES_PER_SWEEP)) {
      const job = await queue.getJob(batch.batchId.slice(cdnId.length + 1));
      const state = job ? await job.getState() : 'unknown';
      const overdue =
        state !== 'active' && now() > (batch.deadlineAt ?? Number.POSITIVE_INFINITY) + OVERDUE_GRACE_MS;
      if (!JOB_GONE.has(state) && !overdue) continue;
      const ending = JOB_GONE.has(state)
        ? {
            kind: 'batch_abandoned' as const,
            patch: {
              state: 'failed' as const,
              error: `the batch's job ended (${state}) without ending the batch; ended by the reconciler`,
              errorCode: 'BATCH_ABANDONED' as const,
            },
          }
        : {
            kind: 'batch_overdue' as const,
            patch: {
              state: 'timed_out' as const,
              error: `deadline passed while the batch's job was ${state}; ended by the reconciler`,
              errorCode: 'DEADLINE_EXCEEDED' as const,
            },
          };
      // A batch being verified was done at the CDN: it ends succeeded, its verification unverified.
      const patch =
        batch.state === 'verifying'
          ? verificationGivenUp(
              batch.verification,
              `${ending.kind === 'batch_abandoned' ? `its job ended (${state})` : `its deadline passed while its job was ${state}`} before its edges were checked; ended by the reconciler`,
            )
          : ending.patch;
      // Crash window: none. The transition is the repair, and a re-run (or the job itself, later) finds the
      // batch already final and changes nothing. A batch the CDN never accepted gives its quota back here.
      const target = batch.remoteId ? undefined : (await deps.store.batchTarget(batch.batchId))?.target;
      const charges = target
        ? (deps.chargesOf?.(cdnId, target, batch.acceptedAt ?? batch.queuedAt) ?? [])
        : [];
      const result = await deps.store.update({ cdnId, batchId: batch.batchId }, patch, now(), {}, charges);
      if (result.outcome === 'applied') repaired(cdnId, ending.kind, { batchId: batch.batchId, state });
      for (const purgeId of result.callbacksDue) await deps.onCallbackDue?.(purgeId);
    }
  }

  /** Callbacks a batch's end made due that nobody confirmed scheduling (killed in between). */
  async function scheduleLostCallbacks(): Promise<void> {
    const lost = await deps.store.unscheduledCallbacks(
      now() - CALLBACK_CONFIRM_GRACE_MS,
      OPEN_BATCHES_PER_SWEEP,
    );
    for (const purgeId of lost) {
      await deps.onCallbackDue?.(purgeId);
      deps.log.warn({ purgeId, kind: 'callback_unscheduled' }, 'reconciler repaired');
      deps.events?.emit('reconcile:repaired', { cdnId: '', kind: 'callback_unscheduled' });
    }
  }

  return {
    async sweep(): Promise<void> {
      for (const [cdnId, queue] of deps.queues) {
        await ensureFlush(cdnId, queue);
        await endAbandoned(cdnId, queue);
      }
      await scheduleLostCallbacks();
    },
  };
}

/** Starts this process's share of the sweep: the shared scheduler (idempotent) and a worker for its jobs. */
export async function startReconciler(deps: ReconcilerDeps) {
  const { config, connection } = deps;
  const reconciler = createReconciler(deps);
  const queue = new Queue(MAINTENANCE_QUEUE, { connection, prefix: config.redis.prefix });
  queue.on('error', (error) => deps.log.debug({ err: error.message }, 'queue error'));
  await queue.upsertJobScheduler(
    SCHEDULER_ID,
    { every: config.reconcile.intervalMs },
    { name: SCHEDULER_ID },
  );
  const worker = new Worker(MAINTENANCE_QUEUE, () => reconciler.sweep(), {
    connection,
    prefix: config.redis.prefix,
    concurrency: 1,
    removeOnComplete: { count: 10 },
    removeOnFail: { count: 100 },
  });
  const onWorkerError = workerErrorLogger(deps.log, deps.redisHealth);
  worker.on('error', (error) => onWorkerError(error, {}, 'reconciler worker error'));
  worker.on('failed', (_job, error) => deps.log.error({ err: error.message }, 'reconcile sweep failed'));
  return {
    queue,
    async close() {
      await worker.close();
      await queue.close();
    },
  };
}
