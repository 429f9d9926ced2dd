import type { PollEntry, PurgeBatchStatus, PurgeStatus, TargetCounts } from '../../model/status.ts';

/** One thing that happened to a purge on one CDN, in the order it happened. */
export interface TimelineEvent {
  /** When (ms); none for where a batch stands now. */
  at?: number;
  kind: 'accepted' | 'taken' | 'submitted' | 'attempt' | 'poll' | 'ended' | 'now' | 'waiting';
  text: string;
  /** The batch it is about, for a link to its job on the queue dashboard. */
  batch?: { batchId: string; cdnId: string };
}

export interface CdnTimeline {
  cdnId: string;
  counts: TargetCounts;
  events: TimelineEvent[];
}

/**
 * A purge's life per CDN, from what its status and its batches' poll logs hold: accepted; each batch that
 * carried it (taken, with how many other purges; submitted, with the remote id; each poll with its
 * progress; its end and why); and whatever is still waiting.
 */
export function purgeTimelines(
  status: PurgeStatus,
  polls: ReadonlyMap<string, readonly PollEntry[]>,
): CdnTimeline[] {
  return status.cdns.map((cdnId) => {
    const counts = status.targets[cdnId] ?? { total: 0, succeeded: 0, failed: 0, timedOut: 0, pending: 0 };
    const events: TimelineEvent[] = [
      {
        at: status.createdAt,
        kind: 'accepted',
        text: `accepted: ${plural(counts.total, 'target')} for ${cdnId}`,
      },
    ];
    const batches = status.batches.filter((batch) => batch.cdnId === cdnId);
    for (const batch of batches) events.push(...batchEvents(batch, polls.get(batch.batchId) ?? []));
    const inBatches = batches.reduce((sum, batch) => sum + batch.share, 0);
    if (counts.pending > 0 && inBatches < counts.total)
      events.push({
        kind: 'waiting',
        text: `${plural(counts.total - inBatches, 'target')} waiting for a call to ${cdnId} (the coalescing window, or a full queue)`,
      });
    return { cdnId, counts, events };
  });
}

function batchEvents(batch: PurgeBatchStatus, log: readonly PollEntry[]): TimelineEvent[] {
  const ref = { batchId: batch.batchId, cdnId: batch.cdnId };
  const others = Math.max(0, (batch.purges ?? 1) - 1);
  const events: TimelineEvent[] = [
    {
      at: batch.queuedAt,
      kind: 'taken',
      text: `taken into batch ${batch.batchId}: ${plural(batch.items, 'target')} in one call, ${batch.share} of them this purge's, with ${plural(others, 'other purge')}`,
      batch: ref,
    },
  ];
  if (batch.submittedAt !== undefined) {
    const tries = batch.attempts > 1 ? ` (${plural(batch.attempts, 'attempt')})` : '';
    events.push({
      at: batch.submittedAt,
      kind: 'submitted',
      text: `submitted: remote id ${batch.remoteId ?? 'unknown'}${tries}`,
      batch: ref,
    });
  }
  const missing = batch.polls - log.length;
  if (missing > 0 && log.length > 0)
    events.push({
      kind: 'poll',
      text: `${plural(missing, 'earlier poll')} not kept (the last 50 are)`,
      batch: ref,
    });
  for (const entry of log) {
    const progress = entry.progress === undefined ? '' : `: ${entry.progress}%`;
    const code = entry.errorCode ? ` — ${entry.errorCode}` : '';
    events.push({ at: entry.at, kind: 'poll', text: `poll ${entry.polls}${progress}${code}`, batch: ref });
  }
  const why = batch.error ? `: ${batch.error}${batch.errorCode ? ` (${batch.errorCode})` : ''}` : '';
  if (batch.finishedAt !== undefined) {
    events.push({
      at: batch.finishedAt,
      kind: 'ended',
      text: `${batch.state.replace('_', ' ')}${why}`,
      batch: ref,
    });
  } else {
    events.push({ kind: 'now', text: `now ${batch.state}${why}`, batch: ref });
  }
  return events;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
