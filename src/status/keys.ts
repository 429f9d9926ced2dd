/**
 * Every Redis key purge-worker itself writes (BullMQ names its own under the same prefix). The prefix
 * carries a hash tag, e.g. `{purge}`, so all keys share one Redis Cluster slot with the queues.
 */
export function purgeKey(prefix: string, purgeId: string): string {
  return `${prefix}:purge:${purgeId}`;
}

/** Hash fields of a purge record. */
export const PURGE_FIELDS = {
  meta: 'meta',
  remaining: 'remaining',
  finishedAt: 'finishedAt',
  batch: (batchId: string) => `batch:${batchId}`,
} as const;
