import type { Queue } from 'bullmq';

/**
 * BullMQ only honours a queue-wide pause (queue.rateLimit, used when a CDN answers 429) on a queue that has
 * a global rate limit, so a CDN without a limit of its own still gets one, too high to ever bind.
 */
const UNBOUNDED = { max: 1_000_000, durationMs: 1_000 };

export async function applyRateLimit(queue: Queue, limit: { max: number; durationMs: number } | undefined) {
  const { max, durationMs } = limit ?? UNBOUNDED;
  await queue.setGlobalRateLimit(max, durationMs);
}

/** Jobs looked at for their deadlines when a 429 pauses a queue: enough for any realistic backlog's head. */
const DEADLINE_SCAN_LIMIT = 1_000;

/**
 * Pauses the CDN's queue for every worker after a 429, but never past the earliest deadline among the jobs
 * waiting in it (or running: a job mid-poll moves itself back to delayed): while the queue is paused no job
 * runs, so a batch whose deadline falls inside the pause could not end `timed_out` until the pause ended. A
 * job added later has its whole deadline ahead of it, and the job that asked for the pause has capped it at
 * its own deadline already. Only the first jobs of each state are read (their data is small: no targets), so a
 * pause costs a bounded read.
 */
export async function pauseForRateLimit(
  queue: Queue<{ deadlineAt?: number }>,
  requestedMs: number,
  now: number,
): Promise<number> {
  // Active jobs too: one mid-poll now moves itself to delayed, its deadline inside the pause.
  const jobs = await queue.getJobs(
    ['active', 'waiting', 'delayed', 'prioritized'],
    0,
    DEADLINE_SCAN_LIMIT - 1,
    true,
  );
  const earliest = Math.min(...jobs.map((job) => job?.data?.deadlineAt ?? Number.POSITIVE_INFINITY));
  const ms = Math.max(1, Math.min(requestedMs, earliest - now));
  await queue.rateLimit(ms);
  return ms;
}
