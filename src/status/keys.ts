import { createHash } from 'node:crypto';

/**
 * Every Redis key purge-worker itself writes (BullMQ names its own under the same prefix). The prefix
 * carries a hash tag, e.g. `{purge}`, so all keys share one Redis Cluster slot with the queues.
 */
export function purgeKey(prefix: string, purgeId: string): string {
  return `${prefix}:purge:${purgeId}`;
}

/** Hashed, so a caller's key (maybe an event id with odd characters, maybe long) is bounded and opaque. */
export function idempotencyKey(prefix: string, key: string): string {
  return `${prefix}:idem:${createHash('sha256').update(key).digest('hex')}`;
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
