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
