import { Redis } from 'ioredis';

export type ConnectionRole = 'worker' | 'producer';

/**
 * BullMQ under native ESM takes ready-made ioredis clients. Workers block on Redis and must wait out an
 * outage (maxRetriesPerRequest: null); producers answer their caller instead of queueing commands forever.
 */
export function createRedisConnection(url: string, role: ConnectionRole): Redis {
  if (role === 'worker') return new Redis(url, { maxRetriesPerRequest: null });
  return new Redis(url, { maxRetriesPerRequest: 2, connectTimeout: 5_000 });
}
