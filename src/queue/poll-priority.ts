import type { Job } from 'bullmq';
import type { BatchJobData } from '../pipeline/job.ts';

/**
 * Polls and submits share their CDN's queue and its rate limit (a poll costs a call like a submit). BullMQ
 * takes every waiting job without a priority before any prioritized one, so flushes (a take and its
 * submit, and their retries) carry none, and a batch becomes a prioritized job once it polls: however many
 * polls are due, the next call the limit lets out is a waiting submit. Among polls, one aimed at the end the
 * CDN's progress predicts goes before one that only narrows the prediction, backs off, or polls blind;
 * within each, the one due first goes first.
 */
export const END_POLL_PRIORITY = 1;
export const POLL_PRIORITY = 2;

export function pollPriorityOf(data: BatchJobData): number {
  if (data.step !== 'poll' && data.step !== 'verify') return 0;
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
