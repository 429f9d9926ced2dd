import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createRedisConnection } from '../../src/queue/connection.ts';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { VIMS_RIG } from '../harness/cdn-rigs.ts';
import { canStartCluster, type RedisClusterHandle, startRedisCluster } from '../harness/redis-cluster.ts';
import { freePort } from '../harness/redis-server.ts';
import { requireTool } from '../harness/requirement.ts';
import { startTestService, type TestService, testConfigInput } from '../harness/service.ts';
import { canRunTlsRedis, makeTlsFiles, type TlsFiles, tlsServerArgs } from '../harness/tls-certificates.ts';

const available = requireTool(
  (await canStartCluster()) && (await canRunTlsRedis()),
  'Redis-over-TLS test',
  'needs openssl and a TLS-enabled redis-server and redis-cli on PATH',
);

const PASSWORD = 'redis-tls-password-0123';

/** The port of the cluster node that serves `key`'s slot, from CLUSTER NODES. */
async function ownerOf(cluster: RedisClusterHandle, port: number, key: string): Promise<number> {
  const slot = Number((await cluster.cli(port, 'cluster', 'keyslot', key)).trim());
  for (const line of (await cluster.cli(port, 'cluster', 'nodes')).trim().split('\n')) {
    const [, address, , , , , , , ...ranges] = line.split(' ');
    const serves = ranges.some((range) => {
      const [from, to = from] = range.split('-').map(Number);
      return from !== undefined && to !== undefined && slot >= from && slot <= to;
    });
    if (serves) return Number(address?.split('@')[0]?.split(':')[1]);
  }
  throw new Error(`no node serves slot ${slot}`);
}

describe.skipIf(!available)('over TLS', () => {
  let trusted: TlsFiles;
  let stranger: TlsFiles;
  let simulator: Simulator;

  beforeAll(async () => {
    trusted = await makeTlsFiles('purge-worker test CA');
    stranger = await makeTlsFiles('a CA nobody configured');
    simulator = await startSimulator(VIMS_RIG.simulatorOptions({ taskDurationMs: 50 }));
  });
  afterAll(async () => {
    await simulator?.close();
  });

  describe('on a Redis Cluster that serves only TLS, with a password', () => {
    let cluster: RedisClusterHandle;
    let service: TestService | undefined;

    beforeAll(async () => {
      cluster = await startRedisCluster({ tls: trusted, password: PASSWORD });
    }, 60_000);
    afterAll(async () => {
      await service?.close();
      await cluster?.stop();
    });

    it('carries a purge to succeeded, reaching by TLS both its seed and the node the seed reveals', async () => {
      const ports = cluster.nodes.map((node) => Number(new URL(node).port));
      const input = testConfigInput(simulator.url, {}, [VIMS_RIG.cdnEntry(simulator.url)]);
      const owner = await ownerOf(cluster, ports[0] as number, input.redis.prefix);
      // The only seed is a node that does not hold the purge's slot: the work happens on one it reveals.
      const seed = ports.find((port) => port !== owner) as number;
      service = startTestService({
        ...input,
        redis: {
          ...input.redis,
          clusterNodes: [`rediss://:${PASSWORD}@127.0.0.1:${seed}`],
          tls: { caFile: trusted.caFile },
        },
      });
      const { id } = await service.runtime.producer.enqueuePurge({
        urls: ['https://www.example.com/tls.html'],
      });
      const status = await service.waitForFinish(id);
      expect(status.state).toBe('succeeded');
      const key = `${input.redis.prefix}:purge:${id}`;
      expect((await cluster.cli(owner, 'exists', key)).trim()).toBe('1');
    });

    it('refuses a cluster whose certificates the configured CA did not sign', async () => {
      const errors: Error[] = [];
      const connection = createRedisConnection(
        {
          url: 'redis://unused',
          clusterNodes: [`rediss://:${PASSWORD}@127.0.0.1:${new URL(cluster.nodes[0] as string).port}`],
          tls: { caFile: stranger.caFile, rejectUnauthorized: true },
        },
        'producer',
        (error) => errors.push(error),
      );
      try {
        // ioredis keeps the node's TLS error to itself here; the standalone case below shows its words.
        await vi.waitFor(() => expect(errors[0]?.message).toMatch(/Failed to refresh slots cache/), {
          timeout: 10_000,
          interval: 20,
        });
        expect(connection.status).not.toBe('ready');
      } finally {
        connection.disconnect();
      }
    });
  });

  describe('on a standalone Redis that serves only TLS, with a password', () => {
    let server: ChildProcess;
    let url: string;
    let service: TestService | undefined;

    beforeAll(async () => {
      const port = await freePort();
      const dir = await mkdtemp(join(tmpdir(), 'pw-tls-redis-'));
      server = spawn(
        'redis-server',
        [
          ...tlsServerArgs(trusted, port),
          '--requirepass',
          PASSWORD,
          '--bind',
          '127.0.0.1',
          '--save',
          '',
          '--appendonly',
          'no',
          '--dir',
          dir,
        ],
        { stdio: 'ignore' },
      );
      url = `rediss://:${PASSWORD}@127.0.0.1:${port}`;
      const ca = await readFile(trusted.caFile);
      await vi.waitFor(
        async () => {
          const client = new Redis(url, { tls: { ca }, lazyConnect: true, retryStrategy: () => null });
          client.on('error', () => {});
          try {
            await client.connect();
            expect(await client.ping()).toBe('PONG');
          } finally {
            client.disconnect();
          }
        },
        { timeout: 10_000, interval: 50 },
      );
    });
    afterAll(async () => {
      await service?.close();
      if (server && server.exitCode === null) {
        const exited = new Promise((resolve) => server.once('exit', resolve));
        server.kill('SIGTERM');
        await exited;
      }
    });

    it('carries a purge to succeeded through a rediss:// URL and the configured CA', async () => {
      const input = testConfigInput(simulator.url, {}, [VIMS_RIG.cdnEntry(simulator.url)]);
      service = startTestService({
        ...input,
        redis: { ...input.redis, url, tls: { caFile: trusted.caFile } },
      });
      const { id } = await service.runtime.producer.enqueuePurge({
        urls: ['https://www.example.com/tls.html'],
      });
      expect((await service.waitForFinish(id)).state).toBe('succeeded');
    });

    it('refuses a server whose certificate the configured CA did not sign', async () => {
      const errors: Error[] = [];
      const connection = createRedisConnection(
        { url, tls: { caFile: stranger.caFile, rejectUnauthorized: true } },
        'producer',
        (error) => errors.push(error),
      );
      try {
        await vi.waitFor(() => expect(errors.length).toBeGreaterThan(0), { timeout: 10_000, interval: 20 });
        expect(errors[0]?.message).toMatch(/certificate/i);
        expect(connection.status).not.toBe('ready');
      } finally {
        connection.disconnect();
      }
    });
  });
});
