import { createHash } from 'node:crypto';

/**
 * Every Redis key purge-worker itself writes (BullMQ names its own under the same prefix). The prefix
 * carries a hash tag, e.g. `{purge}`, so all keys share one Redis Cluster slot with the queues.
 *
 * Where each piece of state lives, and why a crash cannot lose it:
 * - the work of a CDN batch: its BullMQ job's data (persisted; a stalled job is re-run by another worker);
 * - the remote task id, step, polls, deadline: the same job data, written (checkpoint) before the job moves
 *   on, so a re-run polls instead of submitting again (pipeline/step.ts walks each window);
 * - the purge record (summary, per-batch state, counters, timestamps, errors): the hash below, changed only
 *   by transition.lua, which never leaves a terminal state and counts each batch down once;
 * - idempotency key -> purge id and request fingerprint: written with the record by create.lua, so a repeat
 *   maps to the same purge and re-adds only the jobs of batches still queued, from the plan stored in the
 *   record (never from the repeat's body or today's config); a different request under the key is refused;
 * - daily quota: reserved by quota.lua, all or nothing, before anything else is written;
 * - credentials: only in the frozen config in memory, never in Redis, job data, logs or the dashboard.
 */
export function purgeKey(prefix: string, purgeId: string): string {
  return `${prefix}:purge:${purgeId}`;
}

/**
 * The durable plan of a purge (every batch's target and deadline), what a repeat re-adds jobs from. A key of
 * its own beside the record, so reading a status never carries a 10,000-URL plan along.
 */
export function planKey(prefix: string, purgeId: string): string {
  return `${prefix}:plan:${purgeId}`;
}

/**
 * Idempotency keys belong to whoever sent them: the scope (`api:<token name>`, `webhook`, `cli`, or a library
 * caller's own) is hashed in with the key, so no client can claim another's key or a CMS event's id. Hashed,
 * so a caller's key (maybe an event id with odd characters, maybe long) is bounded and opaque.
 */
export function idempotencyKey(prefix: string, scope: string, key: string): string {
  const digest = createHash('sha256')
    .update(JSON.stringify([scope, key]))
    .digest('hex');
  return `${prefix}:idem:${digest}`;
}

/** Items reserved against a CDN account's daily quota, per kind, per UTC day. */
export function quotaKey(
  prefix: string,
  provider: string,
  account: string,
  kind: string,
  day: string,
): string {
  const accountHash = createHash('sha256').update(account).digest('hex').slice(0, 16);
  return `${prefix}:quota:${provider}:${accountHash}:${kind}:${day}`;
}

/** Hash fields of a purge record. */
export const PURGE_FIELDS = {
  meta: 'meta',
  remaining: 'remaining',
  finishedAt: 'finishedAt',
  /** Its own field (not only in meta) so the finishing transition can tell, cheaply, that one is due. */
  callbackUrl: 'callbackUrl',
  batch: (batchId: string) => `batch:${batchId}`,
} as const;
