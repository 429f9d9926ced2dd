import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { createHttpClient } from '../../src/providers/http.ts';
import { createProvider } from '../../src/providers/registry.ts';
import { createPurgeProducer, type PurgeProducer } from '../../src/queue/enqueue.ts';
import { createQuotaLedger, type QuotaLedger } from '../../src/status/quota.ts';
import { createStatusStore } from '../../src/status/store.ts';
import { uniquePrefix } from '../harness/prefix.ts';
import { unreachableRedis } from '../harness/unreachable-redis.ts';

describe('a purge whose flush cannot be scheduled', () => {
  const prefix = uniquePrefix('add-fails');
  let redis: Redis;
  let deadQueues: Redis;
  let producer: PurgeProducer;
  let quota: QuotaLedger;
  const config = parseConfig(
    {
      redis: { url: 'redis://127.0.0.1:1', prefix },
      cdns: [
        { id: 'quantil-main', provider: 'quantil', baseUrl: 'http://127.0.0.1:1', user: 'u', apiKey: 'k' },
      ],
      routes: [{ hosts: ['www.example.com'], cdns: ['quantil-main'] }],
    },
    {},
  );
  const http = createHttpClient(config.policy.http);
  const providers = new Map(config.cdns.map((cdn) => [cdn.id, createProvider(cdn, { http })]));

  beforeAll(async () => {
    redis = new Redis(inject('redisUrl'));
    deadQueues = await unreachableRedis();
    const store = createStatusStore({ redis, prefix, ttlSeconds: 3600 });
    quota = createQuotaLedger(redis, prefix);
    producer = createPurgeProducer({ config, providers, store, quota, connection: deadQueues });
  });
  afterAll(async () => {
    await producer.close().catch(() => {});
    deadQueues.disconnect();
    redis.disconnect();
    await http.close();
  });

  it('is accepted all the same: its targets wait, charged, for the next flush (or the reconciler)', async () => {
    const provider = providers.get('quantil-main');
    if (!provider) throw new Error('no provider');
    const urls = Array.from({ length: 10 }, (_, i) => `https://www.example.com/${i}.html`);
    const { id, duplicate } = await producer.enqueuePurge(
      { urls },
      { idempotency: { scope: 'cli', key: 'lost-1' } },
    );
    expect(duplicate).toBe(false);
    expect(await quota.used(provider, 'urls', Date.now())).toBe(10);
    expect(await redis.zcard(`${prefix}:pending:quantil-main`)).toBe(10);
    expect(await redis.hget(`${prefix}:purge:${id}`, 'remaining')).toBe('10');
  });
});
