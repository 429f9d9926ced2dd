import { readFileSync } from 'node:fs';
import { aggregateState, type BatchStatus, type PurgeStatus } from '../model/status.ts';
import type { PlannedBatch, PurgePlan } from '../pipeline/plan.ts';
import type { RedisClient } from '../queue/connection.ts';
import { idempotencyKey, PURGE_FIELDS, planKey, purgeKey } from './keys.ts';

const BATCH_FIELD_PREFIX = PURGE_FIELDS.batch('');

/** Fields a step may change; `null` clears a field (an error that no longer applies). */
export type BatchPatch = {
  [K in keyof Omit<BatchStatus, 'batchId' | 'cdnId' | 'items' | 'queuedAt' | 'updatedAt'>]?:
    | BatchStatus[K]
    | null;
};

/** A quota counter a batch was charged to, and by how much (given back if the CDN never accepted it). */
export interface QuotaCharge {
  key: string;
  amount: number;
}

export interface TransitionResult {
  outcome: 'applied' | 'already_final' | 'missing';
  /** Batches of the purge not yet terminal after this call; 0 means the whole purge has finished. */
  remaining: number;
  /** The purge has finished and has a callback URL to notify. */
  callbackDue: boolean;
}

/** A caller's idempotency key, in the scope of whoever sent it, with the fingerprint of its request. */
export interface IdempotencyClaim {
  scope: string;
  key: string;
  fingerprint: string;
}

export interface CreateOptions {
  idempotency?: IdempotencyClaim;
  idempotencyWindowSeconds?: number;
  callbackUrl?: string;
  /** When each CDN's batches time out (by CDN id), kept in the stored plan; else when the record expires. */
  deadlines?: ReadonlyMap<string, number>;
}

export type CreateOutcome = 'created' | 'repeat' | 'conflict';

/** One batch of the durable plan: enough to rebuild its job with nothing but the record. */
export interface StoredBatch {
  batchId: string;
  cdnId: string;
  target: PlannedBatch['target'];
  deadlineAt: number;
}

export interface StoredPlan {
  createdAt: number;
  batches: StoredBatch[];
}

export interface StatusStore {
  /**
   * Writes the record with its plan; when the idempotency key is taken, writes nothing and returns the
   * earlier purge's id, as a `repeat` of the same request or a `conflict` with a different one.
   */
  create(
    plan: PurgePlan,
    now: number,
    options?: CreateOptions,
  ): Promise<{ id: string; outcome: CreateOutcome }>;
  /**
   * Applies a patch (and counter increments) unless the batch has already reached a terminal state. When
   * the patch ends a batch the CDN never accepted (no remote id), its `charges` are given back.
   */
  update(
    purgeId: string,
    batchId: string,
    patch: BatchPatch,
    now: number,
    increments?: Partial<Record<'attempts' | 'polls', number>>,
    charges?: readonly QuotaCharge[],
  ): Promise<TransitionResult>;
  get(purgeId: string): Promise<PurgeStatus | undefined>;
  /** The purge an idempotency key maps to, within its window, and whether it was for the same request. */
  findByIdempotencyKey(claim: IdempotencyClaim): Promise<{ id: string; sameRequest: boolean } | undefined>;
  /** What the purge was planned to do when it was accepted. */
  getPlan(purgeId: string): Promise<StoredPlan | undefined>;
  /** Removes a record that was never handed to the queues, and its idempotency key if it still names it. */
  discard(purgeId: string, idempotency?: IdempotencyClaim): Promise<void>;
}

export interface StatusStoreOptions {
  redis: RedisClient;
  prefix: string;
  ttlSeconds: number;
}

type ScriptedRedis = RedisClient & {
  purgeTransition(numberOfKeys: number, ...keysAndArgs: string[]): Promise<[number, number, number]>;
  purgeCreate(
    record: string,
    idem: string,
    plan: string,
    ...args: string[]
  ): Promise<[string, CreateOutcome]>;
  purgeDiscard(record: string, idem: string, plan: string, purgeId: string): Promise<number>;
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
    // No fixed key count: the quota counters a batch may give back to are keys too (Redis Cluster needs every
    // key a script touches declared).
    redis.defineCommand('purgeTransition', { lua: script('transition.lua') });
    redis.defineCommand('purgeCreate', { numberOfKeys: 3, lua: script('create.lua') });
    redis.defineCommand('purgeDiscard', { numberOfKeys: 3, lua: script('discard.lua') });
  }

  const idemKey = (claim: IdempotencyClaim) => idempotencyKey(prefix, claim.scope, claim.key);

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
      const stored: StoredBatch[] = plan.batches.map((batch) => ({
        ...batch,
        deadlineAt: options.deadlines?.get(batch.cdnId) ?? now + ttlSeconds * 1000,
      }));
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
      const { idempotency } = options;
      const window = String(options.idempotencyWindowSeconds ?? ttlSeconds);
      const [id, outcome] = await client.purgeCreate(
        key,
        idempotency ? idemKey(idempotency) : key,
        planKey(prefix, plan.purgeId),
        plan.purgeId,
        String(ttlSeconds),
        window,
        idempotency ? '1' : '0',
        idempotency?.fingerprint ?? '',
        JSON.stringify({ batches: stored }),
        ...fields,
      );
      return { id, outcome };
    },

    async update(purgeId, batchId, patch, now, increments = {}, charges = []) {
      const [result, remaining, callbackDue] = await client.purgeTransition(
        1 + charges.length,
        purgeKey(prefix, purgeId),
        ...charges.map((charge) => charge.key),
        PURGE_FIELDS.batch(batchId),
        JSON.stringify(patch),
        JSON.stringify(increments),
        String(now),
        ...charges.map((charge) => String(charge.amount)),
      );
      const outcome = result === 1 ? 'applied' : result === 0 ? 'already_final' : 'missing';
      return { outcome, remaining, callbackDue: callbackDue === 1 };
    },

    async findByIdempotencyKey(claim) {
      const value = await redis.get(idemKey(claim));
      if (value === null) return undefined;
      const space = value.indexOf(' ');
      // A value without a fingerprint predates fingerprints: taken as the same request (as create.lua does).
      if (space < 0) return { id: value, sameRequest: true };
      return { id: value.slice(0, space), sameRequest: value.slice(space + 1) === claim.fingerprint };
    },

    async getPlan(purgeId) {
      const [metaText, planText] = await Promise.all([
        redis.hget(purgeKey(prefix, purgeId), PURGE_FIELDS.meta),
        redis.get(planKey(prefix, purgeId)),
      ]);
      if (!metaText || !planText) return undefined;
      const { createdAt } = JSON.parse(metaText) as { createdAt: number };
      const { batches } = JSON.parse(planText) as { batches: StoredBatch[] };
      return { createdAt, batches };
    },

    async discard(purgeId, idempotency) {
      const key = purgeKey(prefix, purgeId);
      await client.purgeDiscard(
        key,
        idempotency ? idemKey(idempotency) : key,
        planKey(prefix, purgeId),
        purgeId,
      );
    },

    async get(purgeId) {
      const hash = await redis.hgetall(purgeKey(prefix, purgeId));
      const metaText = hash[PURGE_FIELDS.meta];
      if (metaText === undefined) return undefined;
      const meta = JSON.parse(metaText) as Pick<PurgeStatus, 'id' | 'createdAt' | 'request' | 'cdns'>;
      const batches = Object.entries(hash)
        .filter(([field]) => field.startsWith(BATCH_FIELD_PREFIX))
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
