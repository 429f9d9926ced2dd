// A producer in a process of its own whose queue commands (the flush it adds) go to PURGE_TEST_QUEUE_PORT, a
// loopback port that never answers, while the purge itself is accepted in the real Redis: the process then
// hangs between accepting a purge and adding its flush, and a test SIGKILLs it there. Config comes as JSON in
// PURGE_TEST_CONFIG.
import { Redis } from 'ioredis';
import { parseConfig } from '../../src/config/load.ts';
import { createHttpClient } from '../../src/providers/http.ts';
import { createProvider } from '../../src/providers/registry.ts';
import { createPurgeProducer } from '../../src/queue/enqueue.ts';
import { createQuotaLedger } from '../../src/status/quota.ts';
import { createStatusStore } from '../../src/status/store.ts';

const config = parseConfig(JSON.parse(process.env.PURGE_TEST_CONFIG ?? '{}'), {});
const http = createHttpClient(config.policy.http);
const providers = new Map(config.cdns.map((cdn) => [cdn.id, createProvider(cdn, { http })]));
const redis = new Redis(config.redis.url);
const silentQueues = new Redis({ host: '127.0.0.1', port: Number(process.env.PURGE_TEST_QUEUE_PORT) });
const producer = createPurgeProducer({
  config,
  providers,
  store: createStatusStore({ redis, prefix: config.redis.prefix, ttlSeconds: config.statusTtlSeconds }),
  quota: createQuotaLedger(redis, config.redis.prefix),
  connection: silentQueues,
});
process.stdout.write('producer-ready\n');
void producer.enqueuePurge({ urls: (process.env.PURGE_TEST_URLS ?? '').split(' ') });
