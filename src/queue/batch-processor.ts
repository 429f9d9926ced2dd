import { DelayedError, type Job, type Queue, RateLimitError, UnrecoverableError } from 'bullmq';
import { laneDeadlines, type Policy } from '../config/policy.ts';
import { describeError, isPurgeError, isRetryable } from '../errors.ts';
import type { PurgeTarget } from '../model/purge.ts';
import type { PipelineEvents } from '../observability/events.ts';
import type { Logger } from '../observability/logger.ts';
import { nextPollDelay } from '../pipeline/backoff.ts';
import type { BatchJobData } from '../pipeline/job.ts';
import type { Polling } from '../pipeline/poll-plan.ts';
import { runStep } from '../pipeline/step.ts';
import type { VerificationContext } from '../pipeline/verify-step.ts';
import type { Provider } from '../providers/provider.ts';
import type { TakeBudget } from '../status/flush-forecast.ts';
import type { InProgressBudget } from '../status/in-progress.ts';
import type { QuotaCharge, StatusStore } from '../status/store.ts';
import { scheduleAfterTake } from './after-take.ts';
import { type FlushScheduler, flushBatchId } from './flush.ts';
import { prioritisePoll } from './poll-priority.ts';
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
  chargesOf?: (target: PurgeTarget, queuedAt: number) => readonly QuotaCharge[];
  /** Schedules this CDN's next flush when a take leaves targets pending. */
  flushes: FlushScheduler;
  /** How much one call takes: items, and characters for a CDN whose limit is a length. */
  callBudget: TakeBudget;
  /** Set when this CDN checks its edges once a batch is done (cdns[].verify). */
  verification?: VerificationContext;
  /** This CDN's poll schedule and its learnt task durations (pipeline/poll-plan.ts). */
  polling?: Polling;
  /** Set for a CDN with an in-progress budget (CloudFront): each submit reserves its share first. */
  inProgress?: InProgressBudget;
}

/**
 * Past the submit: the CDN has the purge (its task id is in the job's data), so only polls remain, or the
 * checks of a verifying batch, whose errors on our side (a Redis blip, a re-purge not accepted) are looked
 * at again later in the same way.
 */
function isPolling(data: BatchJobData): data is BatchJobData & { deadlineAt: number } {
  if (data.step === 'verify') return data.verify !== undefined;
  return data.step === 'poll' && data.remoteId !== undefined && data.deadlineAt !== undefined;
}

/** Items a take may hold: a CDN with no item limit (VIMS) is bounded by characters, and by this. */
export const MAX_TAKE_ITEMS = 10_000;

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
    const deadlineAt = data.verify?.deadlineAt ?? data.deadlineAt ?? Number.POSITIVE_INFINITY;
    const until = Math.min(deps.now() + delay, deadlineAt);
    // Crash window: killed before the move, the job is still active; its lock lapses and it is re-run.
    await job.moveToDelayed(until, token);
    throw new DelayedError();
  }

  /**
   * The flush's take. Its deduplication key goes first, in the take's own call (take.lua), so a target
   * accepted from now on gets a flush of its own instead of being folded into this one, which may already
   * have taken its targets. What it leaves pending gets its flushes as after-take.ts says, from `schedule`,
   * which runs beside the submit (nothing in it waits on them) and is awaited before the run ends.
   */
  async function take(job: Job<BatchJobData>, schedule: (scheduling: Promise<void>) => void) {
    const { cdnId } = job.data;
    const jobId = String(job.id);
    const taken = await deps.store.take({
      cdnId,
      flushId: jobId,
      batchId: flushBatchId(cdnId, jobId),
      maxItems: Math.min(deps.callBudget.maxItems, MAX_TAKE_ITEMS),
      maxChars: deps.callBudget.maxChars,
      charsOf: deps.callBudget.charsOf,
      ...(deps.callBudget.maxDirs ? { maxDirs: deps.callBudget.maxDirs } : {}),
      ...(deps.callBudget.maxTags ? { maxTags: deps.callBudget.maxTags } : {}),
      deadlineMs: {
        urgent: laneDeadlines(deps.policy, 'urgent').queueMs,
        normal: laneDeadlines(deps.policy, 'normal').queueMs,
        bulk: laneDeadlines(deps.policy, 'bulk').queueMs,
      },
      now: deps.now(),
      // The submit comes next in this run: its claim rides on the take (no transition of its own).
      claim: true,
      ...(job.deduplicationId
        ? { deduplication: deduplicationOf(deps.queue, job.deduplicationId, jobId) }
        : {}),
      ...(job.data.flushSlot ? { fullOnly: true } : {}),
    });
    // Guarded although it handles its own failures: left pending across the CDN call, a rejection would be
    // unhandled, and would crash the worker mid-submit.
    schedule(
      scheduleAfterTake(deps, job.data, taken).catch((error: unknown) => {
        deps.log.warn({ err: describeError(error), cdnId: job.data.cdnId }, 'cannot schedule the next flush');
      }),
    );
    return taken;
  }

  async function runAndCarryOut(
    job: Job<BatchJobData>,
    token: string | undefined,
    signal: AbortSignal | undefined,
    log: Logger,
  ) {
    let outcome: Awaited<ReturnType<typeof runStep>>;
    // Never rejects (after-take.ts logs what failed). Crash window: killed before these adds land, the
    // leftovers wait for the next purge's flush or the reconciler's sweep, as after-take.ts says.
    let scheduling: Promise<void> | undefined;
    try {
      outcome = await runStep(job.data, {
        provider: deps.provider,
        store: deps.store,
        policy: deps.policy,
        log,
        now: deps.now,
        random: deps.random,
        checkpoint: (data) => job.updateData(data),
        // BullMQ's own key for the job (what job.updateData writes): the record's transition stores the
        // data there in its call, as updateData would.
        jobData: {
          key: deps.queue.toKey(String(job.id)),
          // The priority the job will wait with, in the same round trip (the wait's own prioritisePoll
          // then has nothing left to change). Best effort, as prioritisePoll always is: should the
          // transition fail, the re-run's step sets the priority its own wait needs.
          alongside: (data) => prioritisePoll(job, data),
          adopt: (data) => {
            job.data = data;
          },
        },
        isLastAttempt: job.attemptsMade + 1 >= (job.opts.attempts ?? 1),
        onRateLimited: async (ms) => {
          const pauseMs = await pauseForRateLimit(deps.queue, ms, deps.now());
          deps.events?.emit('queue:rate-limited', { cdnId: job.data.cdnId, pauseMs });
        },
        take: () =>
          take(job, (next) => {
            scheduling = next;
          }),
        ...(deps.verification ? { verification: deps.verification } : {}),
        ...(deps.polling ? { polling: deps.polling } : {}),
        ...(deps.inProgress ? { inProgress: deps.inProgress } : {}),
        ...(deps.chargesOf ? { quotaCharges: deps.chargesOf } : {}),
        ...(deps.events ? { events: deps.events } : {}),
        ...(signal ? { signal } : {}),
      });
    } catch (error) {
      // The queue is paused for the CDN's Retry-After; waiting for it is not a failed attempt.
      if (isPurgeError(error) && error.code === 'CDN_RATE_LIMITED') throw new RateLimitError();
      throw error;
    } finally {
      await scheduling;
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
      await showProgress(job, progressOf(outcome.data));
      await prioritisePoll(job, outcome.data);
      await job.moveToDelayed(outcome.until, token);
      throw new DelayedError();
    }
    if (outcome.kind === 'empty') return { empty: 'nothing to take' };
    for (const purgeId of outcome.callbacksDue) await deps.onCallbackDue?.(purgeId);
    if (outcome.kind === 'skipped') return { skipped: 'the batch had already ended' };
    if (outcome.state !== 'succeeded') throw new UnrecoverableError(`${outcome.state}: ${outcome.reason}`);
    // Its progress (100) was written by the transition that ended it (finish.ts).
    return { state: outcome.state };
  }

  return async (job: Job<BatchJobData>, token?: string, signal?: AbortSignal) => {
    const log = deps.log.child({
      cdnId: job.data.cdnId,
      jobId: job.id,
      ...(job.data.batchId ? { batchId: job.data.batchId } : {}),
      ...(job.data.remoteId ? { remoteId: job.data.remoteId } : {}),
    });
    try {
      return await runAndCarryOut(job, token, signal, log);
    } catch (error) {
      if (isQueueSignal(error) || signal?.aborted) throw error;
      // Read after the step: its checkpoint may have just moved the job on to polling.
      const deadlineAt = job.data.verify?.deadlineAt ?? job.data.deadlineAt;
      if (isPolling(job.data) && isRetryable(error) && deps.now() < (deadlineAt ?? 0)) {
        return pollAgainLater(job, token, error, log);
      }
      throw error;
    }
  };
}

/**
 * Where BullMQ keeps a deduplication id (`<queue keys.de>:<id>`, as its removeDeduplicationKey addresses it),
 * so take.lua can drop it as that would. test/queue/flush-take-drops-its-deduplication-key.test.ts checks it
 * against BullMQ's own reading of the key.
 */
function deduplicationOf(queue: Queue, deduplicationId: string, jobId: string) {
  return { key: `${queue.keys.de}:${deduplicationId}`, jobId };
}

/** The CDN's progress, as the step last saw it (a verifying batch is done at the CDN: 100). */
function progressOf(data: BatchJobData): number | undefined {
  if (data.step === 'verify') return 100;
  const seen = (data as BatchJobData & { progress?: unknown }).progress;
  return typeof seen === 'number' ? seen : undefined;
}

/**
 * Shows the CDN's progress on the dashboard (BullMQ's job progress, bull-board's bar), only when it moved:
 * a write per change, not per poll. Cosmetic: failing here must not fail the step.
 */
async function showProgress(job: Job<BatchJobData>, progress: number | undefined): Promise<void> {
  if (progress === undefined || job.progress === progress) return;
  await job.updateProgress(progress).catch(() => {});
}

/** What the processor throws on purpose to tell BullMQ where the job goes next: never a failure of ours. */
function isQueueSignal(error: unknown): boolean {
  return (
    error instanceof DelayedError || error instanceof RateLimitError || error instanceof UnrecoverableError
  );
}
