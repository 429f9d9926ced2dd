import { createHash } from 'node:crypto';
import type { Priority } from '../model/purge.ts';

/**
 * Every Redis key purge-worker itself writes (BullMQ names its own under the same prefix). The prefix
 * carries a hash tag, e.g. `{purge}`, so all keys share one Redis Cluster slot with the queues.
 *
 * Where each piece of state lives, and why a crash cannot lose it:
 * - an accepted purge: its record, plan, idempotency key, quota charge and its targets in each CDN's pending
 *   set, all written by one call of ingest.lua, before anything else: there is no half-accepted purge;
 * - targets waiting for a CDN call: the CDN's pending set (target -> first accepted) and waiting hash
 *   (target -> the purges waiting on it); a flush moves them into a batch in one call of take.lua;
 * - a batch (what one CDN call carries, for which purges, and where it stands): its hash, changed only by
 *   transition.lua, which never leaves a terminal state and, when it ends the batch, counts down every
 *   purge it carries, once;
 * - the step a batch job is at (take, submit, poll), its remote task id and polls: the job's data, written
 *   (checkpoint) before the job moves on, so a re-run polls instead of submitting again (pipeline/step.ts);
 * - credentials: only in the frozen config in memory, never in Redis, job data, logs or the dashboard.
 */
export function purgeKey(prefix: string, purgeId: string): string {
  return `${prefix}:purge:${purgeId}`;
}

/**
 * What a purge asked for, per CDN, canonical (for a repeat's check and a later replay). A key of its own
 * beside the record, so reading a status never carries a 10,000-URL plan along.
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

/**
 * Every accepted purge, newest last (member: purge id, score: when it was accepted, ms): what listing reads.
 * Written in the call that accepts a purge, which also drops entries older than the records' TTL, so the
 * index expires with them.
 */
export function purgeIndexKey(prefix: string): string {
  return `${prefix}:purges`;
}

/**
 * Targets accepted for a CDN and not yet in a batch, one set per lane: target -> when it was first accepted
 * (ms). A target waits in one lane only, the most urgent any purge asked it for. The normal lane keeps the
 * key it had before lanes existed, so an upgrade finds what was pending then.
 */
export function pendingKey(prefix: string, cdnId: string, lane: Priority = 'normal'): string {
  return lane === 'normal' ? `${prefix}:pending:${cdnId}` : `${prefix}:pending:${cdnId}:${lane}`;
}

/** The purges waiting on each pending target of a CDN: target -> space-separated purge ids. */
export function waitingKey(prefix: string, cdnId: string): string {
  return `${prefix}:waiting:${cdnId}`;
}

/** One CDN call's worth of targets: its status, target and the purges it carries. */
export function batchKey(prefix: string, batchId: string): string {
  return `${prefix}:batch:${batchId}`;
}

/** A CDN's batches that have not ended yet (batch id -> created), for the reconciler to check on. */
export function openBatchesKey(prefix: string, cdnId: string): string {
  return `${prefix}:open:${cdnId}`;
}

/** Purges whose callback a batch's end made due, until its scheduling is confirmed (id -> when due). */
export function callbacksDueKey(prefix: string): string {
  return `${prefix}:callbacks-due`;
}

/** Which batch a flush job made, so its re-run after a crash takes nothing new. */
export function flushMarkerKey(prefix: string, cdnId: string, jobId: string): string {
  return `${prefix}:flushed:${cdnId}:${jobId}`;
}

/**
 * Written by every replica-confirmation round (redis.waitReplicas) just before its WAIT: WAIT counts the
 * writes of its own connection, and this one comes after every acceptance the round confirms.
 */
export function replicationProbeKey(prefix: string): string {
  return `${prefix}:replication-probe`;
}

/**
 * How long a CDN's tasks took, lately: a small histogram (log-scale bucket -> count, halved at a cap) that
 * sets the poll schedule of its tasks that report no progress (pipeline/duration-prior.ts). Bounded: at
 * most 64 fields; it expires when a CDN stops being polled.
 */
export function pollDurationsKey(prefix: string, cdnId: string): string {
  return `${prefix}:poll-durations:${cdnId}`;
}

/**
 * A signed webhook delivery a source accepted, by its signature's digest -> the purge it became, for as long
 * as that signature can pass (its scheme's replay window): a replay answers that purge, not a new one.
 */
export function sourceDeliveryKey(prefix: string, source: string, signature: string): string {
  const digest = createHash('sha256').update(signature).digest('hex');
  return `${prefix}:delivery:${source}:${digest}`;
}

/** Hash fields of a purge record. */
export const PURGE_FIELDS = {
  meta: 'meta',
  remaining: 'remaining',
  finishedAt: 'finishedAt',
  /** Its own field (not only in meta) so the finishing transition can tell, cheaply, that one is due. */
  callbackUrl: 'callbackUrl',
  /** This purge's targets in a batch (field per batch it rides). */
  batch: (batchId: string) => `b:${batchId}`,
  /** Per CDN: targets asked for, and how many ended each way. */
  total: (cdnId: string) => `n:${cdnId}`,
  succeeded: (cdnId: string) => `ok:${cdnId}`,
  failed: (cdnId: string) => `failed:${cdnId}`,
  timedOut: (cdnId: string) => `timedout:${cdnId}`,
} as const;

/**
 * What a CDN with an in-progress budget (CloudFront: 3,000 paths, 15 wildcards per distribution) has in
 * progress: batch id -> "<items> <wildcards>". Entries whose batch has ended (or expired) are dropped by the
 * next reservation, so no release step can be lost to a crash.
 */
export function inProgressKey(prefix: string, cdnId: string): string {
  return `${prefix}:in-progress:${cdnId}`;
}
