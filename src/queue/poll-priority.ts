import type { Job } from 'bullmq';
import type { BatchJobData } from '../pipeline/job.ts';

/**
 * Polls and submits share their CDN's queue and its rate limit (a poll costs a call like a submit). BullMQ
 * takes every waiting job without a priority before any prioritized one, and prioritized ones by priority,
 * then in the order they came due. So:
 * - a flush for new purges (the producer's, the reconciler's repair) carries none: whatever is due, the next
 *   call the limit lets out is a new purge's submit;
 * - a poll aimed at the end the CDN's progress predicts comes next (one or two a task);
 * - then, in the order they came due, every other poll (narrowing a prediction, backing off, blind) and the
 *   flushes that carry on a backlog a full call left behind: a backlog and the polls of batches already sent
 *   share what is left, neither able to hold the other back for longer than the other's turn.
 */
export const END_POLL_PRIORITY = 1;
export const POLL_PRIORITY = 2;
export const BACKLOG_FLUSH_PRIORITY = POLL_PRIORITY;

export function pollPriorityOf(data: BatchJobData): number {
  if (data.step === 'verify') return POLL_PRIORITY;
  if (data.step !== 'poll') return 0;
  return data.pollTrack?.aimedAt !== undefined ? END_POLL_PRIORITY : POLL_PRIORITY;
}

/**
 * Sets the priority a job waits with before it moves to delayed (a job's priority travels with it through
 * delayed into the prioritized set): a Redis call only when it changes, twice or so in a batch's life.
 * Best effort: a job left at its old priority is still polled, only not ahead of the rest.
 */
export async function prioritisePoll(job: Job<BatchJobData>, data: BatchJobData): Promise<void> {
  const wanted = pollPriorityOf(data);
  if ((job.priority ?? 0) === wanted) return;
  await job.changePriority({ priority: wanted }).catch(() => {});
}
