import { z } from 'zod';
import { prioritySchema } from '../model/purge.ts';
import { DEFAULT_MAX_URL_LENGTH, LARGEST_MAX_URL_LENGTH } from '../model/url.ts';
import { akamaiSettingsSchema } from '../providers/akamai/config.ts';
import { cloudflareSettingsSchema } from '../providers/cloudflare/config.ts';
import { cloudfrontSettingsSchema } from '../providers/cloudfront/config.ts';
import { fastlySettingsSchema } from '../providers/fastly/config.ts';
import { quantilSettingsSchema } from '../providers/quantil/config.ts';
import { varnishSettingsSchema } from '../providers/varnish/config.ts';
import { vimsSettingsSchema } from '../providers/vims/config.ts';
import { allowHostsSchema } from './allow-hosts.ts';
import { cdnEntryBaseSchema } from './cdn-entry.ts';
import { policySchema } from './policy.ts';
import { sourceSchema } from './sources.ts';

export const vimsCdnSchema = cdnEntryBaseSchema.extend(vimsSettingsSchema.shape);
export const quantilCdnSchema = cdnEntryBaseSchema.extend(quantilSettingsSchema.shape);
export const varnishCdnSchema = cdnEntryBaseSchema.extend(varnishSettingsSchema.shape);
export const cloudfrontCdnSchema = cdnEntryBaseSchema.extend(cloudfrontSettingsSchema.shape);
export const cloudflareCdnSchema = cdnEntryBaseSchema.extend(cloudflareSettingsSchema.shape);
export const akamaiCdnSchema = cdnEntryBaseSchema.extend(akamaiSettingsSchema.shape);
export const fastlyCdnSchema = cdnEntryBaseSchema.extend(fastlySettingsSchema.shape);

/** A new provider adds its entry schema here (two lines) and to providers/registry.ts. */
export const cdnSchema = z.discriminatedUnion('provider', [
  vimsCdnSchema,
  quantilCdnSchema,
  varnishCdnSchema,
  cloudfrontCdnSchema,
  cloudflareCdnSchema,
  akamaiCdnSchema,
  fastlyCdnSchema,
]);

const hostPattern = z
  .string()
  .regex(
    /^(\*\.)?([a-z0-9-]+\.)*[a-z0-9-]+$/i,
    'must be an exact hostname or a *.wildcard (e.g. www.example.com, *.example.com)',
  );

export const routeSchema = z.strictObject({
  hosts: z.array(hostPattern).min(1),
  cdns: z.array(z.string().min(1)).min(1),
  /** The lane of a purge of these hosts that names none (the most urgent of its routes' wins). */
  priority: prioritySchema.optional(),
});

/** How TLS connections (a `rediss://` URL or cluster seeds) check the server; without it, Node's CAs. */
export const redisTlsSchema = z.strictObject({
  /** PEM file of the CA(s) that signed the Redis servers' certificates (read at start-up). */
  caFile: z.string().min(1).optional(),
  /** Refuse a server whose certificate does not verify; turning it off leaves TLS open to interception. */
  rejectUnauthorized: z.boolean().default(true),
});

/** pino's levels; `silent` logs nothing. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export type RedisTlsConfig = z.infer<typeof redisTlsSchema>;

/** Longest `redis.waitReplicas.timeoutMs`: an API request (and the connection WAIT blocks) waits this long. */
export const MAX_WAIT_REPLICAS_TIMEOUT_MS = 10_000;

/**
 * Off unless set: a purge is answered as accepted only once this many replicas acknowledged its acceptance
 * (Redis WAIT, on the primary that holds the prefix's slot); otherwise 503 NOT_REPLICATED, the purge still
 * accepted on the primary, and a retry with the same idempotency key maps to it.
 */
export const waitReplicasSchema = z.strictObject({
  replicas: z.number().int().min(1).max(100),
  /** Bounded: WAIT's own 0 means waiting forever, and every acceptance would wait with it. */
  timeoutMs: z.number().int().min(1).max(MAX_WAIT_REPLICAS_TIMEOUT_MS).default(500),
});

export type WaitReplicasConfig = z.infer<typeof waitReplicasSchema>;

export const redisSchema = z
  .strictObject({
    /** Default: REDIS_URL from the environment, else redis://127.0.0.1:6379 (filled in by load.ts). */
    url: z.string().min(1),
    /**
     * Seed nodes of a Redis Cluster (`redis://[user:password@]host:port`, `rediss://` for TLS); when given,
     * `url` is not used. The prefix's hash tag keeps every key in one slot, which BullMQ's and our
     * multi-key scripts require.
     */
    clusterNodes: z
      .array(z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' }))
      .min(1)
      .optional(),
    tls: redisTlsSchema.optional(),
    waitReplicas: waitReplicasSchema.optional(),
    /**
     * Prefix of every key, BullMQ's and ours. The `{...}` hash tag puts all of them in one Redis Cluster slot,
     * which BullMQ's multi-key Lua scripts and our own transitions need there.
     */
    prefix: z
      .string()
      .regex(
        /^\{[A-Za-z0-9_.-]+\}$|^\{[A-Za-z0-9_.-]+\}:[A-Za-z0-9_.:-]+$/,
        'must be a hash tag such as {purge}',
      )
      .default('{purge}'),
  })
  .superRefine((redis, ctx) => {
    const urls = redis.clusterNodes ?? [redis.url];
    const secure = urls.map(usesTls);
    if (redis.clusterNodes && new Set(secure).size > 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['clusterNodes'],
        message: 'seeds must all be rediss:// (TLS) or all redis://: a cluster is reached one way',
      });
    }
    if (redis.tls && !secure.some(Boolean)) {
      ctx.addIssue({
        code: 'custom',
        path: ['tls'],
        message: `is set, but ${redis.clusterNodes ? 'redis.clusterNodes are' : 'redis.url is'} not rediss:// (TLS)`,
      });
    }
  });

/** `rediss://` is Redis over TLS, for ioredis and for us. */
export function usesTls(url: string): boolean {
  return url.toLowerCase().startsWith('rediss://');
}

export const workerSchema = z.strictObject({
  /** A job whose lock is not renewed within this time is considered stalled and re-run by another worker. */
  lockDurationMs: z.number().int().min(100).default(30_000),
  stalledIntervalMs: z.number().int().min(100).default(30_000),
  /** BullMQ's default (1) fails a job for good on its second crash; purges deserve more. */
  maxStalledCount: z.number().int().min(0).default(3),
  keepCompleted: z
    .strictObject({
      ageSeconds: z.number().int().min(0).default(86_400),
      count: z.number().int().min(0).default(10_000),
    })
    .prefault({}),
  keepFailed: z
    .strictObject({
      ageSeconds: z
        .number()
        .int()
        .min(0)
        .default(7 * 86_400),
      count: z.number().int().min(0).default(50_000),
    })
    .prefault({}),
  /** Time to let in-flight jobs finish on SIGTERM before their locks are released for another worker. */
  shutdownGraceMs: z.number().int().min(0).default(20_000),
});

const secret = z.string().min(16, 'must be at least 16 characters');

/**
 * An API token, named so logs say which client sent a request and so each client's idempotency keys are
 * its own. A bare string is still accepted and, like an entry with no name, named by its position
 * (`tokens[0]`): reordering the list then renames it, which is why named entries are recommended. One strict
 * object for both forms (a bare string is read as `{ token }`), not a union: a union that fails says only
 * "Invalid input", where this names an unknown key with its path and the key it was meant to be.
 */
const apiTokenSchema = z.preprocess(
  (entry) => (typeof entry === 'string' ? { token: entry } : entry),
  z.strictObject(
    {
      name: z
        .string()
        .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 chars of A-Z, a-z, 0-9, _, . or -')
        .optional(),
      token: secret,
    },
    {
      error: (issue) =>
        issue.code === 'invalid_type' ? 'must be a token string or { "name": ..., "token": ... }' : undefined,
    },
  ),
);

export interface ApiToken {
  name: string;
  token: string;
}

export const apiSchema = z.strictObject({
  host: z.string().min(1).default('0.0.0.0'),
  port: z.number().int().min(0).max(65_535).default(8080),
  /** Bearer tokens accepted by the purge and status endpoints. With none, those endpoints refuse every call. */
  tokens: z
    .array(apiTokenSchema)
    .default([])
    .transform((tokens): ApiToken[] =>
      tokens.map((entry, index) => ({ name: entry.name ?? `tokens[${index}]`, token: entry.token })),
    ),
  bodyLimitBytes: z
    .number()
    .int()
    .min(1024)
    .default(1024 * 1024),
  /** Longest URL (or dir) accepted, as sent and once canonically encoded; longer ones are a 400 naming the index. */
  maxUrlLength: z.number().int().min(64).max(LARGEST_MAX_URL_LENGTH).default(DEFAULT_MAX_URL_LENGTH),
  /**
   * How much of an oversize body is still read (and thrown away) before its 413, so the client gets to read
   * the answer; a body declared or sent past this gets its 413 and a closed connection at once.
   */
  drainLimitBytes: z
    .number()
    .int()
    .min(0)
    .default(32 * 1024 * 1024),
  /** Longest wait for the rest of an oversize body before answering 413 and closing. */
  drainTimeoutMs: z.number().int().min(0).default(10_000),
  /** Most URLs + dirs one request may carry (413 above). */
  maxItemsPerRequest: z.number().int().min(1).default(10_000),
  /** How long an idempotency key or webhook event id keeps mapping to its first purge. */
  idempotencyWindowSeconds: z.number().int().min(1).default(86_400),
  webhook: z
    .strictObject({
      /** Shared secret of the CMS publish webhook's HMAC-SHA256 signature. Without it the webhook is off. */
      secret: secret.optional(),
      /** Oldest (and furthest future) signed timestamp accepted, against replays. */
      toleranceSeconds: z.number().int().min(1).default(300),
      /** The lane of a webhook event that names none (before the routes' defaults). */
      priority: prioritySchema.optional(),
    })
    .prefault({}),
  /** CMS webhooks as each CMS sends them, at POST /v1/sources/<name> (see config/sources.ts). */
  sources: z.array(sourceSchema).default([]),
});

export const dashboardSchema = z.strictObject({
  /** HTTP basic-auth users of the queue dashboard at /admin/queues; with none, the dashboard is not mounted. */
  users: z.array(z.strictObject({ username: z.string().min(1), password: secret })).default([]),
  /** Read-only unless set to false: then retrying and cleaning jobs from the dashboard is allowed. */
  readOnly: z.boolean().default(true),
});

export const metricsSchema = z.strictObject({
  /** A worker-only process (`--role worker`) serves /metrics here; others serve it on the API port. */
  host: z.string().min(1).default('0.0.0.0'),
  port: z.number().int().min(0).max(65_535).default(9464),
});

export const callbacksSchema = z
  .strictObject({
    /** Signs completion callbacks (same scheme as the webhook); defaults to the webhook secret. */
    secret: secret.optional(),
    attempts: z.number().int().min(1).max(50).default(10),
    initialIntervalMs: z.number().int().min(1).default(1_000),
    maxIntervalMs: z.number().int().min(1).default(300_000),
    /** Bounds one delivery (connect, answer, body): a dead receiver holds a slot no longer than this. */
    timeoutMs: z.number().int().min(1).default(5_000),
    /** Deliveries one worker process makes at once, across all receivers. */
    concurrency: z.number().int().min(1).max(1_000).default(4),
    /**
     * Of those, the most one receiver host may hold: a slow or dead receiver then delays only its own
     * callbacks. Raise it (up to `concurrency`) when nearly every callback goes to one receiver.
     */
    perHostConcurrency: z.number().int().min(1).default(1),
    /**
     * Most callbackUrl host names one API process looks up at once; past it a purge naming another gets
     * 503 CALLBACK_CHECK_BUSY. Each lookup holds a thread of libuv's pool (4 by default, UV_THREADPOOL_SIZE)
     * until the resolver gives up, however soon we stop waiting, and the CDN calls and Redis reconnects
     * of the same process resolve their names on that pool too.
     */
    maxIngestLookups: z.number().int().min(1).max(128).default(2),
    /**
     * Callback hosts that may be loopback, private or otherwise non-public (an internal CMS): exact host
     * names, IP addresses (four-part decimal IPv4, or IPv6) and CIDRs. Every other non-public address is
     * refused at ingest and again at connect time.
     */
    allowHosts: allowHostsSchema,
  })
  .superRefine((callbacks, ctx) => {
    if (callbacks.perHostConcurrency > callbacks.concurrency)
      ctx.addIssue({
        code: 'custom',
        path: ['perHostConcurrency'],
        message: `must be at most callbacks.concurrency (${callbacks.concurrency})`,
      });
  });

export const configSchema = z
  .strictObject({
    redis: redisSchema,
    cdns: z.array(cdnSchema).min(1, 'at least one CDN must be configured'),
    routes: z.array(routeSchema).default([]),
    policy: policySchema,
    worker: workerSchema.prefault({}),
    api: apiSchema.prefault({}),
    callbacks: callbacksSchema.prefault({}),
    reconcile: z
      .strictObject({
        /**
         * How often one sweep (a single BullMQ job scheduler shared by every process) repairs what a crash
         * can leave: pending targets with no flush coming, batches whose job ended without ending them.
         */
        intervalMs: z.number().int().min(100).default(30_000),
      })
      .prefault({}),
    dashboard: dashboardSchema.prefault({}),
    metrics: metricsSchema.prefault({}),
    /** How long a purge's status can be read back after it was created. */
    statusTtlSeconds: z
      .number()
      .int()
      .min(60)
      .default(7 * 86_400),
    log: z
      .strictObject({
        /** LOG_LEVEL in the environment overrides it (load.ts). */
        level: z.enum(LOG_LEVELS).default('info'),
      })
      .prefault({}),
  })
  .superRefine((config, ctx) => {
    const ids = new Set<string>();
    config.cdns.forEach((cdn, index) => {
      if (ids.has(cdn.id))
        ctx.addIssue({
          code: 'custom',
          path: ['cdns', index, 'id'],
          message: `duplicate CDN id "${cdn.id}"`,
        });
      ids.add(cdn.id);
    });
    config.cdns.forEach((cdn, index) => {
      const { verify } = cdn;
      if (!verify) return;
      if (verify.edges === 'listing' && cdn.provider !== 'vims')
        ctx.addIssue({
          code: 'custom',
          path: ['cdns', index, 'verify', 'edges'],
          message: `${cdn.provider} has no listing of its edges: name them, or use dns`,
        });
      const waits = verify.delayMs + (verify.repeatAfterMs ?? 0);
      if (waits >= verify.deadlineMs)
        ctx.addIssue({
          code: 'custom',
          path: ['cdns', index, 'verify', 'deadlineMs'],
          message: `must be longer than delayMs + repeatAfterMs (${waits} ms): the first check would come after it`,
        });
    });
    const tokenNames = new Set<string>();
    config.api.tokens.forEach((token, index) => {
      if (tokenNames.has(token.name))
        ctx.addIssue({
          code: 'custom',
          path: ['api', 'tokens', index, 'name'],
          message: `duplicate token name "${token.name}"`,
        });
      tokenNames.add(token.name);
    });
    const sourceNames = new Set<string>();
    config.api.sources.forEach((source, index) => {
      if (sourceNames.has(source.name))
        ctx.addIssue({
          code: 'custom',
          path: ['api', 'sources', index, 'name'],
          message: `duplicate source name "${source.name}"`,
        });
      sourceNames.add(source.name);
      source.cdns?.forEach((cdnId, cdnIndex) => {
        if (!ids.has(cdnId))
          ctx.addIssue({
            code: 'custom',
            path: ['api', 'sources', index, 'cdns', cdnIndex],
            message: `unknown CDN id "${cdnId}"`,
          });
      });
    });
    if (config.api.idempotencyWindowSeconds > config.statusTtlSeconds) {
      ctx.addIssue({
        code: 'custom',
        path: ['api', 'idempotencyWindowSeconds'],
        message: `must not exceed statusTtlSeconds (${config.statusTtlSeconds}): a repeat would point at an expired purge`,
      });
    }
    config.routes.forEach((route, routeIndex) => {
      route.cdns.forEach((cdnId, cdnIndex) => {
        if (!ids.has(cdnId)) {
          ctx.addIssue({
            code: 'custom',
            path: ['routes', routeIndex, 'cdns', cdnIndex],
            message: `unknown CDN id "${cdnId}"`,
          });
        }
      });
    });
  });

export type Config = z.infer<typeof configSchema>;
export type CdnConfig = z.infer<typeof cdnSchema>;
export type RouteConfig = z.infer<typeof routeSchema>;
