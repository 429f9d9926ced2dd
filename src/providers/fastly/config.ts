import { z } from 'zod';
import type { CdnIdentity } from '../provider.ts';

export const FASTLY_API = 'https://api.fastly.com';

/** Fastly's own cap on one batch surrogate-key purge (`POST /service/{id}/purge`). */
export const FASTLY_MAX_KEYS_PER_CALL = 256;

/**
 * Fastly's own fields of a CDN entry. There is no SDK behind it (the official `fastly` npm client is generated
 * on superagent and once failed URL purges with a token: shared/providers/fastly.md): four endpoints, called
 * through the shared HTTP client. config/schema.ts adds the fields every entry has.
 */
export const fastlySettingsSchema = z.strictObject({
  provider: z.literal('fastly'),
  /** Every entry has a base URL; Fastly's is its API, so an entry may leave it out. Tests point it elsewhere. */
  baseUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).default(FASTLY_API),
  /** The service whose cache key and purge-all calls act on (`/service/{serviceId}/...`); alphanumeric. */
  serviceId: z.string().regex(/^[A-Za-z0-9]{1,64}$/, 'must be a Fastly service id (letters and digits)'),
  /**
   * API token, sent as `Fastly-Key`. Scope `purge_select` covers URL and key purges; `all` needs more. Use
   * `${ENV_VAR}` in the file; never logged.
   */
  token: z.string().min(1, 'token is required'),
  /**
   * Soft purge (`Fastly-Soft-Purge: 1`): objects are marked stale instead of unusable. Fastly cannot
   * soft-purge everything, so an `all` purge is hard whatever this says (its status says so).
   */
  soft: z.boolean().default(false),
  /**
   * Most URLs + keys in one batch. Each URL is a call of its own (Fastly has no multi-URL purge), keys go 256
   * to a call; the default lets a key batch fill, a smaller one bounds the URL calls one submit makes.
   */
  maxItemsPerCall: z.number().int().min(1).max(1000).default(FASTLY_MAX_KEYS_PER_CALL),
  /** URL purge calls one submit has in flight at once. */
  urlConcurrency: z.number().int().min(1).max(64).default(8),
  /**
   * How long after acceptance a batch counts as done, there being no status to ask. Fastly's figures: URL and
   * key purges reach the whole edge in "around 150ms", purge-all in "around 10-20 seconds" (the upper one).
   */
  settleMs: z
    .strictObject({
      purge: z.number().int().min(0).max(60_000).default(150),
      purgeAll: z.number().int().min(0).max(600_000).default(20_000),
    })
    .prefault({}),
});

export type FastlyCdnConfig = z.infer<typeof fastlySettingsSchema> & CdnIdentity;
