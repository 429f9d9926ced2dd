import type { Redis } from 'ioredis';
import { mergePolicy } from './config/policy.ts';
import type { Config } from './config/schema.ts';
import type { Logger } from './observability/logger.ts';
import { createHttpClient, type HttpClient } from './providers/http.ts';
import type { Provider } from './providers/provider.ts';
import { createProvider } from './providers/registry.ts';
import { createRedisConnection } from './queue/connection.ts';
import { createPurgeProducer, type PurgeProducer } from './queue/enqueue.ts';
import { startWorkers, type WorkerPool } from './queue/workers.ts';
import { createStatusStore, type StatusStore } from './status/store.ts';

export interface Runtime {
  config: Config;
  providers: ReadonlyMap<string, Provider>;
  store: StatusStore;
  producer: PurgeProducer;
  /** Starts this process's workers (one per CDN queue); call once. */
  startWorkers(): WorkerPool;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  log: Logger;
  now?: () => number;
  random?: () => number;
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
  const connection: Redis = createRedisConnection(config.redis.url, 'producer');
  const store = createStatusStore({
    redis: connection,
    prefix: config.redis.prefix,
    ttlSeconds: config.statusTtlSeconds,
  });
  const producer = createPurgeProducer({
    config,
    providers,
    store,
    connection,
    ...(options.now ? { now: options.now } : {}),
  });
  const pools: WorkerPool[] = [];

  return {
    config,
    providers,
    store,
    producer,
    startWorkers() {
      const pool = startWorkers({
        config,
        providers,
        store,
        log: options.log,
        ...(options.now ? { now: options.now } : {}),
        ...(options.random ? { random: options.random } : {}),
      });
      pools.push(pool);
      return pool;
    },
    async close() {
      // Workers first: they may still write status through the shared connection.
      await Promise.all(pools.map((pool) => pool.close()));
      await producer.close();
      await Promise.all([...providers.values()].map((provider) => provider.close()));
      await Promise.all(httpClients.map((http) => http.close()));
      await connection.quit().catch(() => connection.disconnect());
    },
  };
}
