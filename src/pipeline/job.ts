import type { Priority } from '../model/purge.ts';
/**
 * Everything a batch job carries through its life: it starts as a CDN's flush (step `take`), becomes the
 * batch it took (`submit`), then its own poll (`poll`). It holds no credentials (the worker looks the CDN up
 * in its frozen config by `cdnId`) and no targets (they live once, in the batch's record). `step`, `batchId`
 * and `remoteId` are written (job.updateData) before the job moves on, which is what lets a re-run after a
 * crash carry on instead of taking or submitting again.
 */
export interface BatchJobData {
  cdnId: string;
  step: 'take' | 'submit' | 'poll';
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
  polls: number;
  lastProgress?: number;
  /** When the job's current wait (the next poll) comes due: how the queue-age gauge tells waiting from delayed. */
  readyAt?: number;
}

/** A job past its take: the batch it is, and its deadline. */
export type TakenBatchJobData = BatchJobData & { batchId: string; acceptedAt: number; deadlineAt: number };

export type StepOutcome =
  /** `persisted`: the step already stored `data` (checkpoint), so the queue need not write it again. */
  | { kind: 'wait'; until: number; data: BatchJobData; persisted?: boolean }
  | { kind: 'finished'; state: 'succeeded'; reason?: undefined; callbacksDue: string[] }
  | { kind: 'finished'; state: 'failed' | 'timed_out'; reason: string; callbacksDue: string[] }
  /** The batch had already ended before this run (or has no record); nothing was sent. */
  | { kind: 'skipped'; callbacksDue: string[] }
  /** Our own shutdown aborted the step: the job goes back to the queue for another worker. */
  | { kind: 'released' }
  /** A flush that found nothing pending: every target was taken by an earlier one. */
  | { kind: 'empty' };
