import type { PurgeTarget } from '../model/purge.ts';

/**
 * Everything a batch job carries through its life. It holds no credentials: the worker looks the CDN up in
 * its own frozen config by `cdnId`. `step` and `remoteId` are written (job.updateData) before the job moves
 * on, which is what lets a re-run after a crash poll instead of submitting again.
 */
export interface BatchJobData {
  purgeId: string;
  cdnId: string;
  batchId: string;
  target: PurgeTarget;
  createdAt: number;
  deadlineAt: number;
  step: 'submit' | 'poll';
  remoteId?: string;
  submittedAt?: number;
  polls: number;
  lastProgress?: number;
  /** When the job's current wait (the next poll) comes due: how the queue-age gauge tells waiting from delayed. */
  readyAt?: number;
}

export type StepOutcome =
  /** `persisted`: the step already stored `data` (checkpoint), so the queue need not write it again. */
  | { kind: 'wait'; until: number; data: BatchJobData; persisted?: boolean }
  | { kind: 'finished'; state: 'succeeded'; reason?: undefined; callbackDue: boolean }
  | { kind: 'finished'; state: 'failed' | 'timed_out'; reason: string; callbackDue: boolean }
  /** The batch had already ended before this run; nothing was sent. */
  | { kind: 'skipped'; callbackDue: boolean }
  /**
   * This worker let go of the job mid-call (its signal was aborted: shutdown past its grace). Nothing about
   * the batch was decided or recorded; the queue hands the job, unchanged, to the next worker.
   */
  | { kind: 'released' };
