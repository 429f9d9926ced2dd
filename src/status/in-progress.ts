import { readFileSync } from 'node:fs';
import type { PurgeTarget } from '../model/purge.ts';
import type { RedisClient } from '../queue/connection.ts';
import { inProgressKey } from './keys.ts';

/** What a CDN lets be in progress at once (ProviderCapabilities.inProgressLimit). */
export interface InProgressLimit {
  items: number;
  wildcards?: number;
}

export type Reservation =
  | { fits: true }
  | { fits: false; items: number; wildcards: number; limit: InProgressLimit };

/** Holds each batch's share of its CDN's in-progress budget from before its submit until it ends. */
export interface InProgressBudget {
  reserve(batchId: string, target: PurgeTarget): Promise<Reservation>;
}

type ScriptedRedis = RedisClient & {
  inProgressReserve(key: string, ...args: string[]): Promise<[number, number, number]>;
};

/**
 * A batch's cost, as CloudFront counts it (shared/providers/cloudfront.md): each URL a file path, each dir
 * (`/dir/*`) and `all` (`/*`) a wildcard path; the two limits are independent.
 */
export function inProgressCost(target: PurgeTarget): { items: number; wildcards: number } {
  return { items: target.urls.length, wildcards: target.dirs.length + (target.all ? 1 : 0) };
}

export function createInProgressBudget(options: {
  redis: RedisClient;
  prefix: string;
  cdnId: string;
  limit: InProgressLimit;
  /** How long the ledger outlives its last reservation: longer than any batch's deadline. */
  ttlSeconds: number;
}): InProgressBudget {
  const { redis, prefix, cdnId, limit } = options;
  const client = redis as ScriptedRedis;
  if (typeof client.inProgressReserve !== 'function') {
    const lua = readFileSync(new URL('./in-progress.lua', import.meta.url), 'utf8');
    redis.defineCommand('inProgressReserve', { numberOfKeys: 1, lua });
  }
  const key = inProgressKey(prefix, cdnId);
  return {
    async reserve(batchId, target) {
      const cost = inProgressCost(target);
      const [fits, items, wildcards] = await client.inProgressReserve(
        key,
        batchId,
        String(cost.items),
        String(cost.wildcards),
        String(limit.items),
        String(limit.wildcards ?? 0),
        prefix,
        String(options.ttlSeconds),
      );
      return fits === 1 ? { fits: true } : { fits: false, items, wildcards, limit };
    },
  };
}
