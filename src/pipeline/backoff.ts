import type { SubmitPolicy } from '../config/policy.ts';

export type Random = () => number;

interface Exponential {
  initialIntervalMs: number;
  backoffCoefficient: number;
  maxIntervalMs: number;
  jitter: number;
}

/** initial × coefficient^n, capped at the max interval; n counts from 0. */
export function exponentialDelay(n: number, policy: Omit<Exponential, 'jitter'>): number {
  return Math.min(
    policy.maxIntervalMs,
    policy.initialIntervalMs * policy.backoffCoefficient ** Math.max(0, n),
  );
}

/** Spreads a delay over ±jitter of itself so workers that failed together do not retry together. */
export function withJitter(delayMs: number, jitter: number, random: Random): number {
  return Math.max(0, Math.round(delayMs * (1 - jitter + 2 * jitter * random())));
}

/** What bounds any wait of a batch: the Retry-After cap of its policy and the time left before its deadline. */
export interface WaitBounds {
  maxRetryAfterMs: number;
  /** Deadline minus now; 0 or less once it has passed. */
  timeLeftMs: number;
}

/**
 * How long a CDN's Retry-After is honoured: never beyond `maxRetryAfterMs`, nor beyond the batch's
 * deadline, after which the batch ends anyway and must not be left waiting (or hold its queue paused).
 */
export function boundedRetryAfter(retryAfterMs: number, bounds: WaitBounds): number {
  return Math.max(0, Math.min(retryAfterMs, bounds.maxRetryAfterMs, bounds.timeLeftMs));
}

/**
 * Delay before submit retry number `attemptsMade` (1 after the first failure). A CDN's Retry-After (up to
 * `maxRetryAfterMs`) wins over our own schedule; jitter only ever lengthens it, so we never come back
 * before the CDN asked. No retry is put past the deadline: the re-run then ends the batch `timed_out`.
 */
export function submitRetryDelay(
  attemptsMade: number,
  policy: SubmitPolicy,
  retryAfterMs: number | undefined,
  bounds: WaitBounds,
  random: Random = Math.random,
): number {
  const delay =
    retryAfterMs === undefined
      ? withJitter(exponentialDelay(attemptsMade - 1, policy), policy.jitter, random)
      : Math.round(boundedRetryAfter(retryAfterMs, bounds) * (1 + policy.jitter * random()));
  return Math.max(0, Math.min(delay, bounds.timeLeftMs));
}

export interface PollProgress {
  /** Polls made so far (0 before the first). */
  polls: number;
  /** The CDN's completion estimate, 0..100, when it gives one. */
  progress?: number;
  /** Time since the CDN accepted the purge. */
  elapsedMs: number;
}

/**
 * Next poll delay: the backoff schedule, shortened when the CDN's progress says the task is nearly done.
 * At a steady rate the rest takes elapsed × (100 − p) / p; we look again then (never sooner than the
 * initial interval), so a purge at 90% is not left waiting for a long backoff step.
 */
export function nextPollDelay(
  state: PollProgress,
  policy: Exponential,
  random: Random = Math.random,
): number {
  let delay = exponentialDelay(state.polls, policy);
  const { progress } = state;
  if (progress !== undefined && progress > 0 && progress < 100) {
    const remaining = (state.elapsedMs * (100 - progress)) / progress;
    delay = Math.min(delay, Math.max(policy.initialIntervalMs, remaining));
  }
  return withJitter(delay, policy.jitter, random);
}
