/** One BullMQ queue per CDN, so BullMQ's per-queue rate limit and pause act per CDN, across all workers. */
export function queueName(cdnId: string): string {
  return `cdn-${cdnId}`;
}

/** Deterministic: adding the same batch twice adds nothing. BullMQ forbids `:` in custom ids. */
export function batchJobId(purgeId: string, batchId: string): string {
  return `${purgeId}-${batchId}`;
}

export const BACKOFF_TYPE = 'purge';
