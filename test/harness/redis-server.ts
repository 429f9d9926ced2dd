import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';

export interface RedisHandle {
  url: string;
  source: 'testcontainers' | 'REDIS_URL' | 'redis-server';
  stop(): Promise<void>;
}

/**
 * A real Redis for the tests, never a mock: testcontainers where a Docker engine answers, else REDIS_URL,
 * else a redis-server of our own on a free loopback port.
 */
export async function acquireRedis(): Promise<RedisHandle> {
  const container = await tryTestcontainers();
  if (container) return container;
  if (process.env.REDIS_URL) {
    await waitForRedis(process.env.REDIS_URL);
    return { url: process.env.REDIS_URL, source: 'REDIS_URL', stop: async () => {} };
  }
  return spawnRedisServer();
}

async function tryTestcontainers(): Promise<RedisHandle | undefined> {
  if (process.env.PURGE_TEST_NO_DOCKER === '1') return undefined;
  const { getContainerRuntimeClient } = await import('testcontainers');
  try {
    await withTimeout(getContainerRuntimeClient(), 5_000);
  } catch {
    return undefined; // no Docker engine here: fall back to a local Redis
  }
  const { RedisContainer } = await import('@testcontainers/redis');
  const container = await new RedisContainer('redis:7-alpine').start();
  return {
    url: container.getConnectionUrl(),
    source: 'testcontainers',
    stop: async () => void (await container.stop()),
  };
}

/** A throwaway redis-server on a free loopback port, without persistence; killed if this process exits. */
export async function spawnRedisServer(): Promise<RedisHandle> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const spawned = new Promise<never>((_, reject) => {
    child.once('error', (error) =>
      reject(new Error(`cannot start redis-server (is it installed?): ${error.message}`)),
    );
  });
  const url = `redis://127.0.0.1:${port}`;
  await Promise.race([waitForRedis(url), spawned]);
  return {
    url,
    source: 'redis-server',
    stop: async () => {
      process.off('exit', killOnExit);
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

export async function waitForRedis(url: string, deadlineMs = 10_000): Promise<void> {
  const giveUpAt = Date.now() + deadlineMs;
  for (;;) {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.ping();
      return;
    } catch (error) {
      if (Date.now() > giveUpAt)
        throw new Error(`Redis at ${url} did not answer: ${(error as Error).message}`);
      await new Promise((resolve) => setTimeout(resolve, 50)); // waiting for a process to start listening
    } finally {
      client.disconnect();
    }
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
