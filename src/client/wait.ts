import { setTimeout as delay } from 'node:timers/promises';
import { isPurgeError } from '../errors.ts';
import { isPurgeFinished } from '../model/status.ts';
import { PurgeWaitTimeoutError } from './errors.ts';
import type { PurgeStatus, WaitOptions } from './types.ts';

export const DEFAULT_WAIT_TIMEOUT_MS = 10 * 60_000;
export const DEFAULT_POLL_INTERVAL_MS = 250;
export const DEFAULT_MAX_POLL_INTERVAL_MS = 5_000;

/**
 * Reads a purge's status until it ends, pausing between reads with doubling, bounded pauses. A read that
 * may pass (the API unreachable, 429, 503) is tried again at the next pause; any other refusal (NOT_FOUND,
 * UNAUTHORIZED) ends the wait. The caller's signal aborts it with its reason; the deadline cuts a read in
 * flight short too, so the wait never outlives `timeoutMs` by more than a moment.
 */
export async function waitForEnd(
  read: (signal: AbortSignal) => Promise<PurgeStatus>,
  purgeId: string,
  options: WaitOptions = {},
): Promise<PurgeStatus> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS;
  const maxInterval = options.maxPollIntervalMs ?? DEFAULT_MAX_POLL_INTERVAL_MS;
  const deadline = AbortSignal.timeout(timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
  let interval = Math.min(options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS, maxInterval);
  let last: PurgeStatus | undefined;
  let lastError: unknown;

  const stopped = (cause: unknown) => {
    if (options.signal?.aborted) return options.signal.reason as unknown;
    return deadline.aborted ? new PurgeWaitTimeoutError(purgeId, timeoutMs, last, lastError) : cause;
  };

  for (;;) {
    let pause = interval;
    try {
      last = await read(signal);
      options.onStatus?.(last);
      if (isPurgeFinished(last.state)) return last;
    } catch (error) {
      if (signal.aborted) throw stopped(error);
      if (!isPurgeError(error) || !error.retryable) throw error;
      lastError = error;
      // The API said when to come back (Retry-After): not sooner, but no later than the longest pause.
      pause = Math.min(maxInterval, Math.max(interval, error.retryAfterMs ?? 0));
    }
    try {
      await delay(pause, undefined, { signal });
    } catch (error) {
      throw stopped(error);
    }
    interval = Math.min(maxInterval, interval * 2);
  }
}
