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
 * Waits on Redis, not on time: done when the queues hold `expected` completed jobs and nothing else is left
 * to run (no job waiting, delayed or active): a pipeline's flushes that found nothing to take complete too,
 * and must not end the stretch before the last batch has. A failed job means the scenario is broken (the
 * simulator never fails here), so it stops the bench instead of skewing a number.
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
    let left = 0;
    for (const queue of queues) {
      commands += 1;
      const counts = await queue.getJobCounts(
        'completed',
        'failed',
        'active',
        'wait',
        'delayed',
        'prioritized',
      );
      completed += counts.completed ?? 0;
      failed += counts.failed ?? 0;
      left += (counts.active ?? 0) + (counts.wait ?? 0) + (counts.delayed ?? 0) + (counts.prioritized ?? 0);
    }
    if (failed > 0) throw new Error(`${failed} job(s) failed: ${await firstFailure(queues)}`);
    if (completed >= expected && left === 0) return commands;
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

/**
 * Milliseconds since the epoch like Date.now(), but monotonic and sub-millisecond: what a latency is measured
 * with on both ends (the bench's simulator stamps its request log with it too).
 */
export function wallClock(): number {
  return performance.timeOrigin + performance.now();
}

/** Waits on a condition (checked every 10 ms), never on a guessed time; gives up after `timeoutMs`. */
export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  describe: () => string,
): Promise<void> {
  const giveUpAt = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > giveUpAt) throw new Error(`gave up after ${timeoutMs} ms: ${describe()}`);
    await sleep(10);
  }
}

/**
 * Starts `count` calls at `perSecond`, open loop: call i is due at i / perSecond from the start, whatever
 * the earlier ones take (at most `maxInFlight` at once; behind schedule, due calls start as slots free up).
 * Resolves with when each call returned (wallClock()) and the rate actually achieved.
 */
export async function paced(
  count: number,
  perSecond: number,
  maxInFlight: number,
  call: (index: number) => Promise<unknown>,
): Promise<{ returnedAt: number[]; achievedPerSecond: number }> {
  const returnedAt = new Array<number>(count).fill(0);
  const startedAt = performance.now();
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  for (let index = 0; index < count; index++) {
    const dueAt = startedAt + (index * 1000) / perSecond;
    const ahead = dueAt - performance.now();
    // Timers fire late by a millisecond or so: waking a little early and starting every call that is due
    // keeps the average rate on schedule.
    if (ahead >= 1) await sleep(Math.floor(ahead));
    while (inFlight.size >= maxInFlight) await Promise.race(inFlight);
    if (failure !== undefined) break;
    const running: Promise<void> = call(index).then(
      () => {
        returnedAt[index] = wallClock();
        inFlight.delete(running);
      },
      (error: unknown) => {
        failure ??= error;
        inFlight.delete(running);
      },
    );
    inFlight.add(running);
  }
  await Promise.all(inFlight);
  if (failure !== undefined) throw failure;
  // From the first acceptance to the last: the rate the calls were accepted at (n calls span n - 1 gaps).
  const first = returnedAt.reduce((earliest, at) => Math.min(earliest, at), Number.POSITIVE_INFINITY);
  const last = returnedAt.reduce((latest, at) => Math.max(latest, at), 0);
  const achievedPerSecond = count > 1 ? ((count - 1) * 1000) / (last - first) : Number.NaN;
  return { returnedAt, achievedPerSecond };
}
