import { describe, expect, it } from 'vitest';
import {
  boundedRetryAfter,
  exponentialDelay,
  nextPollDelay,
  submitRetryDelay,
  withJitter,
} from '../../src/pipeline/backoff.ts';

const poll = {
  initialIntervalMs: 1000,
  backoffCoefficient: 2,
  maxIntervalMs: 10_000,
  jitter: 0,
  deadlineMs: 60_000,
  notFoundGraceMs: 0,
};
const submit = {
  attempts: 5,
  initialIntervalMs: 500,
  backoffCoefficient: 3,
  maxIntervalMs: 5_000,
  jitter: 0.5,
};
const middle = () => 0.5;
const unbounded = { maxRetryAfterMs: Number.POSITIVE_INFINITY, timeLeftMs: Number.POSITIVE_INFINITY };

describe('backoff', () => {
  it('grows exponentially from the initial interval and stops at the max', () => {
    expect([0, 1, 2, 3, 4, 5].map((n) => exponentialDelay(n, poll))).toEqual([
      1000, 2000, 4000, 8000, 10_000, 10_000,
    ]);
  });

  it('spreads a delay over ±jitter', () => {
    expect(withJitter(1000, 0.2, () => 0)).toBe(800);
    expect(withJitter(1000, 0.2, () => 1)).toBe(1200);
    expect(withJitter(1000, 0, () => 0.9)).toBe(1000);
  });

  it('retries a submit on the exponential schedule, first retry at the initial interval', () => {
    expect(submitRetryDelay(1, submit, undefined, unbounded, middle)).toBe(500);
    expect(submitRetryDelay(2, submit, undefined, unbounded, middle)).toBe(1500);
    expect(submitRetryDelay(9, submit, undefined, unbounded, middle)).toBe(5000);
  });

  it("lets the CDN's Retry-After win, and jitter only lengthens it", () => {
    expect(submitRetryDelay(1, submit, 7000, unbounded, () => 0)).toBe(7000);
    expect(submitRetryDelay(1, submit, 7000, unbounded, () => 1)).toBe(10_500);
    expect(submitRetryDelay(1, submit, 0, unbounded, () => 0)).toBe(0);
  });

  it('honours a Retry-After for at most maxRetryAfterMs, and never past the deadline', () => {
    const capped = { maxRetryAfterMs: 300_000, timeLeftMs: Number.POSITIVE_INFINITY };
    expect(boundedRetryAfter(999_999_999_000, capped)).toBe(300_000);
    expect(boundedRetryAfter(7000, capped)).toBe(7000);
    expect(boundedRetryAfter(3_600_000, { maxRetryAfterMs: 300_000, timeLeftMs: 20_000 })).toBe(20_000);
    expect(boundedRetryAfter(7000, { maxRetryAfterMs: 300_000, timeLeftMs: -5 })).toBe(0);
    expect(submitRetryDelay(1, submit, 999_999_999_000, capped, () => 0)).toBe(300_000);
    expect(submitRetryDelay(1, submit, 999_999_999_000, capped, () => 1)).toBe(450_000);
  });

  it('puts no submit retry past the deadline, with or without a Retry-After', () => {
    const closeToDeadline = { maxRetryAfterMs: 300_000, timeLeftMs: 250 };
    expect(submitRetryDelay(1, submit, 3_600_000, closeToDeadline, () => 1)).toBe(250);
    expect(submitRetryDelay(9, submit, undefined, closeToDeadline, middle)).toBe(250);
    expect(submitRetryDelay(1, submit, undefined, { ...closeToDeadline, timeLeftMs: -1 }, middle)).toBe(0);
  });

  it('polls on the backoff schedule when the CDN gives no progress', () => {
    expect(nextPollDelay({ polls: 0, elapsedMs: 0 }, poll, middle)).toBe(1000);
    expect(nextPollDelay({ polls: 3, elapsedMs: 30_000 }, poll, middle)).toBe(8000);
  });

  it('polls sooner when progress says the task is nearly done', () => {
    // 90% after 9 s: about 1 s left, so look again in 1 s rather than after the 8 s backoff step.
    expect(nextPollDelay({ polls: 3, elapsedMs: 9000, progress: 90 }, poll, middle)).toBe(1000);
    // 10% after 2 s: 18 s left, the backoff step (8 s) is the sooner one.
    expect(nextPollDelay({ polls: 3, elapsedMs: 2000, progress: 10 }, poll, middle)).toBe(8000);
  });
});
