import { describeError } from '../errors.ts';
import type { Priority } from '../model/purge.ts';
import type { Logger } from '../observability/logger.ts';
import type { BatchJobData } from '../pipeline/job.ts';
import type { TakeResult } from '../status/store.ts';
import type { FlushScheduler } from './flush.ts';

export interface AfterTakeDeps {
  flushes: FlushScheduler;
  log: Logger;
  now: () => number;
}

/**
 * The flushes what a take left pending gets. Targets a full call left behind get the next flush at once
 * when they fill another call, else when the oldest of them has waited its window: a burst is sent in full
 * calls, not a full call and a scrap.
 *
 * A backlog of several calls is also taken in parallel: the CDN's own flush, finding at least two more calls
 * pending at the start of a drain, adds the flushes of extra slots (flush.ts: up to the CDN's concurrency,
 * none for a CDN with a rate limit of its own), and each slot's flush adds the slot's next one for as long
 * as its take leaves a full call behind. A slot's flush takes only a full call, so what would not fill one
 * still waits for the CDN's own flush and its window, as it would one flush at a time. Only the start of a
 * drain spreads: the follow-ups of the CDN's own flush (`followUp`) do not add the slots again, which would
 * cost an add per slot per call.
 *
 * Every one of them carries a backlog on, so it takes its turn with the polls due (poll-priority.ts), where
 * a flush for new purges goes before them.
 *
 * Crash window: killed before these adds, the leftovers wait for the next purge's flush or the reconciler's
 * sweep; an extra slot not added only takes nothing in parallel.
 */
export async function scheduleAfterTake(
  deps: AfterTakeDeps,
  data: BatchJobData,
  taken: TakeResult,
): Promise<void> {
  if (taken.stillPending === 0) return;
  const { cdnId } = data;
  const slot = data.flushSlot ?? 0;
  const another = taken.batchId !== undefined && taken.stillPending >= taken.items;
  const adds: Promise<void>[] = [];
  if (another && slot > 0) adds.push(deps.flushes.continueSlot(cdnId, slot));
  if (another && slot === 0) {
    adds.push(deps.flushes.ensure(cdnId, { delayMs: 0, followUp: true, backlog: true }));
    // Calls left beyond the one the follow-up takes, each for a slot of its own.
    const more = Math.floor(taken.stillPending / taken.items) - 1;
    if (!data.followUp && more > 0) adds.push(deps.flushes.spread(cdnId, more));
  }
  if (!another) {
    // The earliest any lane's oldest leftover is due: an urgent one at once.
    const dueAt = (acceptedAt: number, lane: Priority) =>
      acceptedAt > 0 ? acceptedAt + deps.flushes.windowMs(cdnId, lane) : Number.POSITIVE_INFINITY;
    const dueIn =
      Math.min(
        dueAt(taken.nextUrgentAt, 'urgent'),
        dueAt(taken.nextAcceptedAt, 'normal'),
        dueAt(taken.nextBulkAt, 'bulk'),
      ) - deps.now();
    adds.push(deps.flushes.ensure(cdnId, { delayMs: dueIn, backlog: true }));
  }
  // Best effort: failing here must not fail the batch just taken (the reconciler flushes leftovers).
  const failed = (await Promise.allSettled(adds)).find((result) => result.status === 'rejected');
  if (failed) {
    deps.log.warn(
      { err: describeError(failed.reason), cdnId },
      'cannot schedule the next flush; the reconciler will',
    );
  }
}
