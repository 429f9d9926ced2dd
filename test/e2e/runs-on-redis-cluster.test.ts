import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { QUANTIL_RIG, VIMS_RIG } from '../harness/cdn-rigs.ts';
import { canStartCluster, type RedisClusterHandle, startRedisCluster } from '../harness/redis-cluster.ts';
import { requireTool } from '../harness/requirement.ts';
import { startTestService, type TestService, testConfigInput } from '../harness/service.ts';

const available = requireTool(
  await canStartCluster(),
  'Redis Cluster test',
  'redis-server and redis-cli are not on PATH',
);

describe.skipIf(!available)('on a Redis Cluster', () => {
  let cluster: RedisClusterHandle;
  let simulator: Simulator;
  let service: TestService;

  beforeAll(async () => {
    cluster = await startRedisCluster();
    simulator = await startSimulator({
      ...VIMS_RIG.simulatorOptions({ taskDurationMs: 50 }),
      ...QUANTIL_RIG.simulatorOptions({ taskDurationMs: 50 }),
    });
    const input = testConfigInput(simulator.url, {}, [
      VIMS_RIG.cdnEntry(simulator.url),
      QUANTIL_RIG.cdnEntry(simulator.url),
    ]);
    service = startTestService({
      ...input,
      redis: { ...input.redis, clusterNodes: cluster.nodes },
      api: { ...input.api, webhook: { secret: 'cluster-test-secret-0123' } },
    });
  }, 60_000);
  afterAll(async () => {
    await service?.close();
    await simulator?.close();
    await cluster?.stop();
  });

  it('carries a fanned-out purge with an idempotency key, a callback URL and a quota to succeeded on both CDNs', async () => {
    const request = {
      urls: ['https://www.example.com/cluster.html'],
      dirs: ['https://www.example.com/news/'],
    };
    const options = {
      idempotency: { scope: 'cli', key: 'cluster-1' },
      callbackUrl: 'http://127.0.0.1:9/unused',
    };
    const { id } = await service.runtime.producer.enqueuePurge(request, options);
    const status = await service.waitForFinish(id);
    expect(status.state).toBe('succeeded');
    expect(status.batches.map((b) => [b.cdnId, b.state])).toEqual([
      ['quantil-main', 'succeeded'],
      ['vims-main', 'succeeded'],
    ]);
    expect((await service.runtime.producer.enqueuePurge(request, options)).id).toBe(id);

    // It really ran on the cluster: the record is there, and not on the standalone test Redis.
    const key = `${service.config.redis.prefix}:purge:${id}`;
    const client = new Cluster(
      cluster.nodes.map((node) => ({ host: '127.0.0.1', port: Number(new URL(node).port) })),
    );
    try {
      expect(await client.exists(key)).toBe(1);
    } finally {
      client.disconnect();
    }
    expect(await service.redis.exists(key)).toBe(0);
  });

  it('answers a dry run in one read-only call on the prefix slot: the idempotency key, the quota', async () => {
    const url = 'https://www.example.com/cluster-dry.html';
    const options = { idempotency: { scope: 'cli', key: 'cluster-dry' } };
    const { id } = await service.runtime.producer.enqueuePurge({ urls: [url] }, options);
    const report = await service.runtime.producer.dryRun({ urls: [url, `${url}?v=2`] }, options);
    expect(report).toMatchObject({
      outcome: 'refused',
      wouldBeRefused: [{ code: 'IDEMPOTENCY_KEY_REUSED' }],
    });
    const repeat = await service.runtime.producer.dryRun({ urls: [url] }, options);
    expect(repeat).toMatchObject({ outcome: 'duplicate', duplicateOf: id });
    expect(repeat.cdns['quantil-main']?.quota).toMatchObject({ limited: true, urls: { limit: 5000 } });
    expect(repeat.cdns['quantil-main']?.quota).not.toMatchObject({ urls: { used: 0 } });
  });
});
