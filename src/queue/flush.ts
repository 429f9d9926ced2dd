import type { Queue } from 'bullmq';
import { mergePolicy } from '../config/policy.ts';
import type { Config } from '../config/schema.ts';
import type { BatchJobData } from '../pipeline/job.ts';
import type { Provider } from '../providers/provider.ts';
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
  /** A call's worth of targets: with this many pending, waiting longer gains nothing. */
  callSize: number;
  attempts: number;
}

export interface FlushScheduler {
  /**
   * Makes sure a flush will run for the CDN: within its window, at once when `pending` fills a call or
   * `now` is asked (targets left over by a full call have waited long enough).
   */
  ensure(cdnId: string, options: { pending?: number; now?: boolean }): Promise<void>;
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
    async ensure(cdnId, { pending = 0, now = false }) {
      const queue = queues.get(cdnId);
      const setting = settings.get(cdnId);
      if (!queue || !setting) throw new Error(`no queue for CDN ${cdnId}`);
      const immediately = now || pending >= setting.callSize || setting.windowMs === 0;
      const id = flushDeduplicationId(cdnId);
      await queue.add(
        BATCH_JOB,
        { cdnId, step: 'take', polls: 0 },
        {
          delay: immediately ? 0 : setting.windowMs,
          deduplication: { id },
          attempts: setting.attempts,
          backoff: { type: BACKOFF_TYPE },
        },
      );
      if (!immediately) return;
      // A flush already waiting out its window is what the add was folded into: start it now.
      const waiting = await queue.getDeduplicationJobId(id);
      const job = waiting ? await queue.getJob(waiting) : undefined;
      if (job && (await job.isDelayed())) await job.promote().catch(() => {});
    },
  };
}

/** Settings of each CDN's flushes, from its provider's call size and its config. */
export function flushSettings(config: Config, providers: ReadonlyMap<string, Provider>) {
  return new Map<string, FlushSettings>(
    config.cdns.map((cdn) => {
      const maxItems = providers.get(cdn.id)?.capabilities.maxItemsPerCall ?? 1;
      return [
        cdn.id,
        {
          windowMs: cdn.coalesce.windowMs,
          callSize: Number.isFinite(maxItems) ? maxItems : Number.POSITIVE_INFINITY,
          attempts: mergePolicy(config.policy, cdn.policy).submit.attempts,
        },
      ];
    }),
  );
}
