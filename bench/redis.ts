import { Redis } from 'ioredis';
import { spawnRedisServer as spawnTestRedis, waitForRedis } from '../test/harness/redis-server.ts';

export interface RedisHandle {
  url: string;
  source: 'REDIS_URL' | 'redis-server';
  version: string;
  stop(): Promise<void>;
}

/** REDIS_URL when set (a shared Redis: we only touch our own prefixes), else a throwaway redis-server. */
export async function acquireRedis(): Promise<RedisHandle> {
  const fromEnv = process.env.REDIS_URL;
  if (fromEnv) {
    await waitForRedis(fromEnv);
    return { url: fromEnv, source: 'REDIS_URL', version: await redisVersion(fromEnv), stop: async () => {} };
  }
  return spawnRedisServer();
}

async function spawnRedisServer(): Promise<RedisHandle> {
  // No persistence there: a snapshot or AOF fsync landing mid-run would show up as noise in the numbers.
  const server = await spawnTestRedis();
  return {
    url: server.url,
    source: 'redis-server',
    version: await redisVersion(server.url),
    stop: server.stop,
  };
}

function probe(url: string): Redis {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => {});
  return client;
}

async function redisVersion(url: string): Promise<string> {
  const client = probe(url);
  try {
    await client.connect();
    const info = await client.info('server');
    return /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
  } finally {
    client.disconnect();
  }
}

/**
 * Removes every key of one scenario run. On a shared REDIS_URL this is what keeps the bench from leaving
 * thousands of jobs behind; on our own server it keeps memory flat, so later rounds are not measured
 * against a fuller keyspace than earlier ones.
 */
export async function deletePrefix(url: string, prefix: string): Promise<number> {
  const client = new Redis(url, { maxRetriesPerRequest: 2 });
  let deleted = 0;
  try {
    // The prefix is `{bench-<hex>}`: no glob metacharacters, so it matches literally.
    const stream = client.scanStream({ match: `${prefix}*`, count: 1000 });
    for await (const keys of stream as AsyncIterable<string[]>) {
      if (keys.length > 0) deleted += await client.unlink(...keys);
    }
  } finally {
    await client.quit().catch(() => client.disconnect());
  }
  return deleted;
}

type SendCommand = (this: Redis, ...args: unknown[]) => unknown;

/**
 * Counts every command any ioredis client in this process sends (BullMQ's and ours, pipelined ones one
 * by one), from now on. Counted at the client rather than with INFO commandstats because the server also
 * counts the calls made inside Lua scripts, which are Redis work but not round trips, and a shared
 * REDIS_URL would add other clients' commands. A command queued while its client was still connecting is
 * sent, and counted, twice: a handful per worker start, noise next to thousands per run.
 */
export function countSentCommands(): () => number {
  const prototype = Redis.prototype as unknown as { sendCommand: SendCommand };
  const original = prototype.sendCommand;
  let sent = 0;
  prototype.sendCommand = function (this: Redis, ...args: unknown[]) {
    sent += 1;
    return original.apply(this, args);
  };
  return () => sent;
}
