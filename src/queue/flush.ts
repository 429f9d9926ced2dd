import type { Queue } from 'bullmq';
import { mergePolicy } from '../config/policy.ts';
import type { Config } from '../config/schema.ts';
import type { BatchJobData } from '../pipeline/job.ts';
import { BACKOFF_TYPE } from './names.ts';

/** The job that flushes a CDN's pending targets, then carries the batch it took: one job per CDN call. */
export const BATCH_JOB = 'batch';

/** At most one flush waits per CDN: adds while one waits are folded into it (BullMQ deduplication). */
export function flushDeduplicationId(cdnId: string): string {
  return `flush-${cdnId}`;
}

export interface FlushSettings {
  /** How long the oldest pending target waits for others to share its call. */
  windowMs: number;
  attempts: number;
}

export interface FlushScheduler {
  /**
   * Makes sure a flush will run for the CDN: after its window by default (the delay runs from the first
   * target of the window, since later adds are folded into that flush), or after `delayMs`.
   */
  ensure(cdnId: string, options?: { delayMs?: number }): Promise<void>;
  /** The CDN's coalescing window. */
  windowMs(cdnId: string): number;
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
      const delay = Math.max(0, Math.min(options.delayMs ?? setting.windowMs, setting.windowMs));
      const id = flushDeduplicationId(cdnId);
      await queue.add(
        BATCH_JOB,
        { cdnId, step: 'take', polls: 0 },
        { delay, deduplication: { id }, attempts: setting.attempts, backoff: { type: BACKOFF_TYPE } },
      );
      // Asked for a particular time (leftovers of a full call, a repair): a flush already waiting out a
      // longer window is what the add was folded into, so it is brought forward. A producer's add (the
      // window itself) never needs this, nor a CDN without a window, where nothing ever waits.
      if (options.delayMs === undefined || setting.windowMs === 0) return;
      const waiting = await queue.getDeduplicationJobId(id);
      const job = waiting ? await queue.getJob(waiting) : undefined;
      // Only one still waiting out its window: BullMQ keeps the add's timestamp when a delay changes, so only
      // then is timestamp + delay its due time (one brought forward before stays as it is).
      if (!job || job.delay !== setting.windowMs || !(await job.isDelayed())) return;
      if (job.timestamp + job.delay <= Date.now() + delay) return;
      // Crash window: none; the job is already durable, only its due time moves (or not, if this fails).
      await (delay === 0 ? job.promote() : job.changeDelay(delay)).catch(() => {});
    },
    windowMs: (cdnId) => settings.get(cdnId)?.windowMs ?? 0,
  };
}

/** Settings of each CDN's flushes, from its config entry. */
export function flushSettings(config: Config) {
  return new Map<string, FlushSettings>(
    config.cdns.map((cdn) => [
      cdn.id,
      { windowMs: cdn.coalesce.windowMs, attempts: mergePolicy(config.policy, cdn.policy).submit.attempts },
    ]),
  );
}
