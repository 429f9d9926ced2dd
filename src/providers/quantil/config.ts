import { z } from 'zod';
import type { CdnIdentity } from '../provider.ts';

/**
 * Quantil's own fields of a CDN entry. config/schema.ts adds the fields every entry has (id, baseUrl, policy,
 * concurrency, rateLimit), so this folder depends on nothing outside the provider contract.
 */
export const quantilSettingsSchema = z.strictObject({
  provider: z.literal('quantil'),
  /** The QUANTIL account name: the Basic-auth user, and the account whose daily quota a purge uses. */
  user: z.string().min(1, 'user is required'),
  /** Key for HMAC-SHA1 over the Date header; never sent itself. Use `${ENV_VAR}` in the file. */
  apiKey: z.string().min(1, 'apiKey is required'),
  /**
   * Most file-url + dir-url elements in one `POST /api/purge`. The API documents no limit, so this only keeps
   * one failed call from taking a large share of the daily quota with it.
   */
  maxItemsPerCall: z.number().int().min(1).max(1000).default(100),
  /**
   * QUANTIL has no "purge everything" call. With the account's domains listed, `all` becomes one dir-url per
   * domain root; without them `all` is refused.
   */
  domains: z.array(z.hostname('must be a hostname such as www.example.com')).min(1).optional(),
  /** Scheme of those domain-root dir-urls: QUANTIL caches by full URL, so it must match how the site is served. */
  rootScheme: z.enum(['http', 'https']).default('http'),
});

export type QuantilCdnConfig = z.infer<typeof quantilSettingsSchema> & CdnIdentity;
