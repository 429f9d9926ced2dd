import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { formatIssues } from '../config/load.ts';
import { mergePolicy } from '../config/policy.ts';
import type { Config } from '../config/schema.ts';
import { PurgeError } from '../errors.ts';
import {
  createPurgeRequestSchema,
  type PurgeRequest,
  type PurgeRequestInput,
  requestFingerprint,
} from '../model/purge.ts';
import type { PipelineEvents } from '../observability/events.ts';
import type { BatchJobData } from '../pipeline/job.ts';
import { type PurgePlan, planPurge } from '../pipeline/plan.ts';
import type { Provider } from '../providers/provider.ts';
import type { QuotaLedger, QuotaReservation } from '../status/quota.ts';
import type { IdempotencyClaim, StatusStore, StoredBatch, StoredPlan } from '../status/store.ts';
import type { RedisClient } from './connection.ts';
import { BACKOFF_TYPE, batchJobId, queueName } from './names.ts';

export interface IdempotencyKey {
  /** Whose key it is (`api:<token name>`, `webhook`, `cli`, ...): keys of different scopes never meet. */
  scope: string;
  key: string;
}

export interface EnqueueOptions {
  /** A repeat of the same key and request within the window returns the first purge and adds nothing. */
  idempotency?: IdempotencyKey;
  callbackUrl?: string;
}

export interface EnqueueResult {
  id: string;
  cdns: string[];
  batches: number;
  duplicate: boolean;
}

export interface PurgeProducer {
  /** Validates and canonicalises the request (REQUEST_INVALID naming each bad field), then enqueues it. */
  enqueuePurge(request: PurgeRequestInput, options?: EnqueueOptions): Promise<EnqueueResult>;
  /** Checks a request as enqueuePurge would, writing nothing. */
  plan(request: PurgeRequestInput): PurgePlan;
  readonly queues: ReadonlyMap<string, Queue<BatchJobData>>;
  close(): Promise<void>;
}

export interface ProducerDeps {
  config: Config;
  providers: ReadonlyMap<string, Provider>;
  store: StatusStore;
  connection: RedisClient;
  /** Reserves daily quota for a plan, throwing QUOTA_EXCEEDED when it does not fit. */
  quota?: QuotaLedger;
  idempotencyWindowSeconds?: number;
  events?: PipelineEvents;
  now?: () => number;
  newId?: () => string;
}

/**
 * The producer side, shared by the HTTP API, the CLI and library callers: the one place a request is
 * validated, canonicalised and planned; a refusal writes nothing.
 *
 * Crash safety: the record, its plan and its idempotency key are written first (one Lua call), then the
 * jobs. A crash in between leaves `queued` batches with no job; the caller got no answer and retries with
 * the same key, which maps to the same purge, and the jobs of batches still `queued` are added again from
 * the stored plan: job ids are deterministic, so a job that does exist is not added twice.
 */
export function createPurgeProducer(deps: ProducerDeps): PurgeProducer {
  const { config, providers, store, connection } = deps;
  const now = deps.now ?? Date.now;
  const newId = deps.newId ?? randomUUID;
  const requestSchema = createPurgeRequestSchema({ maxUrlLength: config.api.maxUrlLength });
  const queues = new Map(
    config.cdns.map((cdn) => [
      cdn.id,
      new Queue<BatchJobData>(queueName(cdn.id), { connection, prefix: config.redis.prefix }),
    ]),
  );
  const policies = new Map(config.cdns.map((cdn) => [cdn.id, mergePolicy(config.policy, cdn.policy)]));

  function parse(input: PurgeRequestInput): PurgeRequest {
    const parsed = requestSchema.safeParse(input);
    if (!parsed.success)
      throw new PurgeError('REQUEST_INVALID', `invalid purge:\n${formatIssues(parsed.error.issues)}`);
    return parsed.data;
  }
  const planFor = (id: string, request: PurgeRequest) =>
    planPurge(id, request, { routes: config.routes, providers });

  function deadlinesFor(plan: PurgePlan, createdAt: number): Map<string, number> {
    return new Map(
      plan.cdns.map((cdnId) => [cdnId, createdAt + (policies.get(cdnId)?.poll.deadlineMs ?? 0)]),
    );
  }

  /** Adds one job per batch; ids are deterministic, so adding a batch whose job exists adds nothing. */
  async function addJobs(purgeId: string, plan: StoredPlan, batches: readonly StoredBatch[]): Promise<void> {
    for (const cdnId of new Set(batches.map((batch) => batch.cdnId))) {
      const queue = queues.get(cdnId);
      const policy = policies.get(cdnId);
      if (!queue || !policy) throw new Error(`no queue for CDN ${cdnId}`);
      const jobs = batches
        .filter((batch) => batch.cdnId === cdnId)
        .map((batch) => {
          const data: BatchJobData = {
            purgeId,
            cdnId,
            batchId: batch.batchId,
            target: batch.target,
            createdAt: plan.createdAt,
            deadlineAt: batch.deadlineAt,
            step: 'submit',
            polls: 0,
          };
          const jobId = batchJobId(purgeId, batch.batchId);
          return {
            name: 'purge',
            data,
            opts: { jobId, attempts: policy.submit.attempts, backoff: { type: BACKOFF_TYPE } },
          };
        });
      await queue.addBulk(jobs);
    }
  }

  /**
   * Answers a repeat with its first purge, adding the jobs of batches still queued (a crash may have lost
   * them) from what was stored for the first request: never from the repeat's body or today's config.
   */
  async function repeatOf(id: string): Promise<EnqueueResult> {
    const [earlier, stored] = await Promise.all([store.get(id), store.getPlan(id)]);
    const stillQueued = new Set(
      (earlier?.batches ?? []).filter((batch) => batch.state === 'queued').map((batch) => batch.batchId),
    );
    if (stored && stillQueued.size > 0) {
      await addJobs(
        id,
        stored,
        stored.batches.filter((batch) => stillQueued.has(batch.batchId)),
      );
    }
    return { id, cdns: earlier?.cdns ?? [], batches: earlier?.batches.length ?? 0, duplicate: true };
  }

  function reused(key: IdempotencyKey): PurgeError {
    return new PurgeError(
      'IDEMPOTENCY_KEY_REUSED',
      `idempotency key "${key.key}" was already used for a different request; use a new key for a new request`,
    );
  }

  /**
   * The jobs could not all be added, and the caller is told nothing was enqueued: make that true, unless a
   * worker has already taken one of the jobs (removing an active job is refused: the purge is under way and
   * stays). Each part is tried on its own: a Redis that failed the jobs may fail some of these too.
   * Crash window: killed here, the record stays `queued` with the jobs that made it (the caller retries
   * with its key, or the reconciler repairs it); a job whose record is gone sends nothing.
   */
  async function undo(plan: PurgePlan, claim: IdempotencyClaim | undefined, reservation?: QuotaReservation) {
    const removals = await Promise.allSettled(
      plan.batches.map((batch) => queues.get(batch.cdnId)?.remove(batchJobId(plan.purgeId, batch.batchId))),
    );
    if (removals.some((removal) => removal.status === 'fulfilled' && removal.value === 0)) return;
    await Promise.allSettled([store.discard(plan.purgeId, claim), reservation?.release()]);
  }

  return {
    queues,
    plan: (request) => planFor('check', parse(request)),

    async enqueuePurge(input, options = {}) {
      const request = parse(input);
      const plan = planFor(newId(), request);
      const createdAt = now();
      const claim: IdempotencyClaim | undefined = options.idempotency && {
        ...options.idempotency,
        fingerprint: requestFingerprint(request, options.callbackUrl),
      };
      // A known key is answered before any quota is reserved: a repeat must not be refused for quota its
      // first delivery already holds, and a conflicting request must write nothing at all.
      const known = claim ? await store.findByIdempotencyKey(claim) : undefined;
      if (known && options.idempotency) {
        if (!known.sameRequest) throw reused(options.idempotency);
        return repeatOf(known.id);
      }
      // Quota next: a refusal must leave nothing behind. A repeat that raced us gives its reservation back.
      const reservation = await deps.quota?.reserve(plan, createdAt);
      const deadlines = deadlinesFor(plan, createdAt);
      let created: Awaited<ReturnType<StatusStore['create']>>;
      try {
        created = await store.create(plan, createdAt, {
          deadlines,
          ...(claim ? { idempotency: claim } : {}),
          ...(options.callbackUrl ? { callbackUrl: options.callbackUrl } : {}),
          ...(deps.idempotencyWindowSeconds
            ? { idempotencyWindowSeconds: deps.idempotencyWindowSeconds }
            : {}),
        });
      } catch (error) {
        await reservation?.release().catch(() => {});
        throw error;
      }
      if (created.outcome !== 'created') {
        await reservation?.release();
        if (created.outcome === 'conflict' && options.idempotency) throw reused(options.idempotency);
        return repeatOf(created.id);
      }
      const stored: StoredPlan = {
        createdAt,
        batches: plan.batches.map((batch) => ({
          ...batch,
          deadlineAt: deadlines.get(batch.cdnId) ?? createdAt,
        })),
      };
      try {
        await addJobs(plan.purgeId, stored, stored.batches);
      } catch (error) {
        await undo(plan, claim, reservation);
        throw error;
      }
      deps.events?.emit('purge:accepted', {
        purgeId: plan.purgeId,
        cdns: plan.cdns,
        batches: plan.batches.length,
      });
      return { id: plan.purgeId, cdns: plan.cdns, batches: plan.batches.length, duplicate: false };
    },

    async close() {
      await Promise.all([...queues.values()].map((queue) => queue.close()));
    },
  };
}
