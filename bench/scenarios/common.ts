import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Queue } from 'bullmq';

export interface BenchContext {
  redisUrl: string;
  /** Purges (or bare jobs) per scenario run. */
  n: number;
  /** Redis commands this process has sent so far. */
  commandsSent: () => number;
}

/** One measured stretch: a rate, how many items it was measured over, and Redis commands per item. */
export interface Measurement {
  value: number;
  items: number;
  /**
   * Unlike the rate, this does not move with machine load: it says whether a change in the ratio comes
   * from doing more round trips or from each one getting slower.
   */
  commandsPerItem: number;
}

/** One scenario run's measurements, keyed by result row id. */
export type Measurements = Record<string, Measurement>;

/** Fresh per run, hash-tagged like production, so runs never see each other's jobs or records. */
export function uniquePrefix(): string {
  return `{bench-${randomBytes(4).toString('hex')}}`;
}

export interface Stretch {
  /** Ends the stretch; `ownCommands` are the bench's own calls inside it (completion polls), not counted. */
  finish(items: number, ownCommands?: number): Measurement;
}

/** Starts timing a stretch of work and counting the Redis commands sent during it. */
export function startStretch(ctx: BenchContext): Stretch {
  const commandsBefore = ctx.commandsSent();
  const startedAt = performance.now();
  return {
    finish(items, ownCommands = 0) {
      const seconds = (performance.now() - startedAt) / 1000;
      const commands = ctx.commandsSent() - commandsBefore - ownCommands;
      return { value: items / seconds, items, commandsPerItem: commands / items };
    },
  };
}

/**
 * Runs `count` calls with at most `lanes` in flight, like that many API requests arriving together;
 * strictly one at a time would measure round-trip latency instead of throughput.
 */
export async function inLanes(count: number, lanes: number, call: (index: number) => Promise<unknown>) {
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const index = next++;
      await call(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(lanes, count) }, lane));
}

/**
 * Waits on Redis, not on time: done when the queues hold `expected` completed jobs. A failed job means the
 * scenario is broken (the simulator never fails here), so it stops the bench instead of skewing a number.
 * Returns the Redis commands it issued (one script call per queue per look).
 */
export async function waitForCompleted(
  queues: readonly Queue[],
  expected: number,
  timeoutMs = 60_000,
): Promise<number> {
  const giveUpAt = performance.now() + timeoutMs;
  let commands = 0;
  for (;;) {
    let completed = 0;
    let failed = 0;
    for (const queue of queues) {
      commands += 1;
      const counts = await queue.getJobCounts('completed', 'failed');
      completed += counts.completed ?? 0;
      failed += counts.failed ?? 0;
    }
    if (failed > 0) throw new Error(`${failed} job(s) failed: ${await firstFailure(queues)}`);
    if (completed >= expected) return commands;
    if (performance.now() > giveUpAt) {
      throw new Error(`only ${completed}/${expected} jobs completed within ${timeoutMs} ms`);
    }
    // Short enough to be negligible against runs of a second or more, long enough not to load Redis.
    await sleep(5);
  }
}

async function firstFailure(queues: readonly Queue[]): Promise<string> {
  for (const queue of queues) {
    const [job] = await queue.getFailed(0, 0);
    if (job) return `${queue.name} ${job.id}: ${job.failedReason}`;
  }
  return 'unknown';
}
