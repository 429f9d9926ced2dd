import { z } from 'zod';
import type { CdnIdentity } from '../provider.ts';

/** Akamai's documented cap on one Fast Purge request body (413 "... 50,000 byte limit"). */
export const AKAMAI_MAX_BODY_BYTES = 50_000;

const credential = (name: string) => z.string().trim().min(1, `${name} is required`);

/**
 * Akamai Fast Purge v3's own fields of a CDN entry. `baseUrl` is the EdgeGrid credential's API host
 * (`https://akab-xxxx.luna.akamaiapis.net`, the `host` of `.edgerc`); requests are signed for its scheme and
 * host, so a test can point it at the plain-HTTP simulator. The three credentials come from the same `.edgerc`
 * section: use `${ENV_VAR}` in the file; none of them is ever logged or sent in the clear except the two tokens
 * the Authorization header names.
 */
export const akamaiSettingsSchema = z.strictObject({
  provider: z.literal('akamai'),
  clientToken: credential('clientToken'),
  /** Only ever an HMAC key: never sent. */
  clientSecret: credential('clientSecret'),
  accessToken: credential('accessToken'),
  /** Staging and production are separate networks: purging one does not purge the other. */
  network: z.enum(['production', 'staging']).default('production'),
  /**
   * `invalidate` (Akamai's recommendation, and the default): edges keep the object but revalidate it with the
   * origin, serving it stale if the origin cannot answer. `delete`: edges drop it and must fetch it anew.
   * Unset, `soft` decides (the project-wide spelling: true = invalidate, false = delete); both set must agree.
   */
  action: z.enum(['invalidate', 'delete']).optional(),
  soft: z.boolean().optional(),
  /**
   * Fast Purge has no "purge everything". With the property's CP codes listed, `all` becomes one
   * `invalidate/cpcode` (or `delete/cpcode`) of them (an inferred mapping: everything those CP codes serve);
   * without them `all` is refused. At most 300: the CP-code token bucket's size.
   */
  allCpCodes: z.array(z.number().int().min(1).max(2_147_483_647)).min(1).max(300).optional(),
  /** Partner/reseller accounts: `?accountSwitchKey=` on every call. */
  accountSwitchKey: z
    .string()
    .regex(/^[A-Za-z0-9:_-]{1,128}$/, 'must be an account switch key such as 1-5C0YLB:1-8BYUX')
    .optional(),
  /** Most bytes one request body holds: Akamai's limit, or less (tests, or a margin). */
  maxBodyBytes: z.number().int().min(1_024).max(AKAMAI_MAX_BODY_BYTES).default(AKAMAI_MAX_BODY_BYTES),
});

export type AkamaiCdnConfig = z.infer<typeof akamaiSettingsSchema> & CdnIdentity;

export type PurgeAction = 'invalidate' | 'delete';

/**
 * The action an entry purges with. Checked when the provider is made (the entry schema is merged into the
 * config's by its shape, which drops object-level refinements): a contradiction is a configuration error.
 */
export function purgeActionOf(
  config: Pick<AkamaiCdnConfig, 'action' | 'soft'>,
): { ok: true; action: PurgeAction } | { ok: false; reason: string } {
  const fromSoft = config.soft === undefined ? undefined : config.soft ? 'invalidate' : 'delete';
  if (config.action !== undefined && fromSoft !== undefined && config.action !== fromSoft) {
    const reason = `action "${config.action}" contradicts soft: ${String(config.soft)} (a soft purge is invalidate)`;
    return { ok: false, reason };
  }
  return { ok: true, action: config.action ?? fromSoft ?? 'invalidate' };
}
