import { DelayedError, type Job, type Queue, RateLimitError, UnrecoverableError } from 'bullmq';
import type { Policy } from '../config/policy.ts';
import { describeError, isPurgeError, isRetryable } from '../errors.ts';
import type { PipelineEvents } from '../observability/events.ts';
import type { Logger } from '../observability/logger.ts';
import { nextPollDelay } from '../pipeline/backoff.ts';
import type { BatchJobData } from '../pipeline/job.ts';
import { runStep } from '../pipeline/step.ts';
import type { Provider } from '../providers/provider.ts';
import type { QuotaCharge, StatusStore } from '../status/store.ts';
import { pauseForRateLimit } from './rate-limit.ts';

export interface BatchProcessorDeps {
  provider: Provider;
  policy: Policy;
  store: StatusStore;
  /** This CDN's queue: a 429 pauses it for every worker process. */
  queue: Queue;
  log: Logger;
  now: () => number;
  random: () => number;
  events?: PipelineEvents;
  onCallbackDue?: (purgeId: string) => Promise<void>;
  /** What a batch was charged against its CDN's daily quota (given back if it ends unaccepted). */
  chargesOf?: (data: BatchJobData) => readonly QuotaCharge[];
}

/** Past the submit: the CDN has the purge (its task id is in the job's data), so only polls remain. */
function isPolling(data: BatchJobData): boolean {
  return data.step === 'poll' && data.remoteId !== undefined;
}

/**
 * Runs one step of a batch job and carries its outcome out in BullMQ terms: re-delay the job (the next
 * poll), complete it, fail it for good (UnrecoverableError), or hand it back while the CDN rate-limits us.
 */
export function createBatchProcessor(deps: BatchProcessorDeps) {
  /**
   * A poll step that threw (its CDN call is handled inside it, so this is our side: a Redis error writing
   * the record, say) is re-delayed like any failed poll, so it spends no submit attempt: attempts are for
   * submits. Until the deadline only; after it the error goes to BullMQ, whose attempts bound the retries
   * and whose final failure is recorded by the pool.
   */
  async function pollAgainLater(
    job: Job<BatchJobData>,
    token: string | undefined,
    error: unknown,
    log: Logger,
  ): Promise<never> {
    const { data } = job;
    log.warn({ err: describeError(error), polls: data.polls }, 'poll step failed, will poll again');
    deps.events?.emit('batch:retry', { cdnId: data.cdnId, op: 'poll' });
    const delay = nextPollDelay({ polls: data.polls, elapsedMs: 0 }, deps.policy.poll, deps.random);
    const until = Math.min(deps.now() + delay, data.deadlineAt);
    // Crash window: killed before the move, the job is still active; its lock lapses and it is re-run.
    await job.moveToDelayed(until, token);
    throw new DelayedError();
  }

  async function runAndCarryOut(
    job: Job<BatchJobData>,
    token: string | undefined,
    signal: AbortSignal | undefined,
    log: Logger,
  ) {
    let outcome: Awaited<ReturnType<typeof runStep>>;
    try {
      outcome = await runStep(job.data, {
        provider: deps.provider,
        store: deps.store,
        policy: deps.policy,
        log,
        now: deps.now,
        random: deps.random,
        checkpoint: (data) => job.updateData(data),
        isLastAttempt: job.attemptsMade + 1 >= (job.opts.attempts ?? 1),
        onRateLimited: async (ms) => void (await pauseForRateLimit(deps.queue, ms, deps.now())),
        ...(deps.chargesOf ? { quotaCharges: deps.chargesOf(job.data) } : {}),
        ...(deps.events ? { events: deps.events } : {}),
        ...(signal ? { signal } : {}),
      });
    } catch (error) {
      // The queue is paused for the CDN's Retry-After; waiting for it is not a failed attempt.
      if (isPurgeError(error) && error.code === 'CDN_RATE_LIMITED') throw new RateLimitError();
      throw error;
    }
    if (outcome.kind === 'released') {
      // Back to the queue due now, and not as an attempt (moveToDelayed skips counting one), so even a job on
      // its last attempt survives a shutdown. This closing worker fetches nothing more; another takes it.
      // Crash window: Redis already cut, the move fails, the job stays active and its lock lapses; the
      // stalled-job check then re-queues it just the same, only later.
      await job.moveToDelayed(deps.now(), token);
      throw new DelayedError();
    }
    if (outcome.kind === 'wait') {
      // Data first, then the move: a crash between the two re-runs the step with the new data.
      if (!outcome.persisted) await job.updateData(outcome.data);
      await job.moveToDelayed(outcome.until, token);
      throw new DelayedError();
    }
    if (outcome.callbackDue) await deps.onCallbackDue?.(job.data.purgeId);
    if (outcome.kind === 'skipped') return { skipped: 'the batch had already ended' };
    if (outcome.state !== 'succeeded') throw new UnrecoverableError(`${outcome.state}: ${outcome.reason}`);
    return { state: outcome.state };
  }

  return async (job: Job<BatchJobData>, token?: string, signal?: AbortSignal) => {
    const log = deps.log.child({
      purgeId: job.data.purgeId,
      cdnId: job.data.cdnId,
      jobId: job.id,
      ...(job.data.remoteId ? { remoteId: job.data.remoteId } : {}),
    });
    try {
      return await runAndCarryOut(job, token, signal, log);
    } catch (error) {
      if (isQueueSignal(error) || signal?.aborted) throw error;
      // Read after the step: its checkpoint may have just moved the job on to polling.
      if (isPolling(job.data) && isRetryable(error) && deps.now() < job.data.deadlineAt) {
        return pollAgainLater(job, token, error, log);
      }
      throw error;
    }
  };
}

/** What the processor throws on purpose to tell BullMQ where the job goes next: never a failure of ours. */
function isQueueSignal(error: unknown): boolean {
  return (
    error instanceof DelayedError || error instanceof RateLimitError || error instanceof UnrecoverableError
  );
}
