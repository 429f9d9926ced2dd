import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { mergePolicy } from '../config/policy.ts';
import type { Config } from '../config/schema.ts';
import type { PurgeRequest } from '../model/purge.ts';
import type { BatchJobData } from '../pipeline/job.ts';
import { planPurge } from '../pipeline/plan.ts';
import type { Provider } from '../providers/provider.ts';
import type { StatusStore } from '../status/store.ts';
import { BACKOFF_TYPE, batchJobId, queueName } from './names.ts';

export interface EnqueueResult {
  id: string;
  cdns: string[];
  batches: number;
}

export interface PurgeProducer {
  enqueuePurge(request: PurgeRequest): Promise<EnqueueResult>;
  close(): Promise<void>;
}

export interface ProducerDeps {
  config: Config;
  providers: ReadonlyMap<string, Provider>;
  store: StatusStore;
  connection: Redis;
  now?: () => number;
  newId?: () => string;
}

/**
 * The producer side, shared by the HTTP API, the CLI and library callers. The request must already be
 * schema-valid (model/purge.ts); planning may still refuse it, and then nothing is written.
 *
 * Order matters for crash safety: the purge record is written first, then the jobs. A crash in between
 * leaves a record whose batches stay `queued`, but the caller never received the id, so nothing accepted
 * is lost; a caller that retries (with an idempotency key, once the API has them) gets a complete purge.
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

  return {
    async enqueuePurge(request) {
      const plan = planPurge(newId(), request, { routes: config.routes, providers });
      const createdAt = now();
      await store.create(plan, createdAt);
      for (const cdnId of plan.cdns) {
        const queue = queues.get(cdnId);
        const policy = policies.get(cdnId);
        if (!queue || !policy) throw new Error(`no queue for CDN ${cdnId}`);
        const jobs = plan.batches
          .filter((batch) => batch.cdnId === cdnId)
          .map((batch) => {
            const jobId = batchJobId(plan.purgeId, batch.batchId);
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
            return {
              name: 'purge',
              data,
              opts: { jobId, attempts: policy.submit.attempts, backoff: { type: BACKOFF_TYPE } },
            };
          });
        await queue.addBulk(jobs);
      }
      return { id: plan.purgeId, cdns: plan.cdns, batches: plan.batches.length };
    },
    async close() {
      await Promise.all([...queues.values()].map((queue) => queue.close()));
    },
  };
}
