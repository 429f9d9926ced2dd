import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

export interface SpawnedRedis extends RedisHandle {
  port: number;
  /** SIGSTOP: the process keeps its sockets open but answers nothing (a hung server, a stalled replica). */
  pause(): void;
  /** SIGCONT: it carries on where it stopped. */
  resume(): void;
}

/**
 * A throwaway redis-server on a free loopback port, without persistence; killed if this process exits.
 * `args` are added to its command line (`['--replicaof', '127.0.0.1', '6379']`).
 */
export async function spawnRedisServer(
  args: readonly string[] = [],
  /** A port of its own choosing by default; a given one brings a stopped server back where it was. */
  port?: number,
): Promise<SpawnedRedis> {
  port ??= await freePort();
  // A directory of its own: a replica writes the snapshot of its first sync there, not into the cwd.
  const dir = mkdtempSync(join(tmpdir(), 'pw-redis-'));
  const child: ChildProcess = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      ...args,
    ],
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
  const signal = (name: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(name);
  };
  return {
    url,
    port,
    source: 'redis-server',
    pause: () => signal('SIGSTOP'),
    resume: () => signal('SIGCONT'),
    stop: async () => {
      process.off('exit', killOnExit);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      // A stopped process would hold SIGTERM until it is continued.
      child.kill('SIGCONT');
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A redis-server replicating `primary`; resolves once the primary reports the link online. */
export async function spawnReplica(primary: SpawnedRedis): Promise<SpawnedRedis> {
  const client = new Redis(primary.url, { maxRetriesPerRequest: 1 });
  try {
    // Redis otherwise waits 5 s for more replicas to share the first (diskless) sync.
    await client.config('SET', 'repl-diskless-sync-delay', '0');
    const replica = await spawnRedisServer(['--replicaof', '127.0.0.1', String(primary.port)]);
    const online = new RegExp(`slave\\d+:ip=127\\.0\\.0\\.1,port=${replica.port},state=online`);
    for (let tries = 0; ; tries++) {
      const info = await client.info('replication');
      if (online.test(info)) return replica;
      if (tries > 200) {
        await replica.stop();
        throw new Error(`replica on ${replica.port} did not come online:\n${info}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50)); // the first sync; nothing to wait on
    }
  } finally {
    client.disconnect();
  }
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
