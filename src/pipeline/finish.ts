import type { ErrorCode } from '../errors.ts';
import type { PurgeTarget } from '../model/purge.ts';
import type { BatchVerification } from '../model/status.ts';
import type { StepOutcome, TakenBatchJobData } from './job.ts';
import type { StepContext } from './step.ts';

/** An error and its stable code are written, and cleared, together: a code never outlives its message. */
export const NO_ERROR = { error: null, errorCode: null } as const;

export function ref(data: TakenBatchJobData) {
  return { cdnId: data.cdnId, batchId: data.batchId };
}

/** How a batch ends: a failure or a timeout always says why, with the code a caller can branch on. */
export type Ending =
  | { state: 'succeeded' }
  | { state: 'failed' | 'timed_out' | 'stale'; reason: string; code: ErrorCode };

export function timedOut(reason: string): Ending {
  return { state: 'timed_out', reason, code: 'DEADLINE_EXCEEDED' };
}

export async function finish(
  data: TakenBatchJobData,
  ctx: StepContext,
  ending: Ending,
  {
    polls: pollsNow = 0,
    progress,
    verification,
    acceptance,
  }: {
    polls?: number;
    progress?: number | undefined;
    verification?: BatchVerification;
    /** The CDN's acceptance, when the batch ends in the same step (a CDN with nothing to poll). */
    acceptance?: { remoteId: string; submittedAt: number; completion: string };
  } = {},
  /** What the batch sent (or would have), when the step has it at hand: for giving quota back. */
  target?: PurgeTarget,
): Promise<StepOutcome> {
  const { state } = ending;
  const reason = ending.state === 'succeeded' ? undefined : ending.reason;
  const code = ending.state === 'succeeded' ? undefined : ending.code;
  // A batch that did not succeed keeps the last progress the CDN reported: how far it got is worth knowing.
  const lastProgress = progress === undefined ? {} : { progress };
  // What checking the edges found ends in the same transition as the batch: never a final state without it.
  const found = { ...(verification ? { verification } : {}), ...acceptance };
  const patch =
    ending.state === 'succeeded'
      ? { state, progress: 100, ...NO_ERROR, ...found }
      : { state, error: ending.reason, errorCode: ending.code, ...lastProgress, ...found };
  const now = ctx.now();
  const increments = pollsNow > 0 ? { polls: pollsNow } : {};
  // The same transition gives the batch's quota back when the CDN never accepted it (no remote id).
  const accepted = data.remoteId ?? acceptance?.remoteId;
  const charges = target && !accepted ? ctx.quotaCharges?.(target, data.acceptedAt) : undefined;
  // A batch that succeeded shows 100 on the dashboard (its job's progress), written by the same call.
  const progressOfJob =
    ctx.jobData && state === 'succeeded' ? { key: ctx.jobData.key, progress: 100 } : undefined;
  const result = await ctx.store.update(ref(data), patch, now, increments, charges, progressOfJob);
  const polls = data.polls + pollsNow;
  if (result.outcome === 'applied') {
    const secondsSinceQueued = (now - data.acceptedAt) / 1000;
    ctx.events?.emit('batch:finished', {
      cdnId: data.cdnId,
      batchId: data.batchId,
      state,
      secondsSinceQueued,
      polls,
    });
  }
  const log = state === 'succeeded' ? ctx.log.info.bind(ctx.log) : ctx.log.warn.bind(ctx.log);
  log(
    {
      state,
      reason,
      code,
      polls: data.polls + (increments.polls ?? 0),
      alreadyFinal: result.outcome === 'already_final',
    },
    `purge ${state}`,
  );
  // Also given on a re-run that finds the batch already final: a crash right after the batch finished must
  // not lose a callback (scheduling one is idempotent).
  const { callbacksDue } = result;
  if (ending.state === 'succeeded') return { kind: 'finished', state: ending.state, callbacksDue };
  return { kind: 'finished', state: ending.state, reason: ending.reason, callbacksDue };
}
