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
  /** How long a duration waits for others to share its write (one call for all a busy worker saw end). */
  writeAfterMs?: number;
}

/** A CDN no worker polls for this long loses its history, so a CDN removed from the config leaves no key behind. */
const TTL_SECONDS = 30 * 24 * 3600;
const REFRESH_MS = 30_000;
const WRITE_AFTER_MS = 250;
/** Durations one write carries at most: past it, they are written at once. */
const MAX_PER_WRITE = 500;

type ScriptedRedis = RedisClient & {
  pollDurationsRecord(key: string, decayAt: string, ttl: string, ...buckets: string[]): Promise<number>;
};

/**
 * A CDN's task durations in Redis (status/keys.ts pollDurationsKey), shared by every worker: each adds the
 * tasks it saw end, and reads the whole histogram (at most 64 fields) at most every `refreshMs`, so a poll
 * costs no Redis read of its own. A read that fails keeps the last one (or none): the schedule does without.
 * Durations are written together, `writeAfterMs` after the first of them: a worker ending a thousand batches
 * a second writes four times a second, not a thousand (reads are cached for far longer anyway). Crash window:
 * killed before the write, those durations are not learnt; the schedule learns from the next ones.
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
  const writeAfterMs = options.writeAfterMs ?? WRITE_AFTER_MS;
  /** The write durations ended now join: its buckets in the order their tasks ended, sent when `go` is called. */
  let next: { buckets: string[]; go: () => void; done: Promise<void> } | undefined;
  const writes = new Set<Promise<void>>();

  function startWrite() {
    let go = () => {};
    const due = new Promise<void>((resolve) => {
      go = resolve;
    });
    const timer = setTimeout(go, writeAfterMs);
    // A worker with nothing else to do is not kept alive for it.
    timer.unref();
    const pending = { buckets: [] as string[], go, done: Promise.resolve() };
    pending.done = due.then(async () => {
      if (next === pending) next = undefined;
      clearTimeout(timer);
      await client.pollDurationsRecord(key, String(DECAY_AT), String(TTL_SECONDS), ...pending.buckets);
    });
    writes.add(pending.done);
    const forget = () => writes.delete(pending.done);
    pending.done.then(forget, forget);
    return pending;
  }

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
    record(durationMs) {
      next ??= startWrite();
      const pending = next;
      pending.buckets.push(String(bucketOf(durationMs)));
      if (pending.buckets.length >= MAX_PER_WRITE) pending.go();
      return pending.done;
    },
    async flush() {
      next?.go();
      await Promise.allSettled([...writes]);
    },
  };
}
