import { z } from 'zod';
import type { CdnIdentity } from '../provider.ts';

/** The API base of the official `cloudflare` SDK (7.3.0); tests point `baseUrl` at the simulator instead. */
export const CLOUDFLARE_API_BASE = 'https://api.cloudflare.com/client/v4';

export const CLOUDFLARE_PLANS = ['free', 'pro', 'business', 'enterprise'] as const;
export type CloudflarePlan = (typeof CLOUDFLARE_PLANS)[number];

/**
 * Most `files` per call off Enterprise. Current docs say 100, but a 2025 report (cloudflare-docs#21338) says
 * single-file purge stayed at 30 while prefixes/tags/hosts went to 100: 30 is the safe default, and a
 * "no more than N" refusal is split and resent anyway (provider.ts).
 */
export const DEFAULT_FILES_PER_CALL: Record<CloudflarePlan, number> = {
  free: 30,
  pro: 30,
  business: 30,
  enterprise: 500,
};

/** Prefixes, tags or hosts per call: 100 on every plan (confirmed by a Cloudflare docs PR, Aug 2026). */
export const DEFAULT_FLEX_ITEMS_PER_CALL = 100;

/**
 * Cloudflare's own fields of a CDN entry. config/schema.ts adds the fields every entry has (id, policy,
 * concurrency, rateLimit, ...); `baseUrl` is redeclared here only to give it Cloudflare's default.
 */
export const cloudflareSettingsSchema = z.strictObject({
  provider: z.literal('cloudflare'),
  baseUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).default(CLOUDFLARE_API_BASE),
  /** The zone's id (32 hex digits, from the zone's Overview page): `/zones/<zoneId>/purge_cache`. */
  zoneId: z.string().regex(/^[0-9a-fA-F]{32}$/, 'must be a Cloudflare zone id (32 hex digits)'),
  /**
   * API token with the zone's Cache Purge permission, sent as `Authorization: Bearer <token>`. Use
   * `${ENV_VAR}` in the file; never logged. (The legacy X-Auth-Email/X-Auth-Key pair is not supported.)
   */
  apiToken: z.string().regex(/^[\x21-\x7e]{20,256}$/, 'must be a Cloudflare API token (no spaces)'),
  /** The zone's plan: picks the default per-call caps below (the plan's rate limits: README). */
  plan: z.enum(CLOUDFLARE_PLANS).default('free'),
  /** Most URLs in one `files` call; default by plan (30 off Enterprise, 500 on it). */
  maxFilesPerCall: z.number().int().min(1).max(500).optional(),
  /** Most prefixes, tags or hosts in one call (default 100). */
  maxFlexItemsPerCall: z.number().int().min(1).max(500).default(DEFAULT_FLEX_ITEMS_PER_CALL),
  /**
   * Soft purge: `invalidate_cache` instead of `purge_cache` (same bodies, same limits): objects are marked
   * stale and revalidated with the origin instead of being deleted.
   */
  soft: z.boolean().default(false),
  /**
   * What `all` purges. Unset: the whole zone (`purge_everything`). Set: only these hostnames (`hosts`),
   * for a zone other services share.
   */
  allHosts: z.array(z.hostname('must be a hostname such as www.example.com')).min(1).max(500).optional(),
  /**
   * Cloudflare gives no completion signal; "Instant Purge" is under 150 ms at P50. The batch is reported
   * done this long after acceptance (0: at once).
   */
  propagationMs: z.number().int().min(0).max(600_000).default(150),
});

export type CloudflareCdnConfig = z.infer<typeof cloudflareSettingsSchema> & CdnIdentity;

export interface CloudflareCaps {
  files: number;
  flex: number;
}

export function capsOf(
  config: Pick<CloudflareCdnConfig, 'plan' | 'maxFilesPerCall' | 'maxFlexItemsPerCall'>,
) {
  return {
    files: config.maxFilesPerCall ?? DEFAULT_FILES_PER_CALL[config.plan],
    flex: config.maxFlexItemsPerCall,
  } satisfies CloudflareCaps;
}
