import type { Queue } from 'bullmq';
import { mergePolicy } from '../config/policy.ts';
import type { Config } from '../config/schema.ts';
import type { Priority } from '../model/purge.ts';
import type { BatchJobData } from '../pipeline/job.ts';
import { BACKOFF_TYPE } from './names.ts';

/** The job that flushes a CDN's pending targets, then carries the batch it took: one job per CDN call. */
export const BATCH_JOB = 'batch';

/**
 * The batch a flush job takes: named by the job, so a re-run takes the same one (take.lua's marker), and a
 * job failed for good before its data said so still names the batch it took (the reconciler reads it back).
 */
export function flushBatchId(cdnId: string, jobId: string): string {
  return `${cdnId}-${jobId}`;
}

/** At most one flush waits per CDN: adds while one waits are folded into it (BullMQ deduplication). */
export function flushDeduplicationId(cdnId: string): string {
  return `flush-${cdnId}`;
}

/**
 * Beside it, at most one flush waits out the bulk lane's longer window: folded into the main one, a normal
 * purge accepted after a bulk one would wait the bulk window too. Either flush takes every lane, in order.
 */
export function bulkFlushDeduplicationId(cdnId: string): string {
  return `flush-${cdnId}-bulk`;
}

/** Every deduplication id a CDN's waiting flushes may have. */
export function flushDeduplicationIds(cdnId: string): string[] {
  return [flushDeduplicationId(cdnId), bulkFlushDeduplicationId(cdnId)];
}

export interface FlushSettings {
  /** How long the oldest pending target waits for others to share its call. */
  windowMs: number;
  /** The same for the bulk lane. */
  bulkWindowMs: number;
  attempts: number;
}

export interface FlushScheduler {
  /**
   * Makes sure a flush will run for the CDN: after the lane's window by default (urgent: at once; the delay
   * runs from the first target of the window, since later adds are folded into that flush), or after
   * `delayMs`.
   */
  ensure(cdnId: string, options?: { lane?: Priority; delayMs?: number }): Promise<void>;
  /** The CDN's coalescing window, for a lane (normal by default). */
  windowMs(cdnId: string, lane?: Priority): number;
}

function laneWindow(setting: FlushSettings, lane: Priority): number {
  if (lane === 'urgent') return 0;
  return lane === 'bulk' ? setting.bulkWindowMs : setting.windowMs;
}

/**
 * Adding is idempotent: BullMQ keeps one deduplicated flush per CDN until that flush takes its batch (it
 * then drops the deduplication key itself, so later targets get a flush of their own). A window's targets
 * therefore share one flush, whose delay runs from the first of them.
 */
export function createFlushScheduler(
  queues: ReadonlyMap<string, Queue<BatchJobData>>,
  settings: ReadonlyMap<string, FlushSettings>,
): FlushScheduler {
  return {
    async ensure(cdnId, options = {}) {
      const queue = queues.get(cdnId);
      const setting = settings.get(cdnId);
      if (!queue || !setting) throw new Error(`no queue for CDN ${cdnId}`);
      const lane = options.lane ?? 'normal';
      const longest = Math.max(setting.windowMs, setting.bulkWindowMs);
      const delay = Math.max(0, Math.min(options.delayMs ?? laneWindow(setting, lane), longest));
      const id =
        lane === 'bulk' && options.delayMs === undefined
          ? bulkFlushDeduplicationId(cdnId)
          : flushDeduplicationId(cdnId);
      await queue.add(
        BATCH_JOB,
        { cdnId, step: 'take', polls: 0 },
        { delay, deduplication: { id }, attempts: setting.attempts, backoff: { type: BACKOFF_TYPE } },
      );
      // Asked for a particular time (leftovers of a full call, a repair) or urgent: a flush already waiting
      // out a longer window is what the add was folded into, so it is brought forward. A producer's normal or
      // bulk add (the window itself) never needs this, nor a CDN where nothing ever waits.
      if ((options.delayMs === undefined && lane !== 'urgent') || longest === 0) return;
      const waiting = await queue.getDeduplicationJobId(id);
      const job = waiting ? await queue.getJob(waiting) : undefined;
      if (!job || !(await job.isDelayed())) return;
      // Crash window: none; the job is already durable, only its due time moves (or not, if this fails).
      if (delay === 0) {
        await job.promote().catch(() => {});
        return;
      }
      // BullMQ keeps the add's timestamp when a delay changes, so timestamp + delay is the due time only of a
      // flush whose delay is still the one it was added with (one brought forward before stays as it is).
      if (job.delay !== job.opts.delay || job.timestamp + job.delay <= Date.now() + delay) return;
      await job.changeDelay(delay).catch(() => {});
    },
    windowMs: (cdnId, lane = 'normal') => {
      const setting = settings.get(cdnId);
      return setting ? laneWindow(setting, lane) : 0;
    },
  };
}

/** Settings of each CDN's flushes, from its config entry. */
export function flushSettings(config: Config) {
  return new Map<string, FlushSettings>(
    config.cdns.map((cdn) => [
      cdn.id,
      {
        windowMs: cdn.coalesce.windowMs,
        bulkWindowMs: cdn.coalesce.bulkWindowMs,
        attempts: mergePolicy(config.policy, cdn.policy).submit.attempts,
      },
    ]),
  );
}
