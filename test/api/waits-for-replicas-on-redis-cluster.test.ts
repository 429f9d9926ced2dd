import { Cluster } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { API_TOKEN, startTestApi, type TestApi } from '../harness/api.ts';
import { uniquePrefix } from '../harness/prefix.ts';
import {
  type ClusterReplica,
  canStartCluster,
  type RedisClusterHandle,
  startRedisCluster,
} from '../harness/redis-cluster.ts';
import { requireTool } from '../harness/requirement.ts';

const available = requireTool(
  await canStartCluster(),
  'Redis Cluster replica test',
  'redis-server and redis-cli are not on PATH',
);

type SlotRange = [
  start: number,
  end: number,
  ...nodes: Array<[host: string, port: number, ...rest: unknown[]]>,
];

/** The port of the master serving `slot`, from CLUSTER SLOTS ([start, end, [host, port, id], ...replicas]). */
function masterPortOf(slots: readonly SlotRange[], slot: number): number {
  const master = slots.find(([start, end]) => start <= slot && slot <= end)?.[2];
  if (!master) throw new Error(`no master serves slot ${slot}`);
  return master[1];
}

describe.skipIf(!available)('redis.waitReplicas on a Redis Cluster', () => {
  let cluster: RedisClusterHandle;
  let replica: ClusterReplica;
  let api: TestApi;

  beforeAll(async () => {
    cluster = await startRedisCluster();
    const prefix = uniquePrefix('cluster-replicas');
    const client = new Cluster(
      cluster.nodes.map((node) => ({ host: '127.0.0.1', port: Number(new URL(node).port) })),
    );
    try {
      const slot = Number(await client.cluster('KEYSLOT', prefix));
      const slots: SlotRange[] = await client.cluster('SLOTS');
      // Only the prefix's master gets a replica: a WAIT sent to any other master counts none.
      replica = await cluster.addReplica(masterPortOf(slots, slot));
    } finally {
      client.disconnect();
    }
    api = await startTestApi('http://127.0.0.1:9', {
      redis: {
        // Not used with clusterNodes; the harness's own client of the standalone test Redis reads it.
        url: inject('redisUrl'),
        clusterNodes: cluster.nodes,
        prefix,
        waitReplicas: { replicas: 1, timeoutMs: 3_000 },
      },
    });
  }, 60_000);
  afterEach(() => replica?.resume());
  afterAll(async () => {
    await api?.close();
    await cluster?.stop();
  });

  const post = (idempotencyKey: string) =>
    api.app.inject({
      method: 'POST',
      url: '/v1/purges',
      headers: { authorization: `Bearer ${API_TOKEN}` },
      payload: { urls: ['https://www.example.com/cluster-replicated.html'], idempotencyKey },
    });

  it("waits on the master that holds the prefix's slot, whose replica confirms every purge", async () => {
    // Six in a row: a WAIT that went to a node at random would find no replica on two masters in three.
    for (let index = 0; index < 6; index++) {
      const response = await post(`slot-${index}`);
      expect(response.statusCode, response.body).toBe(202);
    }
  });

  it('answers NOT_REPLICATED while that replica acknowledges nothing, and confirms the retry once it does', async () => {
    replica.pause();
    const first = await post('paused');
    expect(first.statusCode).toBe(503);
    const { id } = first.json() as { id: string };
    expect(first.json()).toMatchObject({
      error: 'NOT_REPLICATED',
      replicas: { acknowledged: 0, required: 1 },
    });

    replica.resume();
    const retried = await post('paused');
    expect(retried.statusCode).toBe(202);
    expect(retried.json()).toMatchObject({ id, duplicate: true });
  });
});
