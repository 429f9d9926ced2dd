import type { PurgeTarget } from '../model/purge.ts';
import type { BatchVerification, EdgeCheck } from '../model/status.ts';
import type { VerifyJobState } from './job.ts';

/** Longest URL a kept check holds: a status lists up to 20 of each, and URLs may be 16 KiB long. */
const KEPT_URL_CHARS = 512;

/** Where a verification stands, from the job's state: what every write of it starts from. */
export function summary(
  verify: VerifyJobState | undefined,
  state: BatchVerification['state'],
  note?: string,
): BatchVerification {
  const ids = verify?.repurgeIds ?? [];
  return {
    state,
    rounds: verify?.rounds ?? 0,
    repurges: verify?.repurges ?? 0,
    // Lua's JSON writes an empty list as {}: a list is only written when it holds something.
    ...(ids.length > 0 ? { repurgeIds: ids } : {}),
    ...(note ? { note } : {}),
  };
}

/** A check as a status keeps it: its URL cut to a bound. */
export function keptCheck(check: EdgeCheck): EdgeCheck {
  return check.url.length > KEPT_URL_CHARS
    ? { ...check, url: `${check.url.slice(0, KEPT_URL_CHARS)}…` }
    : check;
}

/** `target` without what `drop` names (what only re-purges asked for, in a batch that carries both). */
export function withoutTargets(target: PurgeTarget, drop: PurgeTarget | undefined): PurgeTarget {
  if (!drop) return target;
  const urls = new Set(drop.urls);
  const dirs = new Set(drop.dirs);
  return {
    urls: target.urls.filter((url) => !urls.has(url)),
    dirs: target.dirs.filter((dir) => !dirs.has(dir)),
    ...(target.pattern !== undefined && drop.pattern !== target.pattern ? { pattern: target.pattern } : {}),
    ...(target.all && !drop.all ? { all: true } : {}),
  };
}

/**
 * How a verifying batch ends when its job cannot end it (failed for good, gone, or far past its deadline):
 * the CDN did report the purge done, so it succeeds, with its verification `unverified` saying why, rather
 * than failing a purge the CDN carried out.
 */
export function verificationGivenUp(current: BatchVerification | undefined, why: string) {
  const verification: BatchVerification = {
    ...(current ?? { rounds: 0, repurges: 0 }),
    state: 'unverified',
    note: why,
  };
  return { state: 'succeeded' as const, progress: 100, verification, error: null, errorCode: null };
}
