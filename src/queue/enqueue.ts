import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { formatIssues } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { PurgeError } from '../errors.ts';
import {
  createPurgeRequestSchema,
  type PurgeRequest,
  type PurgeRequestInput,
  type PurgeTarget,
  requestFingerprint,
  targetSize,
} from '../model/purge.ts';
import type { PipelineEvents } from '../observability/events.ts';
import type { BatchJobData } from '../pipeline/job.ts';
import { type PurgePlan, planPurge, planTargets } from '../pipeline/plan.ts';
import type { Provider } from '../providers/provider.ts';
import { type QuotaLedger, sentItems } from '../status/quota.ts';
import type { CdnWork, IdempotencyClaim, StatusStore } from '../status/store.ts';
import type { RedisClient } from './connection.ts';
import { createFlushScheduler, type FlushScheduler, flushSettings } from './flush.ts';
import { queueName } from './names.ts';
import { NotReplicatedError, type ReplicaWaiter } from './replicas.ts';

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

export interface PlannedOptions {
  /** Its fingerprint given: what counts as the same request is the caller's to say (a replay: its origin). */
  idempotency?: IdempotencyClaim;
  replayOf?: string;
}

export interface EnqueueResult {
  id: string;
  cdns: string[];
  duplicate: boolean;
}

export interface PurgeProducer {
  /** Validates and canonicalises the request (REQUEST_INVALID naming each bad field), then accepts it. */
  enqueuePurge(request: PurgeRequestInput, options?: EnqueueOptions): Promise<EnqueueResult>;
  /**
   * Accepts targets already decided per CDN (a replay: `replayOf` names the purge it sends again), with the
   * same checks, quota and idempotency as enqueuePurge; nothing is routed again.
   */
  enqueuePlanned(targets: ReadonlyMap<string, PurgeTarget>, options?: PlannedOptions): Promise<EnqueueResult>;
  /** Checks a request as enqueuePurge would, writing nothing. */
  plan(request: PurgeRequestInput): PurgePlan;
  /** Makes sure every CDN with pending targets has a flush coming (the reconciler's repair, too). */
  readonly flushes: FlushScheduler;
  readonly queues: ReadonlyMap<string, Queue<BatchJobData>>;
  close(): Promise<void>;
}

export interface ProducerDeps {
  config: Config;
  providers: ReadonlyMap<string, Provider>;
  store: StatusStore;
  connection: RedisClient;
  /** The daily quota counters each CDN's targets are charged to. */
  quota?: QuotaLedger;
  idempotencyWindowSeconds?: number;
  events?: PipelineEvents;
  /** With `redis.waitReplicas`: an acceptance is answered only once replicas acknowledged it. */
  replicas?: ReplicaWaiter;
  now?: () => number;
  newId?: () => string;
}

/**
 * The producer side, shared by the HTTP API, the CLI and library callers: the one place a request is
 * validated, canonicalised and planned; a refusal writes nothing.
 *
 * A purge is accepted by one Lua call (record, plan, idempotency key, quota, and its targets in each CDN's
 * pending set), then each CDN's flush is made sure of. Crash window: killed between the two, the targets
 * wait in their pending sets with no flush coming until the next one anyone schedules, or the reconciler's
 * sweep: accepted work is never lost, at worst late by one reconcile interval.
 *
 * With `replicas`, the answer (a new purge or a repeat alike) also waits for the replicas to acknowledge the
 * acceptance; too few, and it is NotReplicatedError (503 NOT_REPLICATED): the purge stays accepted, and a retry
 * with the same key is a repeat that waits again, until one is confirmed.
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
  const flushes = createFlushScheduler(queues, flushSettings(config));

  function parse(input: PurgeRequestInput): PurgeRequest {
    const parsed = requestSchema.safeParse(input);
    if (!parsed.success)
      throw new PurgeError('REQUEST_INVALID', `invalid purge:\n${formatIssues(parsed.error.issues)}`);
    return parsed.data;
  }
  const planFor = (id: string, request: PurgeRequest) =>
    planPurge(id, request, { routes: config.routes, providers });

  function workOf(plan: PurgePlan, at: number): CdnWork[] {
    return [...plan.targets].map(([cdnId, target]) => {
      const provider = providers.get(cdnId);
      const quota = provider && deps.quota ? deps.quota.countersFor(provider, at) : undefined;
      const allCost = provider && target.all ? sentItems(provider, target) : undefined;
      return { cdnId, target, ...(quota ? { quota } : {}), ...(allCost ? { allCost } : {}) };
    });
  }

  /** A repeat: the first purge is already accepted; its flushes are made sure of (a crash may have lost one). */
  async function repeatOf(id: string): Promise<EnqueueResult> {
    const earlier = await store.get(id);
    const cdns = earlier?.cdns ?? [];
    if (earlier && earlier.state === 'queued')
      await Promise.all(cdns.map((cdnId) => flushes.ensure(cdnId, {})));
    return replicated({ id, cdns, duplicate: true });
  }

  /**
   * Crash window: killed while this waits, the purge is already accepted and the caller, with no answer,
   * retries with its key and gets this purge. A failover before the replicas have it may lose it, which is
   * what the caller is told when too few acknowledged.
   */
  async function replicated(result: EnqueueResult): Promise<EnqueueResult> {
    const waiter = deps.replicas;
    if (!waiter) return result;
    const ack = await waiter.acknowledged(result.id);
    const confirmed = ack.acknowledged >= ack.required;
    deps.events?.emit('purge:replication', {
      purgeId: result.id,
      duplicate: result.duplicate,
      confirmed,
      ...ack,
    });
    if (!confirmed) throw new NotReplicatedError(result, ack, waiter.timeoutMs);
    return result;
  }

  function reused(key: Pick<IdempotencyKey, 'key'>): PurgeError {
    return new PurgeError(
      'IDEMPOTENCY_KEY_REUSED',
      `idempotency key "${key.key}" was already used for a different request; use a new key for a new request`,
    );
  }

  return {
    queues,
    flushes,
    plan: (request) => planFor('check', parse(request)),

    async enqueuePurge(input, options = {}) {
      const request = parse(input);
      const plan = planFor(newId(), request);
      const claim: IdempotencyClaim | undefined = options.idempotency && {
        ...options.idempotency,
        fingerprint: requestFingerprint(request, options.callbackUrl),
      };
      return acceptPlan(plan, claim, options);
    },

    enqueuePlanned(targets, options = {}) {
      const plan = planTargets(newId(), targets, providers);
      return acceptPlan(plan, options.idempotency, options);
    },

    async close() {
      await Promise.all([...queues.values()].map((queue) => queue.close()));
    },
  };

  /** Accepts a planned purge (one Lua call), then makes sure of its flushes; a refusal writes nothing. */
  async function acceptPlan(
    plan: PurgePlan,
    claim: IdempotencyClaim | undefined,
    options: { callbackUrl?: string; replayOf?: string },
  ): Promise<EnqueueResult> {
    const createdAt = now();
    const accepted = await store.accept({
      purgeId: plan.purgeId,
      createdAt,
      request: plan.request,
      work: workOf(plan, createdAt),
      ...(claim ? { idempotency: claim } : {}),
      ...(options.callbackUrl ? { callbackUrl: options.callbackUrl } : {}),
      ...(options.replayOf ? { replayOf: options.replayOf } : {}),
      ...(deps.idempotencyWindowSeconds ? { idempotencyWindowSeconds: deps.idempotencyWindowSeconds } : {}),
    });
    if (accepted.outcome === 'quota') {
      const { counter, used } = accepted;
      const asked = plan.targets.get(counter.cdnId)?.[counter.kind].length ?? 0;
      throw new PurgeError(
        'QUOTA_EXCEEDED',
        `CDN ${counter.cdnId}: daily quota of ${counter.limit} ${counter.kind} would be exceeded (${asked} requested, ${Math.max(0, counter.limit - used)} left today, UTC)`,
      );
    }
    if (accepted.outcome === 'conflict' && claim) throw reused(claim);
    if (accepted.outcome !== 'created') return repeatOf(accepted.id);
    // Crash window (see above): from here on the purge is accepted whatever happens to this call, so a
    // flush that cannot be scheduled now (a Redis blip) is left to the reconciler, not reported as a refusal.
    await Promise.allSettled(plan.cdns.map((cdnId) => flushes.ensure(cdnId)));
    const targets = [...plan.targets.values()].reduce((sum, target) => sum + targetSize(target), 0);
    deps.events?.emit('purge:accepted', { purgeId: plan.purgeId, cdns: plan.cdns, targets });
    return replicated({ id: plan.purgeId, cdns: plan.cdns, duplicate: false });
  }
}
