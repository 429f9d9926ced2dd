import { createHash } from 'node:crypto';
import { z } from 'zod';
import { canonicalUrl, DEFAULT_MAX_URL_LENGTH, type UrlRole } from './url.ts';

/** The ways a purge can name what to invalidate; providers declare which of them they support. */
export const TARGET_KINDS = ['urls', 'dirs', 'pattern', 'all', 'tags'] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];

export const MAX_PATTERN_LENGTH = 1024;

/**
 * A purge's lane, highest first: `urgent` skips the coalescing window and goes before everything else for its
 * CDN, `bulk` goes last, waits a longer window and is the only lane ever shed.
 */
export const PRIORITIES = ['urgent', 'normal', 'bulk'] as const;
export type Priority = (typeof PRIORITIES)[number];
export const prioritySchema = z.enum(PRIORITIES);

/** A URL list canonicalised item by item (a refusal names its index), then de-duplicated. */
function urlList(role: UrlRole, maxLength: number) {
  const item = z.string().transform((raw, ctx) => {
    const result = canonicalUrl(raw, role, maxLength);
    if (result.ok) return result.value;
    ctx.addIssue({ code: 'custom', message: result.reason });
    return z.NEVER;
  });
  return z.array(item).transform((urls) => [...new Set(urls)]);
}

const regexSource = z
  .string()
  .min(1, 'pattern must not be empty')
  .max(MAX_PATTERN_LENGTH, `pattern is longer than ${MAX_PATTERN_LENGTH} characters`)
  .refine(compiles, { message: 'pattern is not a valid regular expression' });

/**
 * A surrogate key / cache tag as the CDNs that purge by them take it: printable ASCII with no space (Fastly's
 * Surrogate-Key header separates keys with spaces; Cloudflare's Cache-Tag with commas), at most 128
 * characters (Akamai's limit, the tightest of them). Case is kept: Fastly's keys are case-sensitive.
 */
export const MAX_TAG_LENGTH = 128;
const TAG = /^[\x21-\x2b\x2d-\x7e]+$/;
const tagList = z
  .array(
    z
      .string()
      .min(1, 'a tag must not be empty')
      .max(MAX_TAG_LENGTH, `a tag is longer than ${MAX_TAG_LENGTH} characters`)
      .regex(TAG, 'a tag is printable ASCII without spaces or commas'),
  )
  .transform((tags) => [...new Set(tags)]);

const cdnIdList = z.array(z.string().min(1)).min(1, 'cdns, when given, must name at least one CDN');

export interface RequestLimits {
  /** Longest URL accepted, before and after canonical encoding (`api.maxUrlLength`). */
  maxUrlLength: number;
}

/**
 * What producers (API, CLI, library) hand to the pipeline, canonicalised: every URL in one spelling (see
 * url.ts), dirs ending in `/`, duplicates dropped. `cdns` overrides host routing.
 */
export function createPurgeRequestSchema(limits: RequestLimits) {
  return z
    .object({
      urls: urlList('url', limits.maxUrlLength).optional(),
      dirs: urlList('dir', limits.maxUrlLength).optional(),
      pattern: regexSource.optional(),
      tags: tagList.optional(),
      all: z.boolean().optional(),
      cdns: cdnIdList.optional(),
      priority: prioritySchema.optional(),
    })
    .strict()
    .superRefine((request, ctx) => {
      const hasUrls = (request.urls?.length ?? 0) > 0;
      const hasDirs = (request.dirs?.length ?? 0) > 0;
      const hasPattern = request.pattern !== undefined;
      const hasTags = (request.tags?.length ?? 0) > 0;
      if (!hasUrls && !hasDirs && !hasPattern && !hasTags && request.all !== true) {
        ctx.addIssue({ code: 'custom', message: 'a purge needs urls, dirs, pattern, tags or all: true' });
      }
      if (request.all === true && (hasUrls || hasDirs || hasPattern || hasTags)) {
        ctx.addIssue({
          code: 'custom',
          path: ['all'],
          message: 'all: true cannot be combined with other targets',
        });
      }
    });
}

export const purgeRequestSchema = createPurgeRequestSchema({ maxUrlLength: DEFAULT_MAX_URL_LENGTH });

/** A request as a producer receives it (before canonicalisation), and as the pipeline sees it (after). */
export type PurgeRequestInput = z.input<typeof purgeRequestSchema>;
export type PurgeRequest = z.output<typeof purgeRequestSchema>;

/**
 * What makes two requests the same request, for idempotency: the canonical targets as sets, the CDNs named
 * (or their absence: "route by host"), where the result is reported, and the lane asked for. A repeat of a key with a different
 * fingerprint is a different request, not a retry.
 */
export function requestFingerprint(request: PurgeRequest, callbackUrl: string | undefined): string {
  const sorted = (values: readonly string[] | undefined) => (values ? [...values].sort() : null);
  const canonical = [
    sorted(request.urls),
    sorted(request.dirs),
    request.pattern ?? null,
    request.all === true,
    request.cdns ? sorted([...new Set(request.cdns)]) : null,
    callbackUrl ?? null,
    // Only when asked for, so a key used before lanes (or tags) existed still matches its repeat.
    ...(request.priority ? [request.priority] : []),
    ...((request.tags?.length ?? 0) > 0 ? [['tags', sorted(request.tags)]] : []),
  ];
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex');
}

/**
 * What one CDN must purge. A batch is a slice of a target sized for one API call, so both share this shape:
 * a provider receives exactly the items it agreed to take in `toBatches`.
 */
export interface PurgeTarget {
  urls: string[];
  dirs: string[];
  pattern?: string;
  all?: boolean;
  /**
   * Surrogate keys / cache tags (Fastly `Surrogate-Key`, Cloudflare `Cache-Tag`, Akamai cache tags): names
   * the origin gave objects, purged wherever those objects are. Only CDNs whose capabilities list `tags`.
   */
  tags?: string[];
}

export function targetKinds(target: PurgeTarget): TargetKind[] {
  const kinds: TargetKind[] = [];
  if (target.urls.length > 0) kinds.push('urls');
  if (target.dirs.length > 0) kinds.push('dirs');
  if (target.pattern !== undefined) kinds.push('pattern');
  if (target.all === true) kinds.push('all');
  if ((target.tags?.length ?? 0) > 0) kinds.push('tags');
  return kinds;
}

export function targetSize(target: PurgeTarget): number {
  return (
    target.urls.length +
    target.dirs.length +
    (target.tags?.length ?? 0) +
    (target.pattern === undefined ? 0 : 1) +
    (target.all ? 1 : 0)
  );
}

function compiles(source: string): boolean {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}

/**
 * How a verification's re-purge (cdns[].verify) is told from any other purge: its id starts so (an API
 * purge's id is a UUID, hex digits only). A batch carrying only re-purges is checked by the batches that
 * sent them, never by itself (take.lua, pipeline/verify-step.ts), so a stale edge cannot start a chain.
 */
export const REPURGE_ID_PREFIX = 'rp-';
