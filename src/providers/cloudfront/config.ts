import { z } from 'zod';
import type { CdnIdentity } from '../provider.ts';

/** What one CreateInvalidation may carry: the whole in-progress budget (3,000 file paths, 15 wildcards). */
export const IN_PROGRESS_ITEMS = 3000;
export const IN_PROGRESS_WILDCARDS = 15;

/**
 * CloudFront's own fields of a CDN entry: one entry is one distribution. `baseUrl` is the API endpoint the
 * SDK is pointed at (`https://cloudfront.amazonaws.com`; tests point it at the simulator). The credentials
 * sign every request (SigV4); use `${ENV_VAR}` for them in the file, they are never logged.
 */
export const cloudfrontSettingsSchema = z.strictObject({
  provider: z.literal('cloudfront'),
  /** The distribution's id (`EDFDVBD632BHDS5`): it goes into the request path, so only A-Z and 0-9. */
  distributionId: z.string().regex(/^[A-Z0-9]{1,64}$/, 'must be a distribution id such as EDFDVBD632BHDS5'),
  accessKeyId: z.string().regex(/^[A-Za-z0-9]{16,128}$/, 'must be an AWS access key id such as AKIA...'),
  secretAccessKey: z.string().min(1, 'secretAccessKey is required'),
  /** For temporary credentials (STS): sent as x-amz-security-token. */
  sessionToken: z.string().min(1).optional(),
  /** The SigV4 signing region: CloudFront's API is global and signs in us-east-1. */
  region: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/, 'must be an AWS region such as us-east-1')
    .default('us-east-1'),
  /**
   * Most paths (URLs + wildcards + tags) in one invalidation. CloudFront documents no per-request count: one
   * request may carry the whole in-progress budget, which is also the most that can ever be accepted.
   */
  maxItemsPerCall: z.number().int().min(1).max(IN_PROGRESS_ITEMS).default(IN_PROGRESS_ITEMS),
  /**
   * The distribution's own hosts (its alternate domain names). A path names no host: CloudFront invalidates
   * it on this distribution whatever host the URL had. Listed, a URL or dir of any other host is refused
   * at ingest (a routing mistake); unset, the host is not looked at.
   */
  hosts: z.array(z.hostname('must be a hostname such as www.example.com')).min(1).max(100).optional(),
  /**
   * The distribution has a CacheTagConfig: tags are sent as `#tag` paths. Off by default, since a
   * distribution without one refuses them.
   */
  cacheTags: z.boolean().default(false),
  /**
   * For a submit with no submit key (from outside the pipeline, which gives each batch a reference of its
   * own: mapping.ts `batchCallerReference`): how long a CallerReference stays the same for the same paths
   * (mapping.ts `callerReference`), so that a retry within it gets the invalidation it already made. 0:
   * every such submit is a new invalidation.
   */
  callerReferenceWindowMs: z.number().int().min(0).max(3_600_000).default(60_000),
  /**
   * Wait after TooManyInvalidationsInProgress. CloudFront sends no Retry-After; invalidations take minutes
   * and its waiters poll every 20 s, so asking again sooner than a minute mostly spends the create rate.
   */
  busyRetryAfterMs: z.number().int().min(0).max(3_600_000).default(60_000),
  /**
   * Wait after Throttling when no Retry-After came (none is documented): an SDK maintainer quoted a
   * default of 0.5 CreateInvalidation per second, one call per 2 s (inferred).
   */
  throttleRetryAfterMs: z.number().int().min(0).max(600_000).default(2_000),
});

export type CloudFrontCdnConfig = z.infer<typeof cloudfrontSettingsSchema> & CdnIdentity;
