import { z } from 'zod';
import { policyOverrideSchema } from './policy.ts';
import { verifySchema } from './verify.ts';

/**
 * Fields every CDN entry has, whatever its provider. Ids become part of queue names and job ids, so they are
 * restricted to characters that are safe in Redis keys and contain no `:` (BullMQ's separator).
 */
export const cdnEntryBaseSchema = z.strictObject({
  id: z
    .string()
    .regex(
      /^[a-z0-9][a-z0-9_-]{0,62}$/,
      'must be 1-63 chars of a-z, 0-9, _ or -, starting with a letter or digit',
    ),
  baseUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
  policy: policyOverrideSchema.optional(),
  /** Worker concurrency for this CDN's queue in each process. */
  concurrency: z.number().int().min(1).max(256).default(8),
  /**
   * Most calls (submits and polls alike: each is one job run) per `durationMs` to this CDN, across every
   * worker process: BullMQ keeps the limit in Redis, on the CDN's own queue.
   */
  rateLimit: z.strictObject({ max: z.number().int().min(1), durationMs: z.number().int().min(1) }).optional(),
  /**
   * Targets accepted for this CDN wait up to `windowMs` (from the oldest) to share one call with others, or
   * less once a call's worth is waiting. 0: no wait (purges that arrive together may still share a call).
   */
  coalesce: z
    .strictObject({
      windowMs: z.number().int().min(0).max(60_000).default(250),
      /** The bulk lane's window: longer, so each call carries more of a backlog nobody waits on. */
      bulkWindowMs: z.number().int().min(0).max(600_000).default(2_000),
    })
    .prefault({}),
  /**
   * Load shedding, bulk only: while this many bulk targets wait for this CDN, new bulk purges for it are
   * refused (429 BACKLOG_FULL with Retry-After); urgent and normal ones are never shed. Unset: never.
   */
  maxBulkBacklog: z.number().int().min(1).optional(),
  /** Checking at the edges that each batch took effect, re-purging what did not (config/verify.ts). */
  verify: verifySchema,
});
