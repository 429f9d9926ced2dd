import type { Redis } from 'ioredis';

/**
 * Everything a Redis server holds, to show something wrote nothing: meant for a server of the test's own
 * (spawnRedisServer), where every key and every write is the test's.
 */
export interface RedisSnapshot {
  dbsize: number;
  /** Redis's count of writes since its last save: every write command bumps it, even one that rewrites a value as it was. */
  writes: number;
  /** Each key's serialized value (DUMP, byte for byte) and whether it has a TTL. */
  keys: Record<string, { dump: string; expires: boolean }>;
}

/**
 * Waits out keys about to expire (a closed worker's locks and stalled-check marks live a second or so), so
 * two snapshots around an action differ only by what the action did. Keys that live longer are kept.
 */
export async function settled(redis: Redis, withinMs = 10_000, timeoutMs = 15_000): Promise<void> {
  const giveUpAt = Date.now() + timeoutMs;
  for (;;) {
    const names = await redis.keys('*');
    const ttls = await Promise.all(names.map((name) => redis.pttl(name)));
    const soonest = Math.min(...ttls.filter((ttl) => ttl >= 0 && ttl <= withinMs));
    // DBSIZE still counts a key past its TTL until Redis's expiry cycle removes it; KEYS already skips it.
    const unreaped = (await redis.dbsize()) > names.length;
    if (!Number.isFinite(soonest) && !unreaped) return;
    if (Date.now() > giveUpAt) throw new Error(`keys still expiring after ${timeoutMs} ms`);
    // Nothing to wait on but the clock: Redis expires them on its own, in cycles of 100 ms.
    await new Promise((resolve) => setTimeout(resolve, Number.isFinite(soonest) ? soonest + 20 : 100));
  }
}

export async function snapshot(redis: Redis): Promise<RedisSnapshot> {
  const info = await redis.info('persistence');
  const writes = Number(/rdb_changes_since_last_save:(\d+)/.exec(info)?.[1]);
  if (!Number.isFinite(writes)) throw new Error('INFO persistence has no rdb_changes_since_last_save');
  const names = (await redis.keys('*')).sort();
  const keys: RedisSnapshot['keys'] = {};
  for (const name of names) {
    const [dump, ttl] = await Promise.all([redis.dumpBuffer(name), redis.pttl(name)]);
    keys[name] = { dump: dump?.toString('hex') ?? '(gone)', expires: ttl >= 0 };
  }
  return { dbsize: await redis.dbsize(), writes, keys };
}
