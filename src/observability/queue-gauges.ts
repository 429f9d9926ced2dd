import type { Queue } from 'bullmq';
import type { Registry } from 'prom-client';
import type { RedisClient } from '../queue/connection.ts';
import { createRedisGauges, type GaugeSample } from './read-gauge.ts';

const QUEUE_STATES = ['waiting', 'delayed', 'active', 'failed', 'completed', 'prioritized'] as const;

/**
 * BullMQ scores a delayed job `dueAt * 0x1000 + counter` (the counter orders jobs due in the same
 * millisecond), so a job's due time is its score over 0x1000, and a range of due times a range of scores.
 */
const DELAYED_SCORE_SCALE = 0x1000;

/**
 * How long past its due time a delayed job may sit before it counts as overdue. A live worker takes a due
 * job within milliseconds (it blocks until the earliest one is due), so this only absorbs a busy moment;
 * what stays delayed longer had no worker to take it, or a queue paused on a 429.
 */
export const OVERDUE_GRACE_MS = 30_000;

export interface QueueGaugeDeps {
  registry: Registry;
  queues: () => Iterable<Queue>;
  /** The connection the queues use: the overdue count is one ZCOUNT on each delayed set. */
  redis: RedisClient;
  now: () => number;
}

/**
 * Queue gauges, read from Redis at scrape time: every process that can reach Redis reports the same, so an
 * API process alone still tells that no worker is alive. Each read is bounded (counts, one job, one range;
 * the worker count is BullMQ's CLIENT LIST, once per queue), the queues are read side by side, and a read
 * that fails leaves its gauge out of that scrape only (read-gauge.ts).
 */
export function registerQueueGauges({ registry, queues, redis, now }: QueueGaugeDeps): void {
  const gauges = createRedisGauges(registry);
  const perQueue = async (read: (queue: Queue) => Promise<readonly GaugeSample[]>) =>
    (await Promise.all([...queues()].map(read))).flat();

  gauges.add({
    name: 'purge_worker_queue_jobs',
    help: 'Jobs per queue and state, read from Redis at scrape time',
    labelNames: ['queue', 'state'],
    read: () =>
      perQueue(async (queue) => {
        const counts = await queue.getJobCounts(...QUEUE_STATES);
        return QUEUE_STATES.map((state) => [{ queue: queue.name, state }, counts[state] ?? 0] as const);
      }),
  });
  gauges.add({
    name: 'purge_worker_queue_oldest_waiting_seconds',
    help: 'How long the oldest job ready to run has waited for a worker (0 when none): workers missing or too few',
    labelNames: ['queue'],
    read: () =>
      perQueue(async (queue) => {
        const [oldest] = await queue.getJobs(['wait'], 0, 0, true);
        // A batch job comes back to `wait` for every poll; it has waited since that poll came due
        // (`readyAt`), not since it was enqueued minutes ago.
        const readyAt = Math.max(
          oldest?.timestamp ?? 0,
          (oldest?.data as { readyAt?: number } | undefined)?.readyAt ?? 0,
        );
        return [[{ queue: queue.name }, oldest ? Math.max(0, (now() - readyAt) / 1000) : 0]];
      }),
  });
  gauges.add({
    name: 'purge_worker_queue_workers',
    help: 'BullMQ workers connected to the queue (one per worker process), from Redis CLIENT LIST; absent where Redis does not allow CLIENT LIST',
    labelNames: ['queue'],
    read: () =>
      perQueue(async (queue) => {
        const workers = await queue.getWorkers();
        // Where CLIENT LIST is refused, BullMQ answers one made-up entry with no raw name: unknown, not 1.
        if (workers.some((worker) => worker.rawname === undefined)) return [];
        return [[{ queue: queue.name }, workers.length]];
      }),
  });
  // A batch re-delays itself for every poll, so with no worker its job sits in `delayed`, not `wait`: the
  // oldest-waiting gauge stays 0 while polls pile up past their due time. These two see it.
  gauges.add({
    name: 'purge_worker_queue_overdue_delayed_jobs',
    help: `Delayed jobs (polls, retries, flushes) whose due time passed more than ${OVERDUE_GRACE_MS / 1000} s ago and that no worker has taken`,
    labelNames: ['queue'],
    read: () => {
      const cutoff = (now() - OVERDUE_GRACE_MS) * DELAYED_SCORE_SCALE;
      return perQueue(async (queue) => [
        [{ queue: queue.name }, await redis.zcount(queue.toKey('delayed'), '-inf', `(${cutoff}`)],
      ]);
    },
  });
  gauges.add({
    name: 'purge_worker_queue_oldest_overdue_seconds',
    help: 'How long ago the earliest delayed job came due, while no worker has taken it (0 when none is due)',
    labelNames: ['queue'],
    read: () =>
      perQueue(async (queue) => {
        const [, score] = await redis.zrange(queue.toKey('delayed'), 0, 0, 'WITHSCORES');
        const dueAt =
          score === undefined ? Number.POSITIVE_INFINITY : Math.floor(Number(score) / DELAYED_SCORE_SCALE);
        return [[{ queue: queue.name }, Math.max(0, (now() - dueAt) / 1000)]];
      }),
  });
}
