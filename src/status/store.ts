import { readFileSync } from 'node:fs';
import type { ErrorCode } from '../errors.ts';
import type { ListQuery } from '../model/list-query.ts';
import { PRIORITIES, type Priority, type PurgeTarget } from '../model/purge.ts';
import {
  aggregateState,
  type BatchStatus,
  type PollEntry,
  type PurgeBatchStatus,
  type PurgeStatus,
  type TargetCounts,
  verificationOf,
} from '../model/status.ts';
import type { RedisClient } from '../queue/connection.ts';
import {
  batchKey,
  callbacksDueKey,
  flushMarkerKey,
  idempotencyKey,
  openBatchesKey,
  PURGE_FIELDS,
  pendingKey,
  planKey,
  purgeIndexKey,
  purgeKey,
  sourceDeliveryKey,
  waitingKey,
} from './keys.ts';
import { createPurgeLister, type ListPage } from './list.ts';
import { pendingMembers, readBatchTarget, targetOfMembers } from './pending-targets.ts';

/** Fields a step may change; `null` clears a field (an error that no longer applies). */
export type BatchPatch = {
  [K in keyof Omit<
    BatchStatus,
    'batchId' | 'cdnId' | 'items' | 'queuedAt' | 'updatedAt' | 'acceptedAt' | 'purges'
  >]?: BatchStatus[K] | null;
};

/** A quota counter a batch was charged to, and by how much (given back if the CDN never accepted it). */
export interface QuotaCharge {
  key: string;
  amount: number;
}

/** Which batch: its CDN (whose open-batch index it is in) and its id. */
export interface BatchRef {
  cdnId: string;
  batchId: string;
}

export interface TransitionResult {
  outcome: 'applied' | 'already_final' | 'missing';
  /** Purges carried by the batch that have finished and have a callback URL to notify. */
  callbacksDue: string[];
  /** Purges this transition finished (never again on a re-run): how each ended, and why. */
  finished: FinishedPurge[];
}

/** A purge as its last batch's end left it; `errorCode` of its first failed (else timed-out) batch. */
export interface FinishedPurge {
  purgeId: string;
  state: 'succeeded' | 'failed' | 'timed_out';
  errorCode?: ErrorCode;
}

function readFinished(flat: readonly string[]): FinishedPurge[] {
  const finished: FinishedPurge[] = [];
  for (let i = 0; i + 2 < flat.length; i += 3) {
    const [purgeId, state, code] = [flat[i] as string, flat[i + 1] as string, flat[i + 2]];
    finished.push({
      purgeId,
      state: state as FinishedPurge['state'],
      ...(code ? { errorCode: code as ErrorCode } : {}),
    });
  }
  return finished;
}

/** A caller's idempotency key, in the scope of whoever sent it, with the fingerprint of its request. */
export interface IdempotencyClaim {
  scope: string;
  key: string;
  fingerprint: string;
}

/** A daily quota counter and its limit: what the charge for one kind of target on one CDN goes to. */
export interface QuotaCounter {
  key: string;
  limit: number;
  /** For the refusal's message. */
  cdnId: string;
  kind: 'urls' | 'dirs';
}

/** What a purge asks of one CDN, with the quota counters its URLs and dirs are charged to. */
export interface CdnWork {
  cdnId: string;
  target: PurgeTarget;
  quota?: Partial<Record<'urls' | 'dirs', QuotaCounter>>;
  /** What `all` costs this CDN's quota, per kind (QUANTIL: a dir-url per domain); none elsewhere. */
  allCost?: Partial<Record<'urls' | 'dirs', number>>;
  /** Bulk purges are refused while this many bulk targets wait for the CDN (`cdns[].maxBulkBacklog`). */
  maxBulkBacklog?: number;
}

export interface AcceptRequest {
  purgeId: string;
  createdAt: number;
  request: PurgeStatus['request'];
  work: readonly CdnWork[];
  /** The purge's lane (normal if unset): where its new targets wait, and which of its targets move up. */
  priority?: Priority;
  callbackUrl?: string;
  idempotency?: IdempotencyClaim;
  idempotencyWindowSeconds?: number;
  /** The purge this one sends again (a replay), named in its record and status. */
  replayOf?: string;
  /** The batch whose stale edges this purge sends again (a verification's re-purge). */
  repurgeOf?: string;
}

export type AcceptResult =
  | { outcome: 'created'; id: string }
  | { outcome: 'repeat' | 'conflict'; id: string }
  | { outcome: 'quota'; counter: QuotaCounter; used: number }
  | { outcome: 'shed'; cdnId: string; backlog: number };

export interface TakeRequest {
  cdnId: string;
  /** The flush job's id: a re-run of the same job gets the same batch back. */
  flushId: string;
  batchId: string;
  maxItems: number;
  /** Most characters of targets one call carries (VIMS: its pattern length); 0 for no such limit. */
  maxChars: number;
  /** What of a URL those characters count: its path and query, or all of it. */
  charsOf: 'path' | 'url';
  /**
   * How long a target may wait from its acceptance for a call the CDN accepts (`policy.queueDeadlineMs`),
   * one for every lane or per lane: the batch's deadline is the earliest of its targets'.
   */
  deadlineMs: number | Readonly<Record<Priority, number>>;
  now: number;
  /**
   * The caller submits the batch next: the take claims it for that submit in the same call (see `claimed`),
   * which saves the submit a transition of its own.
   */
  claim?: boolean;
  /**
   * The flush job's BullMQ deduplication key and its id: dropped in the same call, as the job's own
   * removeDeduplicationKey would, so that targets accepted after the take get a flush of their own.
   */
  deduplication?: { key: string; jobId: string };
  /** Take only a full call (nothing, when what is pending would not fill one): an extra flush slot's take. */
  fullOnly?: boolean;
  /** Most dirs, and most tags, one call carries (CloudFront's wildcards, Fastly's surrogate keys). */
  maxDirs?: number;
  maxTags?: number;
}

/** When the oldest target still pending in each lane was accepted (0 when none is). */
export interface NextPending {
  /** The normal lane's. */
  nextAcceptedAt: number;
  nextUrgentAt: number;
  nextBulkAt: number;
}

export type TakeResult =
  | ({ batchId: undefined; stillPending: number } & NextPending)
  | ({
      batchId: string;
      stillPending: number;
      deadlineAt: number;
      acceptedAt: number;
      items: number;
      /** What the batch sends, and the purges waiting on it. */
      batch: { target: PurgeTarget; purgeIds: string[] };
      /** The most urgent lane among its targets. */
      lane: Priority;
      /**
       * Claimed for its submit (`submitting`, one more attempt), as `update` would have: only when asked, and
       * never a batch that has ended (a re-run's) or one past its queue deadline.
       */
      claimed: boolean;
    } & NextPending);

export interface StatusStore {
  /**
   * Accepts a purge in one atomic step: idempotency key, quota, record, plan and pending targets. A used key
   * writes nothing and names the earlier purge (`repeat` of the same request, or `conflict`); so does a
   * charge that would overflow a daily quota (`quota`).
   */
  accept(request: AcceptRequest): Promise<AcceptResult>;
  /** Moves the oldest pending targets of a CDN into a new batch; undefined when none were pending. */
  take(request: TakeRequest): Promise<TakeResult>;
  /**
   * What a batch sends to its CDN, the purges waiting on it, and when its oldest target was accepted (what
   * its quota charge is dated by); `repurgeOnly`: its targets only verification re-purges asked for (the
   * batches that sent those re-purges check them, not this one).
   */
  batchTarget(
    batchId: string,
  ): Promise<
    { target: PurgeTarget; purgeIds: string[]; acceptedAt?: number; repurgeOnly?: PurgeTarget } | undefined
  >;
  /**
   * Applies a patch (and counter increments) unless the batch has already reached a terminal state. When
   * the patch ends the batch, every purge it carries is counted down; and a batch the CDN never accepted
   * (no remote id) gives its `charges` back.
   */
  update(
    batch: BatchRef,
    patch: BatchPatch,
    now: number,
    increments?: Partial<Record<'attempts' | 'polls', number>>,
    charges?: readonly QuotaCharge[],
    /** The batch job's hash and its next data or progress, stored in the same call (see transition.lua). */
    jobData?: { key: string; data?: unknown; progress?: number },
  ): Promise<TransitionResult>;
  get(purgeId: string): Promise<PurgeStatus | undefined>;
  /** Each batch's last polls, oldest first (none for a batch not polled yet, or gone). */
  pollLogs(batchIds: readonly string[]): Promise<Map<string, PollEntry[]>>;
  /** Purges newest first, filtered, one bounded page at a time (see list.ts). */
  list(query: ListQuery): Promise<ListPage>;
  /** Confirms a due callback is scheduled (its job added), so the reconciler need not. */
  callbackScheduled(purgeId: string): Promise<void>;
  /** Purges whose callback came due before `before` (ms) and whose scheduling nobody confirmed. */
  unscheduledCallbacks(before: number, limit: number): Promise<string[]>;
  /** How many targets wait for a CDN call (in one lane, or in all). */
  pendingCount(cdnId: string, lane?: Priority): Promise<number>;
  /** A CDN's batches not yet ended, oldest first, at most `limit`. */
  openBatches(cdnId: string, limit: number): Promise<BatchStatus[]>;
  /** The purge an idempotency key maps to, within its window, and whether it was for the same request. */
  findByIdempotencyKey(claim: IdempotencyClaim): Promise<{ id: string; sameRequest: boolean } | undefined>;
  /** What the purge asked of each CDN when it was accepted. */
  getPlan(purgeId: string): Promise<StoredPlan | undefined>;
  /** The purge a source's signed delivery (by its signature) became, within its replay window. */
  deliveryPurge(source: string, signature: string): Promise<string | undefined>;
  /** Remembers that purge for `ttlSeconds` (the signature's replay window). */
  rememberDelivery(source: string, signature: string, purgeId: string, ttlSeconds: number): Promise<void>;
}

export interface StoredPlan {
  createdAt: number;
  targets: Record<string, PurgeTarget>;
}

export interface StatusStoreOptions {
  redis: RedisClient;
  prefix: string;
  ttlSeconds: number;
}

type ScriptedRedis = RedisClient & {
  purgeIngest(numberOfKeys: number, ...keysAndArgs: string[]): Promise<Array<string | number>>;
  purgeTake(
    ...keysAndArgs: string[]
  ): Promise<
    [string, number, number, number, number, number, string, string, number, number, string, number]
  >;
  purgeTransition(numberOfKeys: number, ...keysAndArgs: string[]): Promise<Array<number | string>>;
};

function readBatch(target: string, carries: string | null | undefined) {
  return { target: readBatchTarget(target), purgeIds: Object.keys(JSON.parse(carries || '{}')) };
}

/**
 * A plan as stored: each distinct target once, and which one each CDN got. A routed purge usually sends every
 * CDN the same list, so a 10,000-URL purge to three CDNs keeps its URLs once, not three times.
 */
interface CompactPlan {
  targets: PurgeTarget[];
  cdns: Record<string, number>;
}

function compactPlan(work: readonly CdnWork[]): CompactPlan {
  const targets: PurgeTarget[] = [];
  const seen = new Map<string, number>();
  const cdns: Record<string, number> = {};
  for (const { cdnId, target } of work) {
    const text = JSON.stringify(target);
    let index = seen.get(text);
    if (index === undefined) {
      index = targets.push(target) - 1;
      seen.set(text, index);
    }
    cdns[cdnId] = index;
  }
  return { targets, cdns };
}

function expandPlan(plan: CompactPlan): Record<string, PurgeTarget> {
  return Object.fromEntries(
    Object.entries(plan.cdns).map(([cdnId, index]) => [cdnId, plan.targets[index] as PurgeTarget]),
  );
}

const LABEL_LENGTH = 200;

/** What a list shows of a purge: its first target, shortened (the plan holds them all). */
function labelOf(work: readonly CdnWork[]): string | undefined {
  const target = work[0]?.target;
  if (!target) return undefined;
  const first =
    target.urls[0] ??
    target.dirs[0] ??
    (target.tags?.[0] === undefined ? undefined : `tag ${target.tags[0]}`) ??
    (target.pattern === undefined ? undefined : `pattern ${target.pattern}`) ??
    (target.all ? 'all' : undefined);
  return first && first.length > LABEL_LENGTH ? `${first.slice(0, LABEL_LENGTH - 1)}…` : first;
}

const script = (name: string) => readFileSync(new URL(`./${name}`, import.meta.url), 'utf8');

/**
 * Purges and batches in Redis. A purge's record counts its targets per CDN; a batch (one CDN call) lists the
 * purges it carries; only the Lua scripts change either after acceptance, so concurrent workers and re-runs
 * after a crash can never move a finished batch back, or count a purge down twice.
 */
export function createStatusStore({ redis, prefix, ttlSeconds }: StatusStoreOptions): StatusStore {
  const client = redis as ScriptedRedis;
  if (typeof client.purgeTransition !== 'function') {
    // No fixed key count where the keys depend on the call (the CDNs a purge goes to, the quota counters).
    redis.defineCommand('purgeIngest', { lua: script('ingest.lua') });
    redis.defineCommand('purgeTake', { numberOfKeys: 8, lua: script('take.lua') });
    redis.defineCommand('purgeTransition', { lua: script('transition.lua') });
  }
  const idemKey = (claim: IdempotencyClaim) => idempotencyKey(prefix, claim.scope, claim.key);

  async function accept(request: AcceptRequest): Promise<AcceptResult> {
    const key = purgeKey(prefix, request.purgeId);
    const keys = [
      key,
      request.idempotency ? idemKey(request.idempotency) : key,
      planKey(prefix, request.purgeId),
    ];
    const keyIndex = (name: string) => {
      const found = keys.indexOf(name);
      if (found >= 0) return found + 1;
      keys.push(name);
      return keys.length;
    };
    const counters: QuotaCounter[] = [];
    const quotaIndex = (counter: QuotaCounter | undefined) => {
      if (!counter) return undefined;
      const found = counters.findIndex((c) => c.key === counter.key);
      if (found >= 0) return found + 1;
      counters.push(counter);
      return counters.length;
    };
    const cdns = request.work.map((work) => ({
      id: work.cdnId,
      lanes: Object.fromEntries(
        PRIORITIES.map((lane) => [lane, keyIndex(pendingKey(prefix, work.cdnId, lane))]),
      ),
      waiting: keyIndex(waitingKey(prefix, work.cdnId)),
      maxBulk: work.maxBulkBacklog ?? 0,
      urls: quotaIndex(work.quota?.urls),
      dirs: quotaIndex(work.quota?.dirs),
      allUrls: work.allCost?.urls ?? 0,
      allDirs: work.allCost?.dirs ?? 0,
      targets: pendingMembers(work.target),
    }));
    const quotas = counters.map((counter) => ({ key: keyIndex(counter.key), limit: counter.limit }));
    const index = keyIndex(purgeIndexKey(prefix));
    const label = labelOf(request.work);
    const meta = {
      id: request.purgeId,
      createdAt: request.createdAt,
      request: request.request,
      cdns: request.work.map((work) => work.cdnId),
      priority: request.priority ?? 'normal',
      ...(label === undefined ? {} : { label }),
      ...(request.replayOf === undefined ? {} : { replayOf: request.replayOf }),
      ...(request.repurgeOf === undefined ? {} : { repurgeOf: request.repurgeOf }),
    };
    const fields = [PURGE_FIELDS.meta, JSON.stringify(meta)];
    if (request.callbackUrl) fields.push(PURGE_FIELDS.callbackUrl, request.callbackUrl);
    const plan = compactPlan(request.work);
    const { idempotency } = request;
    const reply = await client.purgeIngest(
      keys.length,
      ...keys,
      request.purgeId,
      String(ttlSeconds),
      String(request.idempotencyWindowSeconds ?? ttlSeconds),
      idempotency ? '1' : '0',
      idempotency?.fingerprint ?? '',
      JSON.stringify(plan),
      String(request.createdAt),
      JSON.stringify({ lane: request.priority ?? 'normal', cdns, quotas, index }),
      ...fields,
    );
    const [id, outcome, ...detail] = reply;
    if (outcome === 'quota') {
      const counter = counters[Number(detail[0]) - 1] as QuotaCounter;
      return { outcome, counter, used: Number(detail[1]) };
    }
    if (outcome === 'shed') {
      const cdnId = cdns[Number(detail[0]) - 1]?.id ?? '';
      return { outcome, cdnId, backlog: Number(detail[1]) };
    }
    if (outcome === 'repeat' || outcome === 'conflict') return { outcome, id: String(id) };
    return { outcome: 'created', id: String(id) };
  }

  async function batchStatuses(shares: ReadonlyMap<string, number>): Promise<PurgeBatchStatus[]> {
    const ids = [...shares.keys()];
    if (ids.length === 0) return [];
    const pipeline = redis.pipeline();
    for (const id of ids) pipeline.hget(batchKey(prefix, id), 'status');
    const replies = (await pipeline.exec()) ?? [];
    const batches: PurgeBatchStatus[] = [];
    replies.forEach(([, value], index) => {
      if (typeof value !== 'string') return; // expired before its purge: nothing left to show
      const id = ids[index] as string;
      batches.push({ ...(JSON.parse(value) as BatchStatus), share: shares.get(id) ?? 0 });
    });
    // By CDN, then oldest first: the order a person reads a purge's progress in.
    return batches.sort(
      (a, b) =>
        a.cdnId.localeCompare(b.cdnId) || a.queuedAt - b.queuedAt || a.batchId.localeCompare(b.batchId),
    );
  }

  const store: StatusStore = {
    accept,
    list: (query) => list(query),

    async take(request) {
      const { cdnId, deduplication } = request;
      const marker = flushMarkerKey(prefix, cdnId, request.flushId);
      const reply = await client.purgeTake(
        ...PRIORITIES.map((lane) => pendingKey(prefix, cdnId, lane)),
        waitingKey(prefix, cdnId),
        marker,
        batchKey(prefix, request.batchId),
        openBatchesKey(prefix, cdnId),
        deduplication?.key ?? marker,
        request.batchId,
        cdnId,
        String(request.now),
        String(request.maxItems),
        String(request.maxChars),
        prefix,
        PRIORITIES.map((lane) =>
          String(typeof request.deadlineMs === 'number' ? request.deadlineMs : request.deadlineMs[lane]),
        ).join(','),
        String(ttlSeconds),
        request.charsOf,
        request.claim ? '1' : '0',
        deduplication?.jobId ?? '',
        request.fullOnly ? '1' : '0',
        `${request.maxDirs ?? 0},${request.maxTags ?? 0}`,
      );
      const [batchId, stillPending, deadlineAt, acceptedAt, items, nextAcceptedAt, target, carries] = reply;
      const [nextUrgentAt, nextBulkAt, lane, claimed] = reply.slice(8);
      const left = {
        stillPending: Number(stillPending),
        nextAcceptedAt: Number(nextAcceptedAt),
        nextUrgentAt: Number(nextUrgentAt ?? 0),
        nextBulkAt: Number(nextBulkAt ?? 0),
      };
      if (batchId === '') return { batchId: undefined, ...left };
      return {
        batchId,
        ...left,
        deadlineAt: Number(deadlineAt),
        acceptedAt: Number(acceptedAt),
        items: Number(items),
        batch: readBatch(target, carries),
        lane: PRIORITIES.includes(lane as Priority) ? (lane as Priority) : 'normal',
        claimed: Number(claimed) === 1,
      };
    },

    async batchTarget(batchId) {
      const [json, carries, onlyRepurges, statusText] = await redis.hmget(
        batchKey(prefix, batchId),
        'target',
        'carries',
        'repurgeOnly',
        'status',
      );
      if (!json) return undefined;
      const { acceptedAt } = JSON.parse(statusText ?? '{}') as { acceptedAt?: number };
      const batch = { ...readBatch(json, carries), ...(acceptedAt === undefined ? {} : { acceptedAt }) };
      const members = onlyRepurges ? (JSON.parse(onlyRepurges) as unknown) : undefined;
      // Lua's JSON writes an empty list as {}: none.
      return Array.isArray(members) && members.length > 0
        ? { ...batch, repurgeOnly: targetOfMembers(members.map(String)) }
        : batch;
    },

    async update(batch, patch, now, increments = {}, charges = [], jobData = undefined) {
      const record = batchKey(prefix, batch.batchId);
      const [result, ...due] = await client.purgeTransition(
        4 + charges.length,
        record,
        openBatchesKey(prefix, batch.cdnId),
        callbacksDueKey(prefix),
        jobData?.key ?? record,
        ...charges.map((charge) => charge.key),
        JSON.stringify(patch),
        JSON.stringify(increments),
        String(now),
        prefix,
        jobData?.data === undefined ? '' : JSON.stringify(jobData.data),
        jobData?.progress === undefined ? '' : JSON.stringify(jobData.progress),
        ...charges.map((charge) => String(charge.amount)),
      );
      const outcome = result === 1 ? 'applied' : result === 0 ? 'already_final' : 'missing';
      const [count, ...rest] = due;
      const dueCount = Number(count ?? 0);
      return {
        outcome,
        callbacksDue: rest.slice(0, dueCount).map(String),
        finished: readFinished(rest.slice(dueCount).map(String)),
      };
    },

    async pollLogs(batchIds) {
      if (batchIds.length === 0) return new Map();
      const pipeline = redis.pipeline();
      for (const id of batchIds) pipeline.hget(batchKey(prefix, id), 'pollLog');
      const replies = (await pipeline.exec()) ?? [];
      return new Map(
        batchIds.map((id, index) => {
          const text = replies[index]?.[1];
          // Lua's JSON writes an empty list as {}: no polls.
          const log = typeof text === 'string' ? (JSON.parse(text) as unknown) : [];
          return [id, Array.isArray(log) ? (log as PollEntry[]) : []];
        }),
      );
    },

    async callbackScheduled(purgeId) {
      await redis.zrem(callbacksDueKey(prefix), purgeId);
    },

    async unscheduledCallbacks(before, limit) {
      return redis.zrangebyscore(callbacksDueKey(prefix), '-inf', `(${before}`, 'LIMIT', 0, limit);
    },

    async pendingCount(cdnId, only) {
      const lanes = only ? [only] : PRIORITIES;
      const counts = await Promise.all(lanes.map((lane) => redis.zcard(pendingKey(prefix, cdnId, lane))));
      return counts.reduce((sum, count) => sum + count, 0);
    },

    async openBatches(cdnId, limit) {
      const key = openBatchesKey(prefix, cdnId);
      const ids = await redis.zrange(key, 0, limit - 1);
      const batches = await batchStatuses(new Map(ids.map((id) => [id, 0])));
      // A batch whose record expired (a status TTL shorter than its life) can never end: drop it from the
      // list, or enough of them would hide the live ones from every sweep.
      const gone = ids.filter((id) => !batches.some((batch) => batch.batchId === id));
      if (gone.length > 0) await redis.zrem(key, ...gone);
      return batches.map(({ share: _unused, ...batch }) => batch);
    },

    async findByIdempotencyKey(claim) {
      const value = await redis.get(idemKey(claim));
      if (value === null) return undefined;
      // `<purge id> <fingerprint>`, as ingest.lua writes it.
      const space = value.indexOf(' ');
      return { id: value.slice(0, space), sameRequest: value.slice(space + 1) === claim.fingerprint };
    },

    async deliveryPurge(source, signature) {
      return (await redis.get(sourceDeliveryKey(prefix, source, signature))) ?? undefined;
    },

    async rememberDelivery(source, signature, purgeId, ttlSeconds) {
      await redis.set(sourceDeliveryKey(prefix, source, signature), purgeId, 'EX', ttlSeconds);
    },

    async getPlan(purgeId) {
      const [metaText, planText] = await Promise.all([
        redis.hget(purgeKey(prefix, purgeId), PURGE_FIELDS.meta),
        redis.get(planKey(prefix, purgeId)),
      ]);
      if (!metaText || !planText) return undefined;
      const { createdAt } = JSON.parse(metaText) as { createdAt: number };
      return { createdAt, targets: expandPlan(JSON.parse(planText) as CompactPlan) };
    },

    async get(purgeId) {
      const hash = await redis.hgetall(purgeKey(prefix, purgeId));
      const metaText = hash[PURGE_FIELDS.meta];
      if (metaText === undefined) return undefined;
      const meta = JSON.parse(metaText) as Pick<
        PurgeStatus,
        'id' | 'createdAt' | 'request' | 'cdns' | 'label' | 'replayOf' | 'repurgeOf'
      >;
      const count = (field: string) => Number(hash[field] ?? 0);
      const targets: Record<string, TargetCounts> = {};
      for (const cdnId of meta.cdns) {
        const total = count(PURGE_FIELDS.total(cdnId));
        const succeeded = count(PURGE_FIELDS.succeeded(cdnId));
        const failed = count(PURGE_FIELDS.failed(cdnId));
        const timedOut = count(PURGE_FIELDS.timedOut(cdnId));
        targets[cdnId] = {
          total,
          succeeded,
          failed,
          timedOut,
          pending: total - succeeded - failed - timedOut,
        };
      }
      const prefixOfBatch = PURGE_FIELDS.batch('');
      const shares = new Map(
        Object.entries(hash)
          .filter(([field]) => field.startsWith(prefixOfBatch))
          .map(([field, value]) => [field.slice(prefixOfBatch.length), Number(value)]),
      );
      const batches = await batchStatuses(shares);
      const finishedAt = hash[PURGE_FIELDS.finishedAt];
      const callbackUrl = hash[PURGE_FIELDS.callbackUrl];
      return {
        ...meta,
        ...(callbackUrl === undefined ? {} : { callbackUrl }),
        state: aggregateState(targets, batches),
        ...(finishedAt === undefined ? {} : { finishedAt: Number(finishedAt) }),
        targets,
        batches,
        ...verificationOf(batches),
      };
    },
  };
  const list = createPurgeLister({ redis, prefix, get: (purgeId) => store.get(purgeId) });
  return store;
}
