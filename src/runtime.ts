import type { Queue } from 'bullmq';
import { mergePolicy } from './config/policy.ts';
import type { Config } from './config/schema.ts';
import { type AddressGuard, createAddressGuard, type HostLookup } from './net/address-guard.ts';
import { createPipelineEvents, type PipelineEvents } from './observability/events.ts';
import { reportingFinishedPurges } from './observability/finished-purges.ts';
import type { Logger } from './observability/logger.ts';
import { createMetrics, type Metrics } from './observability/metrics.ts';
import { createHttpClient, type HttpClient } from './providers/http.ts';
import type { Provider } from './providers/provider.ts';
import { createProvider } from './providers/registry.ts';
import { createCallbackQueue, createCallbackScheduler, startCallbackWorker } from './queue/callbacks.ts';
import { createRedisConnection, describeRedis, PRODUCER_COMMAND_TIMEOUT_MS } from './queue/connection.ts';
import { createPurgeProducer, type PurgeProducer } from './queue/enqueue.ts';
import { createRedisHealth, REDIS_START_HINT } from './queue/redis-health.ts';
import { createReplicaWaiter } from './queue/replicas.ts';
import { startWorkers, type WorkerPool } from './queue/workers.ts';
import { createQuotaLedger, type QuotaLedger } from './status/quota.ts';
import { createStatusStore, type StatusStore } from './status/store.ts';

export interface Runtime {
  config: Config;
  providers: ReadonlyMap<string, Provider>;
  store: StatusStore;
  quota: QuotaLedger;
  producer: PurgeProducer;
  events: PipelineEvents;
  /**
   * Decides at ingest which addresses a caller's callbackUrl may reach (config `callbacks.allowHosts`),
   * looking up at most `callbacks.maxIngestLookups` names at once.
   */
  callbackGuard: AddressGuard;
  /** Every queue of this deployment: one per CDN, and the callbacks queue. */
  queues(): Queue[];
  /**
   * This process's Prometheus metrics, created on first use; their counters count pipeline events from
   * then on, so a server creates them before it serves (buildApp does).
   */
  metrics(): Metrics;
  /** Starts this process's workers (one per CDN queue, plus callbacks); call once. */
  startWorkers(): WorkerPool;
  /** Answers when Redis does: for readiness checks. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Schedules a due callback, then confirms it, so the reconciler stops looking for it. Crash window: killed
 * in between, the reconciler adds the job again, which its id makes a no-op.
 */
function confirmed(schedule: (purgeId: string) => Promise<void>, store: StatusStore) {
  return async (purgeId: string) => {
    await schedule(purgeId);
    await store.callbackScheduled(purgeId);
  };
}

export interface RuntimeOptions {
  log: Logger;
  now?: () => number;
  random?: () => number;
  /** Resolves callback host names; the system resolver unless a test feeds answers as data. */
  lookup?: HostLookup;
  /**
   * A process that only reads (a CLI dry run): its queues skip the meta write BullMQ makes on connecting,
   * so it writes nothing to Redis at all. Not for a process that enqueues or runs workers.
   */
  readOnly?: boolean;
}

/**
 * Builds everything a process needs from a validated config. Producers (API, CLI, library) and workers
 * share it; workers only start when asked, so a CLI `purge` never processes jobs.
 */
export function createRuntime(config: Config, options: RuntimeOptions): Runtime {
  const httpClients: HttpClient[] = [];
  const providers = new Map<string, Provider>();
  for (const cdn of config.cdns) {
    const http = createHttpClient(mergePolicy(config.policy, cdn.policy).http);
    httpClients.push(http);
    providers.set(cdn.id, createProvider(cdn, { http }));
  }
  // Every connection of this process reports to one place: an outage is one line, and so is its end.
  const redisHealth = createRedisHealth({
    log: options.log,
    redis: describeRedis(config.redis),
    ...(config.redis.clusterNodes ? {} : { startHint: REDIS_START_HINT }),
  });
  const connection = createRedisConnection(config.redis, 'producer', redisHealth);
  const store = createStatusStore({
    redis: connection,
    prefix: config.redis.prefix,
    ttlSeconds: config.statusTtlSeconds,
  });
  const quota = createQuotaLedger(connection, config.redis.prefix);
  const events = createPipelineEvents();
  const { waitReplicas } = config.redis;
  // WAIT blocks the connection it is sent on: one of its own, so nothing else queues behind it.
  const replicaConnection = waitReplicas
    ? createRedisConnection(
        config.redis,
        'producer',
        redisHealth,
        // A round's WAIT takes up to timeoutMs by design (and the waiter bounds the round itself).
        waitReplicas.timeoutMs + PRODUCER_COMMAND_TIMEOUT_MS,
      )
    : undefined;
  const replicas =
    waitReplicas && replicaConnection
      ? createReplicaWaiter({ connection: replicaConnection, prefix: config.redis.prefix, ...waitReplicas })
      : undefined;
  events.on('purge:replication', (e) => {
    if (!e.confirmed)
      options.log.warn(
        { ...e, timeoutMs: waitReplicas?.timeoutMs },
        'purge accepted on the Redis primary but not confirmed by its replicas: answered NOT_REPLICATED',
      );
  });
  const producer = createPurgeProducer({
    events,
    config,
    providers,
    store,
    connection,
    quota,
    idempotencyWindowSeconds: config.api.idempotencyWindowSeconds,
    ...(replicas ? { replicas } : {}),
    ...(options.now ? { now: options.now } : {}),
    ...(options.readOnly ? { readOnly: true } : {}),
  });
  const guardOptions = {
    allowHosts: config.callbacks.allowHosts,
    lookupTimeoutMs: config.callbacks.timeoutMs,
    ...(options.lookup ? { lookup: options.lookup } : {}),
  };
  // Ingest's lookups are bounded: any client can make us resolve names it chose (see maxIngestLookups).
  // The callback worker's own guard is bounded by its delivery concurrency instead.
  const callbackGuard = createAddressGuard({
    ...guardOptions,
    maxLookupsInFlight: config.callbacks.maxIngestLookups,
  });
  const deliveryGuard = createAddressGuard(guardOptions);
  const callbackQueue = createCallbackQueue(config, connection, { readOnly: options.readOnly === true });
  const pools: WorkerPool[] = [];
  const queues = (): Queue[] => [...producer.queues.values(), callbackQueue];
  // The shared connection already reports an outage once; without a listener BullMQ prints every retry.
  for (const queue of queues())
    queue.on('error', (error) => options.log.debug({ err: error.message }, 'queue error'));
  let metrics: Metrics | undefined;

  return {
    config,
    providers,
    store,
    quota,
    producer,
    events,
    callbackGuard,
    queues,
    metrics() {
      metrics ??= createMetrics({
        events,
        queues,
        redis: connection,
        providers,
        quota,
        ...(options.now ? { now: options.now } : {}),
      });
      return metrics;
    },
    startWorkers() {
      // Workers write status on a connection of their own that waits out a Redis outage, as BullMQ's do:
      // the producer's fails fast (an API answers 503), which would turn a blip into failed jobs here.
      const workerConnection = createRedisConnection(config.redis, 'worker', redisHealth);
      const workerStore = reportingFinishedPurges(
        createStatusStore({
          redis: workerConnection,
          prefix: config.redis.prefix,
          ttlSeconds: config.statusTtlSeconds,
        }),
        events,
      );
      const workerCallbackQueue = createCallbackQueue(config, workerConnection);
      workerCallbackQueue.on('error', (error) => options.log.debug({ err: error.message }, 'queue error'));
      const callbacks = startCallbackWorker(config, workerStore, deliveryGuard, options.log, {
        events,
        redisHealth,
      });
      const purges = startWorkers({
        config,
        providers,
        store: workerStore,
        log: options.log,
        redisHealth,
        events,
        onCallbackDue: confirmed(createCallbackScheduler(config, workerCallbackQueue), workerStore),
        quota,
        verification: {
          // Through the producer, like any purge: coalesced with what else is pending for the CDN, charged
          // to its quota, and idempotent per batch and round (a re-run after a crash gets the same re-purge).
          repurge: async (cdnId, target, { batchId, key, lane }) => {
            const accepted = await producer.enqueuePlanned(new Map([[cdnId, target]]), {
              idempotency: { scope: 'verify', key, fingerprint: key },
              repurgeOf: batchId,
              priority: lane,
            });
            return accepted.id;
          },
          ...(options.lookup ? { lookup: options.lookup } : {}),
        },
        ...(options.now ? { now: options.now } : {}),
        ...(options.random ? { random: options.random } : {}),
      });
      let closing: Promise<void> | undefined;
      const pool: WorkerPool = {
        workers: purges.workers,
        // Once: a caller that stopped its workers early (a test, an embedder) still closes the runtime.
        close(graceMs) {
          closing ??= (async () => {
            await Promise.all([purges.close(graceMs), callbacks.close()]);
            await workerCallbackQueue.close();
            await workerConnection.quit().catch(() => workerConnection.disconnect());
          })();
          return closing;
        },
      };
      pools.push(pool);
      return pool;
    },
    async ping() {
      await connection.ping();
    },
    async close() {
      // Connections closing on purpose are no outage.
      redisHealth.quiet();
      // Workers first: they may still write status through the shared connection.
      await Promise.all(pools.map((pool) => pool.close()));
      await producer.close();
      await callbackQueue.close();
      await Promise.all([...providers.values()].map((provider) => provider.close()));
      await Promise.all(httpClients.map((http) => http.close()));
      await connection.quit().catch(() => connection.disconnect());
      await replicaConnection?.quit().catch(() => replicaConnection.disconnect());
    },
  };
}
