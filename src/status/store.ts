import { readFileSync } from 'node:fs';
import { aggregateState, type BatchStatus, type PurgeStatus } from '../model/status.ts';
import type { PurgePlan } from '../pipeline/plan.ts';
import type { RedisClient } from '../queue/connection.ts';
import { idempotencyKey, PURGE_FIELDS, purgeKey } from './keys.ts';

/** Fields a step may change; `null` clears a field (an error that no longer applies). */
export type BatchPatch = {
  [K in keyof Omit<BatchStatus, 'batchId' | 'cdnId' | 'items' | 'queuedAt' | 'updatedAt'>]?:
    | BatchStatus[K]
    | null;
};

export interface TransitionResult {
  outcome: 'applied' | 'already_final' | 'missing';
  /** Batches of the purge not yet terminal after this call; 0 means the whole purge has finished. */
  remaining: number;
  /** The purge has finished and has a callback URL to notify. */
  callbackDue: boolean;
}

export interface CreateOptions {
  idempotencyKey?: string;
  idempotencyWindowSeconds?: number;
  callbackUrl?: string;
}

export interface StatusStore {
  /** Writes the record; returns the id owning the request, an earlier one when the idempotency key repeats. */
  create(plan: PurgePlan, now: number, options?: CreateOptions): Promise<{ id: string; duplicate: boolean }>;
  /** Applies a patch (and counter increments) unless the batch has already reached a terminal state. */
  update(
    purgeId: string,
    batchId: string,
    patch: BatchPatch,
    now: number,
    increments?: Partial<Record<'attempts' | 'polls', number>>,
  ): Promise<TransitionResult>;
  get(purgeId: string): Promise<PurgeStatus | undefined>;
  /** The purge an idempotency key maps to, within its window. */
  findByIdempotencyKey(key: string): Promise<string | undefined>;
}

export interface StatusStoreOptions {
  redis: RedisClient;
  prefix: string;
  ttlSeconds: number;
}

type ScriptedRedis = RedisClient & {
  purgeTransition(
    key: string,
    field: string,
    patch: string,
    incr: string,
    now: string,
  ): Promise<[number, number, number]>;
  purgeCreate(record: string, idem: string, ...args: string[]): Promise<string>;
};

const script = (name: string) => readFileSync(new URL(`./${name}`, import.meta.url), 'utf8');

/**
 * The purge record: one hash per purge holding its summary and one JSON field per batch. Only the Lua
 * transition writes batch fields after creation, so concurrent workers and a re-run after a crash can never
 * move a finished batch back, or count it down twice.
 */
export function createStatusStore({ redis, prefix, ttlSeconds }: StatusStoreOptions): StatusStore {
  const client = redis as ScriptedRedis;
  if (typeof client.purgeTransition !== 'function') {
    redis.defineCommand('purgeTransition', { numberOfKeys: 1, lua: script('transition.lua') });
    redis.defineCommand('purgeCreate', { numberOfKeys: 2, lua: script('create.lua') });
  }

  return {
    async create(plan, now, options = {}) {
      const key = purgeKey(prefix, plan.purgeId);
      const meta = {
        id: plan.purgeId,
        createdAt: now,
        request: plan.request,
        cdns: plan.cdns,
      };
      const fields = [
        PURGE_FIELDS.meta,
        JSON.stringify(meta),
        PURGE_FIELDS.remaining,
        String(plan.batches.length),
      ];
      if (options.callbackUrl) fields.push(PURGE_FIELDS.callbackUrl, options.callbackUrl);
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
        fields.push(PURGE_FIELDS.batch(batch.batchId), JSON.stringify(status));
      }
      const idem =
        options.idempotencyKey === undefined ? key : idempotencyKey(prefix, options.idempotencyKey);
      const window = String(options.idempotencyWindowSeconds ?? ttlSeconds);
      const flag = options.idempotencyKey === undefined ? '0' : '1';
      const id = await client.purgeCreate(
        key,
        idem,
        plan.purgeId,
        String(ttlSeconds),
        window,
        flag,
        ...fields,
      );
      return { id, duplicate: id !== plan.purgeId };
    },

    async update(purgeId, batchId, patch, now, increments = {}) {
      const [result, remaining, callbackDue] = await client.purgeTransition(
        purgeKey(prefix, purgeId),
        PURGE_FIELDS.batch(batchId),
        JSON.stringify(patch),
        JSON.stringify(increments),
        String(now),
      );
      const outcome = result === 1 ? 'applied' : result === 0 ? 'already_final' : 'missing';
      return { outcome, remaining, callbackDue: callbackDue === 1 };
    },

    async findByIdempotencyKey(key) {
      return (await redis.get(idempotencyKey(prefix, key))) ?? undefined;
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
      const callbackUrl = hash[PURGE_FIELDS.callbackUrl];
      return {
        ...meta,
        ...(callbackUrl === undefined ? {} : { callbackUrl }),
        state: aggregateState(batches),
        ...(finishedAt === undefined ? {} : { finishedAt: Number(finishedAt) }),
        batches,
      };
    },
  };
}
