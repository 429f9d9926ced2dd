import { z } from 'zod';
import type { CdnIdentity } from '../provider.ts';

export const VIMS_TASK_PATHS = ['/api/tasks/', '/api/task/'] as const;

/**
 * Vims's own fields of a CDN entry. config/schema.ts adds the fields every entry has (id, baseUrl, policy,
 * concurrency, rateLimit), so this folder depends on nothing outside the provider contract.
 */
export const vimsSettingsSchema = z.strictObject({
  provider: z.literal('vims'),
  /** API token (`sk_live_...`), sent as the raw Authorization header. Use `${ENV_VAR}` in the file. */
  token: z.string().min(1, 'token is required'),
  /** The VIMS CDN service id: `POST /api/services/cdn/<cdnId>/purge`. */
  cdnId: z
    .union([z.string().regex(/^\d+$/, 'must be a numeric id'), z.number().int().min(0)])
    .transform(String),
  /** "all" or a CDN_HOST vm id from `GET /api/services/cdn/`. */
  target: z
    .union([
      z.literal('all'),
      z.string().regex(/^\d+$/, 'must be "all" or a numeric vm id'),
      z.number().int(),
    ])
    .transform(String)
    .default('all'),
  /** The doc says `/api/tasks/<id>` but its own example uses `/api/task/<id>`: the other is tried on 404. */
  taskStatusPath: z.enum(VIMS_TASK_PATHS).default('/api/tasks/'),
  /**
   * Inferred, not documented: what VIMS matches `pattern` against. `path` (default) anchors on the URL path
   * and query, as a Varnish ban on req.url would; `url` anchors on the whole URL including scheme and host.
   */
  patternScope: z.enum(['path', 'url']).default('path'),
  /** Longest regex sent in one purge call; longer URL lists are split into several calls. */
  maxPatternLength: z.number().int().min(64).max(65_536).default(4_000),
});

export type VimsCdnConfig = z.infer<typeof vimsSettingsSchema> & CdnIdentity;
