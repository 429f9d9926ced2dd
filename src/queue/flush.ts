import type { Queue } from 'bullmq';
import { mergePolicy } from '../config/policy.ts';
import type { Config } from '../config/schema.ts';
import type { Priority } from '../model/purge.ts';
import type { BatchJobData } from '../pipeline/job.ts';
import { BACKOFF_TYPE } from './names.ts';
import { BACKLOG_FLUSH_PRIORITY } from './poll-priority.ts';

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

/**
 * Most flushes of one CDN that take at once when a backlog fills several calls (and no more than its
 * concurrency): each take is one short Lua call, so a few in parallel keep the CDN's worker slots fed, where
 * one at a time (a take, its follow-up's add, that one's activation, its take...) left them waiting.
 */
export const MAX_FLUSH_SLOTS = 8;

/**
 * The deduplication id of an extra flush slot (1 and up; slot 0 is the CDN's own flush): at most one waits
 * per slot, as for the CDN's own.
 */
export function flushSlotDeduplicationId(cdnId: string, slot: number): string {
  return `flush-${cdnId}-slot-${slot}`;
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
  /** How many flushes may take at once while a backlog fills several calls (see MAX_FLUSH_SLOTS). */
  slots: number;
}

export interface FlushScheduler {
  /**
   * Makes sure a flush will run for the CDN: after the lane's window by default (urgent: at once; the delay
   * runs from the first target of the window, since later adds are folded into that flush), or after
   * `delayMs`. `backlog`: it carries on what a full call left behind, in turn with the polls due
   * (queue/poll-priority.ts), where a flush for new purges goes before them.
   */
  ensure(
    cdnId: string,
    options?: { lane?: Priority; delayMs?: number; backlog?: boolean; followUp?: boolean },
  ): Promise<void>;
  /**
   * Adds the flushes of extra slots (1..`count`), due at once, each taking only full calls: what a backlog
   * of several calls is drained with, beside the CDN's own flush. A slot whose flush waits gets no other.
   */
  spread(cdnId: string, count: number): Promise<void>;
  /** Adds the next flush of an extra slot, due at once (its last take left a full call behind). */
  continueSlot(cdnId: string, slot: number): Promise<void>;
  /** The CDN's coalescing window, for a lane (normal by default). */
  windowMs(cdnId: string, lane?: Priority): number;
  /** How many flushes of the CDN may take at once (1: only its own). */
  slots(cdnId: string): number;
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
  const lookup = (cdnId: string) => {
    const queue = queues.get(cdnId);
    const setting = settings.get(cdnId);
    if (!queue || !setting) throw new Error(`no queue for CDN ${cdnId}`);
    return { queue, setting };
  };
  const slotFlush = (cdnId: string, slot: number, setting: FlushSettings) => ({
    name: BATCH_JOB,
    data: { cdnId, step: 'take' as const, polls: 0, flushSlot: slot },
    opts: {
      deduplication: { id: flushSlotDeduplicationId(cdnId, slot) },
      attempts: setting.attempts,
      backoff: { type: BACKOFF_TYPE },
      // A slot carries a backlog on: it takes its turn with the polls due, as the own flush's follow-ups do.
      priority: BACKLOG_FLUSH_PRIORITY,
    },
  });
  return {
    async spread(cdnId, count) {
      const { queue, setting } = lookup(cdnId);
      const slots = Array.from({ length: Math.min(count, setting.slots - 1) }, (_, index) => index + 1);
      if (slots.length > 0) await queue.addBulk(slots.map((slot) => slotFlush(cdnId, slot, setting)));
    },
    async continueSlot(cdnId, slot) {
      const { queue, setting } = lookup(cdnId);
      const { name, data, opts } = slotFlush(cdnId, slot, setting);
      await queue.add(name, data, opts);
    },
    async ensure(cdnId, options = {}) {
      const { queue, setting } = lookup(cdnId);
      const lane = options.lane ?? 'normal';
      const longest = Math.max(setting.windowMs, setting.bulkWindowMs);
      const delay = Math.max(0, Math.min(options.delayMs ?? laneWindow(setting, lane), longest));
      const id =
        lane === 'bulk' && options.delayMs === undefined
          ? bulkFlushDeduplicationId(cdnId)
          : flushDeduplicationId(cdnId);
      await queue.add(
        BATCH_JOB,
        { cdnId, step: 'take', polls: 0, ...(options.followUp ? { followUp: true } : {}) },
        {
          delay,
          deduplication: { id },
          attempts: setting.attempts,
          backoff: { type: BACKOFF_TYPE },
          ...(options.backlog ? { priority: BACKLOG_FLUSH_PRIORITY } : {}),
        },
      );
      // Asked for a particular time (leftovers of a full call, a repair) or urgent: a flush already waiting
      // out a longer window is what the add was folded into, so it is brought forward. A producer's normal or
      // bulk add (the window itself) never needs this, nor a CDN where nothing ever waits.
      if ((options.delayMs === undefined && lane !== 'urgent') || longest === 0) return;
      const waiting = await queue.getDeduplicationJobId(id);
      const job = waiting ? await queue.getJob(waiting) : undefined;
      if (!job) return;
      // Folded into a backlog's flush that waits its turn among polls: an urgent purge lifts it ahead of them.
      if (lane === 'urgent' && !options.backlog && job.priority > 0)
        await job.changePriority({ priority: 0 }).catch(() => {});
      if (!(await job.isDelayed())) return;
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
    slots: (cdnId) => settings.get(cdnId)?.slots ?? 1,
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
        // Under a rate limit of its own the limit paces the calls, not the takes, and every activation counts
        // against it: extra flushes would only queue ahead of the polls.
        slots: cdn.rateLimit ? 1 : Math.min(cdn.concurrency, MAX_FLUSH_SLOTS),
      },
    ]),
  );
}
