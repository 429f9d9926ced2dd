import { laneDeadlines, type Policy } from '../config/policy.ts';
import { describeError, errorCodeOf, isRetryable, PurgeError } from '../errors.ts';
import { type PurgeTarget, targetSize } from '../model/purge.ts';
import { callOutcome, type PipelineEvents } from '../observability/events.ts';
import type { Logger } from '../observability/logger.ts';
import type { Provider, SubmitResult } from '../providers/provider.ts';
import type { InProgressBudget, Reservation } from '../status/in-progress.ts';
import type { QuotaCharge, StatusStore, TakeResult } from '../status/store.ts';
import { boundedRetryAfter, nextPollDelay, type Random } from './backoff.ts';
import { finish, NO_ERROR, ref, timedOut } from './finish.ts';
import type { BatchJobData, StepOutcome, TakenBatchJobData } from './job.ts';
import { type Polling, pollingOf } from './poll-plan.ts';
import { startVerification, type VerificationContext, verifyStep } from './verify-step.ts';

export interface StepContext {
  provider: Provider;
  store: StatusStore;
  /** Takes this flush's batch from the CDN's pending targets (the same one again on a re-run). */
  take: () => Promise<TakeResult>;
  /** What a batch was charged against its CDN's daily quota: given back if it ends unaccepted. */
  quotaCharges?: (target: PurgeTarget, queuedAt: number) => readonly QuotaCharge[];
  policy: Policy;
  log: Logger;
  now: () => number;
  random: Random;
  /** Durably stores the job's data before the step goes on (BullMQ's job.updateData). */
  checkpoint: (data: BatchJobData) => Promise<void>;
  /**
   * Where the job's data is kept, so that a transition of the record can store it in the same call (one
   * atomic step, no crash window between the two, one round trip fewer); unset, `checkpoint` stores it
   * first. `alongside` runs beside that call (the wait's priority); `adopt` is told the data as the call
   * goes out, as the queue's own update of a job's data does.
   */
  jobData?: {
    key: string;
    alongside(data: BatchJobData): Promise<void>;
    adopt(data: BatchJobData): void;
  };
  /** True when a transient failure now would be the last one the queue allows. */
  isLastAttempt: boolean;
  events?: PipelineEvents;
  /** Told when the CDN answers 429, to hold every call to it (all workers) for that long. */
  onRateLimited?: (ms: number) => Promise<void>;
  /** Set when this CDN checks its edges after a batch is done, or purges twice (cdns[].verify). */
  verification?: VerificationContext;
  /**
   * Aborted only by our own worker letting go of the job (shutdown past its grace): a CDN call it cut short
   * says nothing about the CDN, so the step is released rather than counted as failed.
   */
  signal?: AbortSignal;
  /** The CDN's poll schedule and what it learnt of its tasks (pipeline/poll-plan.ts); default: unlearnt. */
  polling?: Polling;
  /** Set for a CDN with an in-progress budget (capabilities.inProgressLimit): reserved before each submit. */
  inProgress?: InProgressBudget;
}

/**
 * One step of a batch's life: take it from the pending targets, submit it, or poll it once. The queue layer
 * runs the step and carries out its outcome (re-delay the job, or finish it); nothing here knows about BullMQ.
 */
export function runStep(data: BatchJobData, context: StepContext): Promise<StepOutcome> {
  if (!isTaken(data)) return takeStep(data, context);
  if (data.step === 'verify') return verifyStep(data, context);
  return data.step === 'submit' || data.remoteId === undefined
    ? submitStep(data, context)
    : pollStep(data, context);
}

function isTaken(data: BatchJobData): data is TakenBatchJobData {
  return (
    data.step !== 'take' &&
    data.batchId !== undefined &&
    data.deadlineAt !== undefined &&
    data.acceptedAt !== undefined
  );
}

/*
 * Crash windows of a take, and why none loses a target:
 * - killed before take.lua ran: nothing moved; the re-run (the stalled job) takes.
 * - killed after it: the targets are in the batch, and the flush's marker names it, so the re-run gets the
 *   same batch back instead of taking others (no target is in two unsent batches), claimed again unless it
 *   has ended meanwhile. Until the submit's checkpoint the job's data still says `take`, and need not say
 *   more: every re-run from here takes the same batch again. BullMQ's side learns of the batch only where it
 *   needs to: a submit that fails and is retried checkpoints it first (the retry's backoff stops at its
 *   deadline), and a job BullMQ fails for good at `take` names its batch by its own id (flushBatchId).
 */
async function takeStep(data: BatchJobData, ctx: StepContext): Promise<StepOutcome> {
  const taken = await ctx.take();
  if (taken.batchId === undefined) return { kind: 'empty' };
  // How the flush was to take says nothing about the batch it became.
  const { flushSlot: _slot, followUp: _followUp, ...flush } = data;
  const next: TakenBatchJobData = {
    ...flush,
    step: 'submit',
    batchId: taken.batchId,
    acceptedAt: taken.acceptedAt,
    deadlineAt: taken.deadlineAt,
    lane: taken.lane,
  };
  return submitStep(
    next,
    { ...ctx, log: ctx.log.child({ batchId: taken.batchId }) },
    {
      ...taken.batch,
      claimed: taken.claimed,
    },
  );
}

/*
 * Crash windows of a submit, and why none loses the purge:
 * - killed before the CDN answered, or after it accepted but before its data is stored (storeWithRecord):
 *   the job is still active in BullMQ; its lock lapses, the stalled-job check re-queues it, and the re-run
 *   (at `take` or `submit`: the same batch either way) claims and submits again. The CDN may purge twice
 *   (harmless, counted in `attempts`; CloudFront hands the same invalidation back for the submit key),
 *   never zero times.
 * - killed after that: the re-run finds `remoteId` in the job data and polls instead.
 * - killed after the job moved to delayed: that delayed job is the poll, already durable in Redis.
 */
async function submitStep(
  data: TakenBatchJobData,
  ctx: StepContext,
  /**
   * What the take just read (read from the batch when a re-run starts here), and whether the take claimed
   * the batch for this submit. Given, `data` is not in the job yet: the job still says `take`.
   */
  taken?: { target: PurgeTarget; purgeIds: string[]; claimed: boolean },
): Promise<StepOutcome> {
  const { provider, store, log } = ctx;
  const batch = taken ?? (await store.batchTarget(data.batchId));
  // No record: the batch expired (a job far older than any deadline); nobody is waiting for it.
  if (!batch) return { kind: 'skipped', callbacksDue: [] };
  const { target, purgeIds } = batch;
  if (ctx.now() >= data.deadlineAt) {
    return finish(
      data,
      ctx,
      timedOut('queue deadline passed (policy.queueDeadlineMs) before the CDN accepted the purge'),
      {},
      target,
    );
  }
  // The take claimed it in the same call when it could; a batch it did not claim (ended, or a re-run that
  // starts here) is claimed, or refused, by a transition of its own.
  if (!taken?.claimed) {
    // A batch held back for the in-progress budget made no call since its last claim: no attempt to count.
    const attempts = data.heldBack ? {} : { attempts: 1 };
    const claimed = await store.update(ref(data), { state: 'submitting' }, ctx.now(), attempts);
    // Ended already (a re-run after a crash, a retry from the dashboard): purging again would only cost quota.
    if (claimed.outcome !== 'applied') return { kind: 'skipped', callbacksDue: claimed.callbacksDue };
  }
  // A CDN that lets only so much be in progress (CloudFront): the batch waits its turn instead of failing.
  // Crash window: killed after the reservation and before the submit, the re-run holds the same reservation
  // (by batch id); a batch that ends any way at all gives it back at the next reservation (in-progress.lua).
  if (ctx.inProgress) {
    const reservation = await ctx.inProgress.reserve(data.batchId, target);
    if (!reservation.fits) return heldBack(data, ctx, budgetFull(provider.name, reservation));
  }
  let accepted: SubmitResult;
  const sentAt = ctx.now();
  try {
    // Crash window: killed after the CDN accepted and before the record says so, the re-run submits again
    // with the same key, so a CDN that has one (CloudFront) hands back the same purge instead of a second.
    accepted = await provider.submit(target, ctx.signal, { submitKey: `${data.batchId}:${data.acceptedAt}` });
  } catch (error) {
    // Not a failure, not even on the last attempt: the next worker submits again (counted in `attempts`).
    if (ctx.signal?.aborted) return released(ctx, 'submit');
    const reason = describeError(error);
    ctx.events?.emit('cdn:call', {
      cdnId: data.cdnId,
      op: 'submit',
      outcome: callOutcome(error as PurgeError),
    });
    // The CDN's own count of what is in progress (another tool's invalidations count too): wait, as above.
    if (error instanceof PurgeError && error.code === 'CDN_BUSY') return heldBack(data, ctx, error);
    const rateLimited = await holdOffIfRateLimited(error, data, ctx);
    // A 429 is the CDN asking us to wait, not a failed attempt: it is retried until the deadline.
    if (isRetryable(error) && (!ctx.isLastAttempt || rateLimited)) {
      ctx.events?.emit('batch:retry', { cdnId: data.cdnId, op: 'submit' });
      const { retryAfterMs } = error as PurgeError;
      log.warn({ err: reason, code: errorCodeOf(error), retryAfterMs }, 'submit failed, will retry');
      await store.update(ref(data), errorPatch(error), ctx.now());
      // The retry's backoff is bounded by the batch's deadline, read from the job: it must say `submit` now.
      // Crash window: killed before this lands, the re-run takes the same batch again (its marker).
      if (taken) await ctx.checkpoint(data);
      throw error;
    }
    const why = isRetryable(error)
      ? `gave up after ${ctx.policy.submit.attempts} attempts: ${reason}`
      : reason;
    return finish(data, ctx, { state: 'failed', reason: why, code: errorCodeOf(error) }, {}, target);
  }
  const { remoteId, requestId } = accepted;
  const { heldBack: _held, ...submitted } = data;
  data = submitted;
  const submittedAt = ctx.now();
  ctx.events?.emit('cdn:call', { cdnId: data.cdnId, op: 'submit', outcome: callOutcome() });
  // The CDN's rate headers said this call was the window's last: every worker waits for its reset now,
  // instead of spending the next call on a 429.
  if (accepted.rateLimit && accepted.rateLimit.remaining <= 0)
    await holdOff(Math.max(1, accepted.rateLimit.resetAfterMs), data, ctx);
  // The CDN has it: from here the poll deadline counts, from now (the queue's time is behind it).
  const deadlineAt = submittedAt + laneDeadlines(ctx.policy, data.lane ?? 'normal').pollMs;
  const logAccepted = () =>
    log.info(
      { remoteId, purgeIds, items: targetSize(target), ...(requestId ? { cdnRequestId: requestId } : {}) },
      'purge accepted by CDN',
    );
  const emitSubmitted = () =>
    ctx.events?.emit('batch:submitted', {
      cdnId: data.cdnId,
      batchId: data.batchId,
      secondsSinceQueued: (submittedAt - data.acceptedAt) / 1000,
    });
  if (accepted.doneAtAcceptance) {
    const settled = { remoteId, submittedAt, deadlineAt, done: accepted.doneAtAcceptance };
    return settleAtAcceptance(data, ctx, settled, () => {
      logAccepted();
      emitSubmitted();
    });
  }
  const first = await pollingOf(ctx).first(submittedAt, sentAt);
  const until = Math.min(submittedAt + first.delayMs, deadlineAt);
  const next: BatchJobData = {
    ...data,
    step: 'poll',
    remoteId,
    submittedAt,
    deadlineAt,
    polls: 0,
    ...first.data,
    readyAt: until,
  };
  await storeWithRecord(ctx, next, data, {
    state: 'submitted',
    remoteId,
    submittedAt,
    deadlineAt,
    ...NO_ERROR,
  });
  logAccepted();
  emitSubmitted();
  return { kind: 'wait', until, data: next, persisted: true };
}

/**
 * The job's next data and the record's `submitted`, stored in one call where the queue layer says where the
 * job's data lives (else the checkpoint first, then the record: a crash between the two re-runs a poll that
 * re-states `submitted`, pollStep). Crash window: none between the two in the one-call form; killed before
 * it lands, the re-run submits again (the submit key gets a CDN that has one the same purge back).
 */
async function storeWithRecord(
  ctx: StepContext,
  next: BatchJobData,
  data: TakenBatchJobData,
  patch: Parameters<StatusStore['update']>[1],
): Promise<void> {
  const at = next.submittedAt ?? ctx.now();
  if (!ctx.jobData) {
    await ctx.checkpoint(next);
    await ctx.store.update(ref(data), patch, at);
    return;
  }
  const jobData = { key: ctx.jobData.key, data: next };
  // Adopted before the call, as BullMQ's own updateData does: should the call fail, the queue layer still
  // sees a batch the CDN has accepted (its task id in the data) and polls it again, rather than spending a
  // submit attempt (or, on the last, failing a purge the CDN is doing).
  ctx.jobData.adopt(next);
  await Promise.all([ctx.store.update(ref(data), patch, at, {}, [], jobData), ctx.jobData.alongside(next)]);
}

/*
 * A CDN with no status to poll (Fastly, Cloudflare, Akamai Fast Purge v3, Varnish) said at its acceptance
 * when the batch is done: now, or after its own estimate (Akamai's estimatedSeconds). Nothing asks the CDN
 * again; the batch's `completion` says how it was judged done. Crash windows:
 * - done now: killed before the one transition that ends it, the re-run submits again (harmless: a purge
 *   repeated, counted in `attempts`); after it, the re-run finds the batch final and only re-sends callbacks.
 * - done later: killed before checkpoint(), the re-run submits again; after it, the delayed job is the wait,
 *   durable in Redis, and its `poll` step ends the batch at `doneAt` without a call (pollStep).
 */
async function settleAtAcceptance(
  data: TakenBatchJobData,
  ctx: StepContext,
  settled: {
    remoteId: string;
    submittedAt: number;
    deadlineAt: number;
    done: NonNullable<SubmitResult['doneAtAcceptance']>;
  },
  announce: () => void,
): Promise<StepOutcome> {
  const { remoteId, submittedAt, done } = settled;
  // Never past the poll deadline: an estimate beyond it would only end the batch timed out later.
  const deadlineAt = Math.max(submittedAt, settled.deadlineAt);
  const doneAt = Math.min(submittedAt + Math.max(0, done.afterMs), deadlineAt);
  const next: TakenBatchJobData = {
    ...data,
    step: 'poll',
    remoteId,
    submittedAt,
    deadlineAt,
    polls: 0,
    doneAt,
    readyAt: doneAt,
  };
  const acceptance = { remoteId, submittedAt, completion: done.note };
  if (doneAt > submittedAt) {
    await storeWithRecord(ctx, next, data, { state: 'submitted', ...acceptance, deadlineAt, ...NO_ERROR });
    announce();
    return { kind: 'wait', until: doneAt, data: next, persisted: true };
  }
  announce();
  return doneNow(next, ctx, acceptance);
}

/** The batch is done by the CDN's own account (no status call): its edges are checked next, if configured. */
async function doneNow(
  data: TakenBatchJobData,
  ctx: StepContext,
  acceptance?: { remoteId: string; submittedAt: number; completion: string },
): Promise<StepOutcome> {
  const { verification } = ctx;
  if (!verification) return finish(data, ctx, { state: 'succeeded' }, acceptance ? { acceptance } : {});
  // The record learns of the acceptance before it says `verifying`: a check judges from submittedAt.
  if (acceptance) {
    const submitted = {
      state: 'submitted',
      ...acceptance,
      deadlineAt: data.deadlineAt,
      ...NO_ERROR,
    } as const;
    await ctx.store.update(ref(data), submitted, acceptance.submittedAt);
  }
  return startVerification(data, { ...ctx, verification }, 0);
}

/** A batch whose CDN has no status to poll, at (or, on an early re-run, before) the time it is done. */
async function settledStep(data: TakenBatchJobData & { doneAt: number }, ctx: StepContext) {
  const now = ctx.now();
  if (now < data.doneAt) return { kind: 'wait', until: data.doneAt, data } as const;
  return doneNow(data, ctx);
}

async function pollStep(data: TakenBatchJobData, ctx: StepContext): Promise<StepOutcome> {
  // No pretend polling: a CDN with no status endpoint said at acceptance when the batch is done.
  if (data.doneAt !== undefined) return settledStep({ ...data, doneAt: data.doneAt }, ctx);
  const { provider, store, log } = ctx;
  const remoteId = data.remoteId as string;
  const polls = data.polls + 1;
  let status: Awaited<ReturnType<Provider['status']>>;
  try {
    status = await provider.status(remoteId, ctx.signal);
    ctx.events?.emit('cdn:call', { cdnId: data.cdnId, op: 'poll', outcome: callOutcome() });
  } catch (error) {
    if (ctx.signal?.aborted) return released(ctx, 'poll');
    const reason = describeError(error);
    ctx.events?.emit('cdn:call', {
      cdnId: data.cdnId,
      op: 'poll',
      outcome: callOutcome(error as PurgeError),
    });
    await holdOffIfRateLimited(error, data, ctx);
    if (!isRetryable(error) && !notKnownYet(error, data, ctx))
      return finish(
        data,
        ctx,
        { state: 'failed', reason: `status check failed: ${reason}`, code: errorCodeOf(error) },
        { polls: 1 },
      );
    // A failed poll is not a failed purge: look again later, within the same deadline.
    const now = ctx.now();
    if (now >= data.deadlineAt)
      return finish(
        data,
        ctx,
        timedOut(
          `poll deadline passed (policy.poll.deadlineMs, from the CDN accepting it); last poll: ${reason}`,
        ),
        { polls: 1 },
      );
    log.warn({ err: reason, code: errorCodeOf(error) }, 'poll failed, will poll again');
    ctx.events?.emit('batch:retry', { cdnId: data.cdnId, op: 'poll' });
    await store.update(ref(data), errorPatch(error), now, { polls: 1 });
    const retryAfterMs = boundedRetryAfter((error as PurgeError).retryAfterMs ?? 0, waitBounds(data, ctx));
    const delay = Math.max(retryAfterMs, nextPollDelay({ polls, elapsedMs: 0 }, ctx.policy.poll, ctx.random));
    const until = Math.min(now + delay, data.deadlineAt);
    return { kind: 'wait', until, data: { ...data, polls, readyAt: until } };
  }

  if (status.state === 'succeeded') {
    // Learning the task's duration never throws, and nothing waits on it: it is written later, with others.
    void pollingOf(ctx).finished(data, ctx.now());
    const { verification } = ctx;
    return verification
      ? startVerification(data, { ...ctx, verification }, 1)
      : finish(data, ctx, { state: 'succeeded' }, { polls: 1 });
  }
  if (status.state === 'failed') {
    const ending = { state: 'failed', reason: status.reason, code: 'CDN_TASK_FAILED' } as const;
    return finish(data, ctx, ending, { polls: 1, progress: status.progress });
  }

  const now = ctx.now();
  if ('note' in status && status.note)
    log.warn({ note: status.note }, 'CDN reported an unexpected task state');
  if (now >= data.deadlineAt) {
    const progress = status.progress === undefined ? '' : ` at ${status.progress}%`;
    return finish(
      data,
      ctx,
      timedOut(
        `poll deadline passed (policy.poll.deadlineMs, from the CDN accepting it) while the CDN task was still ${status.state}${progress}`,
      ),
      { polls: 1, progress: status.progress },
    );
  }
  const progressPatch = status.progress === undefined ? {} : { progress: status.progress };
  // The submitted state rides along on every poll: a crash between the submit's checkpoint and its own
  // status write must not leave the record saying `submitting` with no task id.
  const submitted = {
    state: 'submitted' as const,
    remoteId,
    // The poll deadline too: the reconciler ends a batch by its record's deadline, and the queue's one
    // (already behind) would end a batch the CDN is still working on.
    deadlineAt: data.deadlineAt,
    ...(data.submittedAt ? { submittedAt: data.submittedAt } : {}),
  };
  await store.update(ref(data), { ...submitted, ...progressPatch, ...NO_ERROR }, now, { polls: 1 });
  log.debug({ state: status.state, progress: status.progress, polls }, 'purge still running');
  const next = await pollingOf(ctx).next(data, status, now);
  const until = Math.min(now + next.delayMs, data.deadlineAt);
  return { kind: 'wait', until, data: { ...data, polls, ...progressPatch, ...next.data, readyAt: until } };
}

/** How long a batch held back for the in-progress budget waits before it looks again, unless told. */
export const HELD_BACK_MS = 10_000;

function budgetFull(cdn: string, reservation: Reservation & { fits: false }): PurgeError {
  const { items, wildcards, limit } = reservation;
  const wildcardText =
    limit.wildcards === undefined ? '' : ` and ${wildcards} of ${limit.wildcards} wildcards`;
  return new PurgeError(
    'CDN_BUSY',
    `${cdn}: ${items} of ${limit.items} paths${wildcardText} already in progress; this batch waits for earlier ones to finish`,
    { retryable: true, ...(limit.recheckMs === undefined ? {} : { retryAfterMs: limit.recheckMs }) },
  );
}

/**
 * The CDN has as much in progress as it allows: the batch goes back to waiting (a delayed job, no attempt
 * spent), to look again later, until its queue deadline ends it timed out. Its record says why meanwhile.
 */
async function heldBack(data: TakenBatchJobData, ctx: StepContext, error: PurgeError): Promise<StepOutcome> {
  const now = ctx.now();
  const waitMs = boundedRetryAfter(error.retryAfterMs ?? HELD_BACK_MS, waitBounds(data, ctx));
  const until = Math.min(now + Math.max(1, waitMs), data.deadlineAt);
  ctx.log.info({ err: error.message, until }, 'CDN in-progress budget full; batch waits');
  ctx.events?.emit('batch:retry', { cdnId: data.cdnId, op: 'submit' });
  await ctx.store.update(ref(data), errorPatch(error), now);
  return { kind: 'wait', until, data: { ...data, step: 'submit', heldBack: true, readyAt: until } };
}

function released(ctx: StepContext, op: 'submit' | 'poll'): StepOutcome {
  ctx.log.info({ op, reason: String(ctx.signal?.reason) }, 'call cut short by shutdown; job released');
  return { kind: 'released' };
}

/**
 * A CDN can answer 404 for a task it accepted a moment ago (its status store lagging its purge API): within
 * the grace period after the submit that is "not yet", and the task is polled again; after it, final.
 */
function notKnownYet(error: unknown, data: TakenBatchJobData, ctx: StepContext): boolean {
  if (!(error instanceof PurgeError) || error.code !== 'CDN_NOT_FOUND') return false;
  const acceptedAt = data.submittedAt ?? data.acceptedAt;
  return ctx.now() - acceptedAt < ctx.policy.poll.notFoundGraceMs;
}

function waitBounds(data: TakenBatchJobData, ctx: StepContext) {
  return { maxRetryAfterMs: ctx.policy.maxRetryAfterMs, timeLeftMs: data.deadlineAt - ctx.now() };
}

/**
 * A 429 speaks for the whole CDN account, not just this job: every worker holds off for Retry-After (at
 * least 1 ms: Redis refuses a zero expiry). Failing to pause must not hide the CDN's own answer.
 *
 * While the queue is paused no job of it runs, so no job can end itself at its deadline: the pause stops
 * at this batch's deadline (and at maxRetryAfterMs), and the re-run then ends the batch `timed_out`. The
 * queue layer also stops it at the earliest deadline of the other jobs waiting in it (queue/rate-limit.ts).
 */
async function holdOffIfRateLimited(
  error: unknown,
  data: TakenBatchJobData,
  ctx: StepContext,
): Promise<boolean> {
  if (!(error instanceof PurgeError) || error.code !== 'CDN_RATE_LIMITED') return false;
  await holdOff(error.retryAfterMs ?? ctx.policy.submit.initialIntervalMs, data, ctx);
  return true;
}

/** Every worker's calls to this CDN wait `askedMs` (bounded by the deadlines); a failure to pause is logged. */
async function holdOff(askedMs: number, data: TakenBatchJobData, ctx: StepContext): Promise<void> {
  try {
    await ctx.onRateLimited?.(Math.max(1, boundedRetryAfter(askedMs, waitBounds(data, ctx))));
  } catch (pauseError) {
    ctx.log.error({ err: describeError(pauseError) }, 'cannot pause the queue for the CDN rate limit');
  }
}

function errorPatch(error: unknown) {
  return { error: describeError(error), errorCode: errorCodeOf(error) };
}
