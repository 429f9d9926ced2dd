import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { formatIssues } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { PurgeError } from '../errors.ts';
import {
  createPurgeRequestSchema,
  type Priority,
  type PurgeRequest,
  type PurgeRequestInput,
  type PurgeTarget,
  REPURGE_ID_PREFIX,
  requestFingerprint,
  targetSize,
} from '../model/purge.ts';
import type { PipelineEvents } from '../observability/events.ts';
import type { BatchJobData } from '../pipeline/job.ts';
import { laneOf } from '../pipeline/lane.ts';
import { type PurgePlan, planEachCdn, planPurge, planTargets } from '../pipeline/plan.ts';
import type { Provider } from '../providers/provider.ts';
import { createPreviewReader } from '../status/preview.ts';
import { type QuotaLedger, sentItems } from '../status/quota.ts';
import type { CdnWork, IdempotencyClaim, StatusStore } from '../status/store.ts';
import type { RedisClient } from './connection.ts';
import { type DryRunReport, dryRun, keyReusedMessage } from './dry-run.ts';
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
  /** The lane of a request that names none, before the routes' defaults (the webhook's `priority`). */
  defaultPriority?: Priority;
}

export interface PlannedOptions {
  /** Its fingerprint given: what counts as the same request is the caller's to say (a replay: its origin). */
  idempotency?: IdempotencyClaim;
  replayOf?: string;
  /**
   * A verification's re-purge of a batch whose edges served stale copies: its id starts `rp-`, which is how
   * the batch that carries it knows not to check (and re-purge) those URLs itself (take.lua).
   */
  repurgeOf?: string;
  /** Its lane (default normal): a re-purge keeps the lane of the batch it repairs. */
  priority?: Priority;
}

export interface EnqueueResult {
  id: string;
  cdns: string[];
  duplicate: boolean;
}

/** What a shed bulk purge is told to wait before it tries again: a bulk backlog drains in minutes, not ms. */
const SHED_RETRY_AFTER_MS = 30_000;

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
  /**
   * Validates and plans the request as enqueuePurge does (REQUEST_INVALID for a request-wide error), then,
   * instead of accepting it, reads what accepting it now would meet: writes nothing at all.
   */
  dryRun(request: PurgeRequestInput, options?: EnqueueOptions): Promise<DryRunReport>;
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
  /** A process that only reads (a CLI dry run): its queues skip BullMQ's meta write on connecting. */
  readOnly?: boolean;
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
      new Queue<BatchJobData>(queueName(cdn.id), {
        connection,
        prefix: config.redis.prefix,
        ...(deps.readOnly ? { skipMetasUpdate: true } : {}),
      }),
    ]),
  );
  const flushes = createFlushScheduler(queues, flushSettings(config));

  function parse(input: PurgeRequestInput): PurgeRequest {
    const parsed = requestSchema.safeParse(input);
    if (!parsed.success)
      throw new PurgeError('REQUEST_INVALID', `invalid purge:\n${formatIssues(parsed.error.issues)}`);
    return parsed.data;
  }
  const planContext = { routes: config.routes, providers };
  const planFor = (id: string, request: PurgeRequest) => planPurge(id, request, planContext);
  const claimOf = (request: PurgeRequest, options: EnqueueOptions): IdempotencyClaim | undefined =>
    options.idempotency && {
      ...options.idempotency,
      fingerprint: requestFingerprint(request, options.callbackUrl),
    };

  const preview = createPreviewReader(connection, config.redis.prefix);

  const maxBulkBacklog = new Map(config.cdns.map((cdn) => [cdn.id, cdn.maxBulkBacklog]));
  function workOf(plan: PurgePlan, at: number): CdnWork[] {
    return [...plan.targets].map(([cdnId, target]) => {
      const provider = providers.get(cdnId);
      const quota = provider && deps.quota ? deps.quota.countersFor(provider, at) : undefined;
      const allCost = provider && target.all ? sentItems(provider, target) : undefined;
      const maxBulk = maxBulkBacklog.get(cdnId);
      return {
        cdnId,
        target,
        ...(quota ? { quota } : {}),
        ...(allCost ? { allCost } : {}),
        ...(maxBulk ? { maxBulkBacklog: maxBulk } : {}),
      };
    });
  }

  /** A repeat: the first purge is already accepted; its flushes are made sure of (a crash may have lost one). */
  async function repeatOf(id: string): Promise<EnqueueResult> {
    const earlier = await store.get(id);
    const cdns = earlier?.cdns ?? [];
    // In the purge's own lane: an urgent purge's lost flush must not come back waiting a normal window.
    const lane = earlier?.priority ?? 'normal';
    if (earlier && earlier.state === 'queued')
      await Promise.all(cdns.map((cdnId) => flushes.ensure(cdnId, { lane })));
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
    return new PurgeError('IDEMPOTENCY_KEY_REUSED', keyReusedMessage(key.key));
  }

  return {
    queues,
    flushes,
    plan: (request) => planFor('check', parse(request)),

    async dryRun(input, options = {}) {
      const request = parse(input);
      const { plan, refused } = planEachCdn('dry-run', request, planContext);
      const at = now();
      const work = workOf(plan, at);
      const claim = claimOf(request, options);
      const refusing = refused.map(({ cdnId, target, error }) => ({
        cdnId,
        target,
        refusal: { code: error.code, message: error.message },
      }));
      return dryRun({
        cdns: [...work, ...refusing],
        lane: laneOf(request, config.routes, options.defaultPriority),
        ...(claim ? { idempotency: claim } : {}),
        providers,
        reader: preview,
        now: at,
      });
    },

    async enqueuePurge(input, options = {}) {
      const request = parse(input);
      const plan = planFor(newId(), request);
      const claim = claimOf(request, options);
      const priority = laneOf(request, config.routes, options.defaultPriority);
      return acceptPlan(plan, claim, { ...options, priority });
    },

    enqueuePlanned(targets, options = {}) {
      const id = options.repurgeOf === undefined ? newId() : `${REPURGE_ID_PREFIX}${newId()}`;
      const plan = planTargets(id, targets, providers);
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
    options: { callbackUrl?: string; replayOf?: string; repurgeOf?: string; priority?: Priority },
  ): Promise<EnqueueResult> {
    const createdAt = now();
    const priority = options.priority ?? 'normal';
    const accepted = await store.accept({
      purgeId: plan.purgeId,
      createdAt,
      priority,
      request: plan.request,
      work: workOf(plan, createdAt),
      ...(claim ? { idempotency: claim } : {}),
      ...(options.callbackUrl ? { callbackUrl: options.callbackUrl } : {}),
      ...(options.replayOf ? { replayOf: options.replayOf } : {}),
      ...(options.repurgeOf ? { repurgeOf: options.repurgeOf } : {}),
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
    if (accepted.outcome === 'shed') {
      throw new PurgeError(
        'BACKLOG_FULL',
        `CDN ${accepted.cdnId}: ${accepted.backlog} bulk targets are waiting (cdns[].maxBulkBacklog); bulk purges are refused until it drains, urgent and normal ones are not`,
        { retryAfterMs: SHED_RETRY_AFTER_MS },
      );
    }
    if (accepted.outcome === 'conflict' && claim) throw reused(claim);
    if (accepted.outcome !== 'created') return repeatOf(accepted.id);
    // Crash window (see above): from here on the purge is accepted whatever happens to this call, so a
    // flush that cannot be scheduled now (a Redis blip) is left to the reconciler, not reported as a refusal.
    await Promise.allSettled(plan.cdns.map((cdnId) => flushes.ensure(cdnId, { lane: priority })));
    const targets = [...plan.targets.values()].reduce((sum, target) => sum + targetSize(target), 0);
    deps.events?.emit('purge:accepted', { purgeId: plan.purgeId, cdns: plan.cdns, targets });
    return replicated({ id: plan.purgeId, cdns: plan.cdns, duplicate: false });
  }
}
