import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { aggregateState, type BatchStatus, type PurgeStatus } from '../model/status.ts';
import type { PurgePlan } from '../pipeline/plan.ts';
import { PURGE_FIELDS, purgeKey } from './keys.ts';

/** Fields a step may change; `null` clears a field (an error that no longer applies). */
export type BatchPatch = {
  [K in keyof Omit<BatchStatus, 'batchId' | 'cdnId' | 'items' | 'queuedAt' | 'updatedAt'>]?:
    | BatchStatus[K]
    | null;
};

export type TransitionResult = 'applied' | 'already_final' | 'missing';

export interface StatusStore {
  create(plan: PurgePlan, now: number): Promise<void>;
  /** Applies a patch (and counter increments) unless the batch has already reached a terminal state. */
  update(
    purgeId: string,
    batchId: string,
    patch: BatchPatch,
    now: number,
    increments?: Partial<Record<'attempts' | 'polls', number>>,
  ): Promise<TransitionResult>;
  get(purgeId: string): Promise<PurgeStatus | undefined>;
}

export interface StatusStoreOptions {
  redis: Redis;
  prefix: string;
  ttlSeconds: number;
}

type RedisWithTransition = Redis & {
  purgeTransition(
    key: string,
    field: string,
    patch: string,
    increments: string,
    now: string,
  ): Promise<number>;
};

// Read once when the store is built, never at import time.
let transitionLua: string | undefined;

/**
 * The purge record: one hash per purge holding its summary and one JSON field per batch. Only the Lua
 * transition writes batch fields after creation, so concurrent workers and a re-run after a crash can never
 * move a finished batch back, or count it down twice.
 */
export function createStatusStore({ redis, prefix, ttlSeconds }: StatusStoreOptions): StatusStore {
  transitionLua ??= readFileSync(new URL('./transition.lua', import.meta.url), 'utf8');
  const client = redis as RedisWithTransition;
  if (typeof client.purgeTransition !== 'function') {
    redis.defineCommand('purgeTransition', { numberOfKeys: 1, lua: transitionLua });
  }

  return {
    async create(plan, now) {
      const key = purgeKey(prefix, plan.purgeId);
      const fields: Record<string, string> = {
        [PURGE_FIELDS.meta]: JSON.stringify({
          id: plan.purgeId,
          createdAt: now,
          request: plan.request,
          cdns: plan.cdns,
        }),
        [PURGE_FIELDS.remaining]: String(plan.batches.length),
      };
      for (const batch of plan.batches) {
        const status: BatchStatus = {
          batchId: batch.batchId,
          cdnId: batch.cdnId,
          state: 'queued',
          items: batch.target.urls.length + batch.target.dirs.length || 1,
          attempts: 0,
          polls: 0,
          queuedAt: now,
          updatedAt: now,
        };
        fields[PURGE_FIELDS.batch(batch.batchId)] = JSON.stringify(status);
      }
      await redis.multi().hset(key, fields).expire(key, ttlSeconds).exec();
    },

    async update(purgeId, batchId, patch, now, increments = {}) {
      const result = await client.purgeTransition(
        purgeKey(prefix, purgeId),
        PURGE_FIELDS.batch(batchId),
        JSON.stringify(patch),
        JSON.stringify(increments),
        String(now),
      );
      return result === 1 ? 'applied' : result === 0 ? 'already_final' : 'missing';
    },

    async get(purgeId) {
      const hash = await redis.hgetall(purgeKey(prefix, purgeId));
      const metaText = hash[PURGE_FIELDS.meta];
      if (metaText === undefined) return undefined;
      const meta = JSON.parse(metaText) as Pick<PurgeStatus, 'id' | 'createdAt' | 'request' | 'cdns'>;
      const batches = Object.entries(hash)
        .filter(([field]) => field.startsWith('batch:'))
        .map(([, value]) => JSON.parse(value) as BatchStatus)
        .sort((a, b) => a.batchId.localeCompare(b.batchId, 'en', { numeric: true }));
      const finishedAt = hash[PURGE_FIELDS.finishedAt];
      return {
        ...meta,
        state: aggregateState(batches),
        ...(finishedAt === undefined ? {} : { finishedAt: Number(finishedAt) }),
        batches,
      };
    },
  };
}
