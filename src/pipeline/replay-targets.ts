import type { PurgeTarget } from '../model/purge.ts';
import { targetSize } from '../model/purge.ts';

/** A batch that carried a purge's targets and did not succeed: its CDN and what it sent. */
export interface UnfinishedBatch {
  cdnId: string;
  target: PurgeTarget;
}

/**
 * What a replay sends each CDN: the purge's own targets that rode its failed and timed-out batches (a batch
 * also carries other purges' targets, which are theirs to replay), or with `all` its whole plan again.
 * A batch that sent `all` covered every target of the purge pending for that CDN at the time, so it gives
 * the purge's whole part for that CDN (a target of it that another batch carried well is purged again:
 * harmless). CDNs left with nothing are left out.
 */
export function replayTargets(
  plan: Readonly<Record<string, PurgeTarget>>,
  unfinished: readonly UnfinishedBatch[],
  all: boolean,
): Map<string, PurgeTarget> {
  if (all) return new Map(Object.entries(plan).filter(([, target]) => targetSize(target) > 0));
  const replay = new Map<string, PurgeTarget>();
  for (const batch of unfinished) {
    const own = plan[batch.cdnId];
    if (!own) continue;
    const part = batch.target.all ? own : intersection(own, batch.target);
    const merged = union(replay.get(batch.cdnId), part, own);
    if (targetSize(merged) > 0) replay.set(batch.cdnId, merged);
  }
  return replay;
}

function intersection(own: PurgeTarget, sent: PurgeTarget): PurgeTarget {
  const urls = new Set(sent.urls);
  const dirs = new Set(sent.dirs);
  return {
    urls: own.urls.filter((url) => urls.has(url)),
    dirs: own.dirs.filter((dir) => dirs.has(dir)),
    ...(own.pattern !== undefined && own.pattern === sent.pattern ? { pattern: own.pattern } : {}),
  };
}

/** Both parts together, in the order of the purge's own plan (so a replay reads like its origin). */
function union(earlier: PurgeTarget | undefined, part: PurgeTarget, own: PurgeTarget): PurgeTarget {
  if (!earlier) return part;
  const urls = new Set([...earlier.urls, ...part.urls]);
  const dirs = new Set([...earlier.dirs, ...part.dirs]);
  const pattern = earlier.pattern ?? part.pattern;
  const all = earlier.all === true || part.all === true;
  return {
    urls: own.urls.filter((url) => urls.has(url)),
    dirs: own.dirs.filter((dir) => dirs.has(dir)),
    ...(pattern === undefined ? {} : { pattern }),
    ...(all ? { all: true } : {}),
  };
}
