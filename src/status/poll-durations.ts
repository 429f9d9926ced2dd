import { readFileSync } from 'node:fs';
import {
  bucketOf,
  countsFromHash,
  DECAY_AT,
  type DurationPrior,
  priorOf,
} from '../pipeline/duration-prior.ts';
import type { DurationLearner } from '../pipeline/poll-plan.ts';
import type { RedisClient } from '../queue/connection.ts';
import { pollDurationsKey } from './keys.ts';

export interface PollDurationsOptions {
  redis: RedisClient;
  prefix: string;
  cdnId: string;
  now?: () => number;
  /** How long a read is used before the next poll reads again (every worker adds to the same hash). */
  refreshMs?: number;
}

/** A CDN no worker polls for this long loses its history, so a CDN removed from the config leaves no key behind. */
const TTL_SECONDS = 30 * 24 * 3600;
const REFRESH_MS = 30_000;

type ScriptedRedis = RedisClient & {
  pollDurationsRecord(key: string, bucket: string, decayAt: string, ttl: string): Promise<number>;
};

/**
 * A CDN's task durations in Redis (status/keys.ts pollDurationsKey), shared by every worker: each adds the
 * tasks it saw end, and reads the whole histogram (at most 64 fields) at most every `refreshMs`, so a poll
 * costs no Redis read of its own. A read that fails keeps the last one (or none): the schedule does without.
 */
export function createPollDurations(options: PollDurationsOptions): DurationLearner {
  const { redis, prefix, cdnId } = options;
  const now = options.now ?? Date.now;
  const refreshMs = options.refreshMs ?? REFRESH_MS;
  const client = redis as ScriptedRedis;
  if (typeof client.pollDurationsRecord !== 'function') {
    const lua = readFileSync(new URL('./poll-durations.lua', import.meta.url), 'utf8');
    redis.defineCommand('pollDurationsRecord', { numberOfKeys: 1, lua });
  }
  const key = pollDurationsKey(prefix, cdnId);
  let cached: { prior: DurationPrior; at: number } | undefined;
  let reading: Promise<DurationPrior | undefined> | undefined;

  async function read(): Promise<DurationPrior | undefined> {
    try {
      const prior = priorOf(countsFromHash(await redis.hgetall(key)));
      cached = { prior, at: now() };
      return prior;
    } catch {
      return cached?.prior;
    } finally {
      reading = undefined;
    }
  }

  return {
    prior() {
      if (cached && now() - cached.at < refreshMs) return Promise.resolve(cached.prior);
      // One read at a time per process, however many polls ask at once.
      reading ??= read();
      return reading;
    },
    async record(durationMs) {
      await client.pollDurationsRecord(
        key,
        String(bucketOf(durationMs)),
        String(DECAY_AT),
        String(TTL_SECONDS),
      );
    },
  };
}
