import { z } from 'zod';
import { vimsCdnSchema } from '../providers/vims/config.ts';
import { policySchema } from './policy.ts';

/** A new provider adds its entry schema here (one line) and to providers/registry.ts. */
export const cdnSchema = z.discriminatedUnion('provider', [vimsCdnSchema]);

const hostPattern = z
  .string()
  .regex(
    /^(\*\.)?([a-z0-9-]+\.)*[a-z0-9-]+$/i,
    'must be an exact hostname or a *.wildcard (e.g. www.example.com, *.example.com)',
  );

export const routeSchema = z.object({
  hosts: z.array(hostPattern).min(1),
  cdns: z.array(z.string().min(1)).min(1),
});

export const redisSchema = z.object({
  /** Default: REDIS_URL from the environment, else redis://127.0.0.1:6379 (filled in by load.ts). */
  url: z.string().min(1),
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
});

export const workerSchema = z.object({
  /** A job whose lock is not renewed within this time is considered stalled and re-run by another worker. */
  lockDurationMs: z.number().int().min(100).default(30_000),
  stalledIntervalMs: z.number().int().min(100).default(30_000),
  /** BullMQ's default (1) fails a job for good on its second crash; purges deserve more. */
  maxStalledCount: z.number().int().min(0).default(3),
  keepCompleted: z
    .object({
      ageSeconds: z.number().int().min(0).default(86_400),
      count: z.number().int().min(0).default(10_000),
    })
    .prefault({}),
  keepFailed: z
    .object({
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

export const configSchema = z
  .object({
    redis: redisSchema,
    cdns: z.array(cdnSchema).min(1, 'at least one CDN must be configured'),
    routes: z.array(routeSchema).default([]),
    policy: policySchema,
    worker: workerSchema.prefault({}),
    /** How long a purge's status can be read back after it was created. */
    statusTtlSeconds: z
      .number()
      .int()
      .min(60)
      .default(7 * 86_400),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      })
      .prefault({}),
  })
  .strict()
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
