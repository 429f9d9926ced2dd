import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { mergePolicy } from '../config/policy.ts';
import type { Config } from '../config/schema.ts';
import type { PurgeRequest } from '../model/purge.ts';
import type { PipelineEvents } from '../observability/events.ts';
import type { BatchJobData } from '../pipeline/job.ts';
import { type PurgePlan, planPurge } from '../pipeline/plan.ts';
import type { Provider } from '../providers/provider.ts';
import type { QuotaLedger } from '../status/quota.ts';
import type { StatusStore } from '../status/store.ts';
import type { RedisClient } from './connection.ts';
import { BACKOFF_TYPE, batchJobId, queueName } from './names.ts';

export interface EnqueueOptions {
  /** A repeat of the same key within the window returns the first purge's id and enqueues nothing new. */
  idempotencyKey?: string;
  callbackUrl?: string;
}

export interface EnqueueResult {
  id: string;
  cdns: string[];
  batches: number;
  duplicate: boolean;
}

export interface PurgeProducer {
  enqueuePurge(request: PurgeRequest, options?: EnqueueOptions): Promise<EnqueueResult>;
  /** Checks a request as enqueuePurge would, writing nothing. */
  plan(request: PurgeRequest): PurgePlan;
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
 * The producer side, shared by the HTTP API, the CLI and library callers. The request must already be
 * schema-valid (model/purge.ts); planning may still refuse it, and then nothing is written.
 *
 * Crash safety: the record (with its idempotency key, in one Lua call) is written first, then the jobs.
 * A crash in between leaves `queued` batches with no job; the caller got no answer and retries with the
 * same idempotency key, which maps to the same purge id, and the jobs of batches still `queued` are added
 * again: job ids are deterministic, so a job that does exist is not added twice.
 */
export function createPurgeProducer(deps: ProducerDeps): PurgeProducer {
  const { config, providers, store, connection } = deps;
  const now = deps.now ?? Date.now;
  const newId = deps.newId ?? randomUUID;
  const queues = new Map(
    config.cdns.map((cdn) => [
      cdn.id,
      new Queue<BatchJobData>(queueName(cdn.id), { connection, prefix: config.redis.prefix }),
    ]),
  );
  const policies = new Map(config.cdns.map((cdn) => [cdn.id, mergePolicy(config.policy, cdn.policy)]));
  const planFor = (id: string, request: PurgeRequest) =>
    planPurge(id, request, { routes: config.routes, providers });

  async function addJobs(plan: PurgePlan, createdAt: number, batchIds: ReadonlySet<string>): Promise<void> {
    for (const cdnId of plan.cdns) {
      const queue = queues.get(cdnId);
      const policy = policies.get(cdnId);
      if (!queue || !policy) throw new Error(`no queue for CDN ${cdnId}`);
      const jobs = plan.batches
        .filter((batch) => batch.cdnId === cdnId && batchIds.has(batch.batchId))
        .map((batch) => {
          const data: BatchJobData = {
            purgeId: plan.purgeId,
            cdnId,
            batchId: batch.batchId,
            target: batch.target,
            createdAt,
            deadlineAt: createdAt + policy.poll.deadlineMs,
            step: 'submit',
            polls: 0,
          };
          const jobId = batchJobId(plan.purgeId, batch.batchId);
          return {
            name: 'purge',
            data,
            opts: { jobId, attempts: policy.submit.attempts, backoff: { type: BACKOFF_TYPE } },
          };
        });
      if (jobs.length > 0) await queue.addBulk(jobs);
    }
  }

  /** Answers a repeat with its first purge, adding the jobs of batches still queued (a crash may have lost them). */
  async function repeatOf(id: string, request: PurgeRequest, plan: PurgePlan): Promise<EnqueueResult> {
    const earlier = await store.get(id);
    const stillQueued = new Set(
      (earlier?.batches ?? []).filter((batch) => batch.state === 'queued').map((batch) => batch.batchId),
    );
    if (earlier && stillQueued.size > 0) await addJobs(planFor(id, request), earlier.createdAt, stillQueued);
    return { id, cdns: earlier?.cdns ?? plan.cdns, batches: earlier?.batches.length ?? 0, duplicate: true };
  }

  return {
    queues,
    plan: (request) => planFor('check', request),

    async enqueuePurge(request, options = {}) {
      const plan = planFor(newId(), request);
      const createdAt = now();
      // A known repeat is answered before any quota is reserved: it must not be refused for quota its
      // first delivery already holds.
      const known = options.idempotencyKey
        ? await store.findByIdempotencyKey(options.idempotencyKey)
        : undefined;
      if (known) return repeatOf(known, request, plan);
      // Quota next: a refusal must leave nothing behind. A repeat that raced us gives its reservation back.
      const reservation = await deps.quota?.reserve(plan, createdAt);
      let created: { id: string; duplicate: boolean };
      try {
        created = await store.create(plan, createdAt, {
          ...options,
          ...(deps.idempotencyWindowSeconds
            ? { idempotencyWindowSeconds: deps.idempotencyWindowSeconds }
            : {}),
        });
      } catch (error) {
        await reservation?.release().catch(() => {});
        throw error;
      }
      const { id, duplicate } = created;
      if (duplicate) await reservation?.release();
      if (!duplicate) {
        await addJobs(plan, createdAt, new Set(plan.batches.map((batch) => batch.batchId)));
        deps.events?.emit('purge:accepted', { purgeId: id, cdns: plan.cdns, batches: plan.batches.length });
        return { id, cdns: plan.cdns, batches: plan.batches.length, duplicate };
      }
      return repeatOf(id, request, plan);
    },

    async close() {
      await Promise.all([...queues.values()].map((queue) => queue.close()));
    },
  };
}
