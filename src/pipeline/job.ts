import type { Priority } from '../model/purge.ts';
import type { EdgeCheck } from '../model/status.ts';
import type { PollTrack } from './poll-track.ts';

/**
 * Where checking a batch's edges stands (pipeline/verify-step.ts): what the next run of the job does, and
 * what it needs to do it after a crash. Bounded: ids, counters and at most 20 stale checks (URLs cut short).
 */
export interface VerifyJobState {
  /** `repeat`: the repeat purge (verify.repeatAfterMs) comes next; `check`: a round of checks; `repurge`:
   * waiting for the re-purge of the stale URLs to end. */
  phase: 'repeat' | 'check' | 'repurge';
  rounds: number;
  repurges: number;
  /** When the CDN accepted what the next check is judged against (the purge, or the latest re-purge). */
  since: number;
  /** The re-purge whose URLs (its plan) the next check asks; absent: a sample of the batch's own. */
  recheck?: string;
  /** The re-purge (or repeat) being waited for, and every one sent. */
  repurgeId?: string;
  repurgeIds?: string[];
  /** How often the wait for it has looked (each look waits longer). */
  looks?: number;
  /** What the last round found stale, for the batch's end should the re-purges not fix it. */
  stale?: EdgeCheck[];
  edges?: string[];
  /** From the CDN reporting the batch done (verify.deadlineMs). */
  deadlineAt: number;
}
/**
 * Everything a batch job carries through its life: it starts as a CDN's flush (step `take`), becomes the
 * batch it took (`submit`), then its own poll (`poll`). It holds no credentials (the worker looks the CDN up
 * in its frozen config by `cdnId`) and no targets (they live once, in the batch's record). `step`, `batchId`
 * and `remoteId` are written (job.updateData) before the job moves on, which is what lets a re-run after a
 * crash carry on instead of taking or submitting again.
 */
export interface BatchJobData {
  cdnId: string;
  step: 'take' | 'submit' | 'poll' | 'verify';
  /** Set once the flush has taken its targets. */
  batchId?: string;
  /** When the oldest target the batch carries was accepted: what latency is measured from. */
  acceptedAt?: number;
  /**
   * Until the CDN accepts the batch, its queue deadline (the earliest of its targets', from their
   * acceptance); from then on its poll deadline (from the CDN's acceptance).
   */
  deadlineAt?: number;
  /** The most urgent lane among its targets: whose deadlines it keeps. */
  lane?: Priority;
  remoteId?: string;
  submittedAt?: number;
  /**
   * Set when the CDN has no status to poll (SubmitResult.doneAtAcceptance): the batch is done at this time
   * (its acceptance plus the CDN's estimate), and its `poll` step ends it then without asking the CDN.
   */
  doneAt?: number;
  polls: number;
  lastProgress?: number;
  /** What the polls saw of the CDN task's progress, for the adaptive schedule (pipeline/poll-track.ts). */
  pollTrack?: PollTrack;
  /** When the job's current wait (the next poll) comes due: how the queue-age gauge tells waiting from delayed. */
  readyAt?: number;
  /** Set once the CDN reported the batch done and its edges are being checked (step `verify`). */
  verify?: VerifyJobState;
  /** Waiting for the CDN's in-progress budget (CDN_BUSY): its next claim counts no attempt, no call was made. */
  heldBack?: boolean;
  /** A flush of an extra slot (queue/flush.ts): it takes only a full call, beside the CDN's own flush. */
  flushSlot?: number;
  /** A flush added by the one before it, which left a full call behind: a drain already under way. */
  followUp?: boolean;
}

/** A job past its take: the batch it is, and its deadline. */
export type TakenBatchJobData = BatchJobData & { batchId: string; acceptedAt: number; deadlineAt: number };

export type StepOutcome =
  /** `persisted`: the step already stored `data` (checkpoint), so the queue need not write it again. */
  | { kind: 'wait'; until: number; data: BatchJobData; persisted?: boolean }
  | { kind: 'finished'; state: 'succeeded'; reason?: undefined; callbacksDue: string[] }
  | { kind: 'finished'; state: 'failed' | 'timed_out' | 'stale'; reason: string; callbacksDue: string[] }
  /** The batch had already ended before this run (or has no record); nothing was sent. */
  | { kind: 'skipped'; callbacksDue: string[] }
  /** Our own shutdown aborted the step: the job goes back to the queue for another worker. */
  | { kind: 'released' }
  /**
   * A flush that took nothing: every target was taken by an earlier one (or, for an extra slot's flush,
   * what is left would not fill a call, and waits for the CDN's own flush).
   */
  | { kind: 'empty' };
