import { PurgeError } from '../errors.ts';
import { isPurgeFinished } from '../model/status.ts';
import { replayTargets, type UnfinishedBatch } from '../pipeline/replay-targets.ts';
import type { StatusStore } from '../status/store.ts';
import type { EnqueueResult, PurgeProducer } from './enqueue.ts';

export interface ReplayOptions {
  /** Everything the purge asked for, not only what failed or timed out. */
  all?: boolean;
}

export interface ReplayResult extends EnqueueResult {
  replayOf: string;
}

export interface ReplayDeps {
  store: StatusStore;
  producer: PurgeProducer;
}

/**
 * Sends a purge again as a new purge that names it (`replayOf`): by default only the targets of its batches
 * that failed or timed out, with `all` its whole plan. Idempotent per origin and mode within
 * api.idempotencyWindowSeconds (scope `replay`, key `<id>` or `<id>:all`, whoever asks): a second replay of
 * the same purge answers the first replay, `duplicate: true`, and enqueues nothing.
 */
export async function replayPurge(
  originId: string,
  options: ReplayOptions,
  { store, producer }: ReplayDeps,
): Promise<ReplayResult> {
  const [origin, plan] = await Promise.all([store.get(originId), store.getPlan(originId)]);
  if (!origin || !plan)
    throw new PurgeError('NOT_FOUND', `no purge ${originId} (unknown, or its status expired)`);
  const all = options.all === true;
  const unfinished: UnfinishedBatch[] = [];
  for (const batch of origin.batches) {
    // A stale batch failed its purges too: the CDN said done, edges kept the old copy.
    if (batch.state !== 'failed' && batch.state !== 'timed_out' && batch.state !== 'stale') continue;
    const carried = await store.batchTarget(batch.batchId);
    if (carried) unfinished.push({ cdnId: batch.cdnId, target: carried.target });
  }
  const targets = replayTargets(plan.targets, unfinished, all);
  if (targets.size === 0) {
    const why = isPurgeFinished(origin.state)
      ? `it ended ${origin.state}`
      : `it is still ${origin.state} and none of its CDN calls has failed or timed out yet`;
    throw new PurgeError(
      'NOTHING_TO_REPLAY',
      `purge ${originId} has nothing to replay: ${why} (replay it with all to send all of it again)`,
    );
  }
  const key = all ? `${originId}:all` : originId;
  const result = await producer.enqueuePlanned(targets, {
    idempotency: { scope: 'replay', key, fingerprint: key },
    replayOf: originId,
  });
  return { ...result, replayOf: originId };
}
