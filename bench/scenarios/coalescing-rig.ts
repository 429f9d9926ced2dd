import type { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { parseConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { createRuntime, type Runtime } from '../../src/runtime.ts';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { deletePrefix } from '../redis.ts';
import { type BenchContext, paced, uniquePrefix, waitUntil, wallClock } from './common.ts';
import { type ForkedWorkers, forkWorkers } from './forked-workers.ts';
import { benchConfigInput, benchUrl, type CdnKind, QUANTIL_ACCOUNT, VIMS_TOKEN } from './rig.ts';
import { recordSubmits, type SubmitLog, type SubmitMark } from './submit-log.ts';

/** Small but not instant: a batch polls a few times (BENCH_POLICY polls every 1–5 ms) before it ends. */
const TASK_DURATION_MS = 10;

export interface CoalescingRigOptions {
  cdns?: readonly CdnKind[];
  /** How long each CDN's simulated tasks run (default 10 ms). */
  taskDurationMs?: Partial<Record<CdnKind, number>>;
  /**
   * Top-level sections of the config file that replace the rig's own, whole (the soak's record TTL, job
   * retention and poll policy): the forked workers parse the same object.
   */
  config?: Record<string, unknown>;
}

/**
 * What the bench's QUANTIL account may purge today beyond the documented 5,000 file URLs. A storm of 10,000
 * different URLs is over that quota whether or not it is coalesced (coalescing saves calls, not URLs), and
 * the ledger would refuse the second half with QUOTA_EXCEEDED; these scenarios measure calls and latency,
 * so the rig's counters start this far below zero (on a prefix of its own, thrown away afterwards).
 */
const QUOTA_HEADROOM = 10_000_000;
const DAY_MS = 86_400_000;

/** One second of one-URL purges at 1,000/s: what a worker process drains before it is measured. */
const WARM_UP_PURGES = 1_000;
/** The URL variant warm-up purges use: no scenario's URLs. */
const WARM_UP_URLS = 99;

export interface CoalescingRig {
  readonly cdns: readonly CdnKind[];
  /** The producer side only (as an API process): its workers never start in this process. */
  runtime: Runtime;
  simulator: Simulator;
  submits: SubmitLog;
  /** The rig's own Redis client, for INFO and setup. */
  redis: Redis;
  queues: Queue[];
  /** No job left to run on any CDN queue (waiting, delayed, active, prioritized); a failed job throws. */
  idle(): Promise<boolean>;
  /**
   * The rig's workers, with the same config, in a process of their own (closed with the rig), started and
   * warmed up: they have drained a second of one-URL purges, so neither their JIT nor their first
   * connections land in a scenario's figures. The warm-up's calls come before the mark returned.
   */
  warmWorkers(): Promise<{ workers: ForkedWorkers; mark: SubmitMark }>;
  /**
   * Done when every CDN has been sent `newUrls` URLs it had not been sent before `since`, and its queue
   * holds no job still to run (waiting, delayed: a batch still polling, active). A failed job stops the bench.
   */
  waitUntilDrained(newUrls: number, since: SubmitMark, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * Coalescing as shipped (window 250 ms, QUANTIL's 100 items per call, VIMS's 4,000-character pattern) to
 * the loopback simulator, both CDNs on its one port, routed for every bench URL.
 */
export async function startCoalescingRig(
  ctx: BenchContext,
  options: CoalescingRigOptions = {},
): Promise<CoalescingRig> {
  const cdns = options.cdns ?? ['vims', 'quantil'];
  const simulator = await startSimulator({
    vims: {
      tokens: [VIMS_TOKEN],
      taskDurationMs: options.taskDurationMs?.vims ?? TASK_DURATION_MS,
      now: wallClock,
    },
    quantil: {
      accounts: [QUANTIL_ACCOUNT],
      taskDurationMs: options.taskDurationMs?.quantil ?? TASK_DURATION_MS,
      now: wallClock,
      dailyQuota: { files: QUOTA_HEADROOM, dirs: QUOTA_HEADROOM },
    },
  });
  const submits = recordSubmits(simulator);
  const prefix = uniquePrefix();
  // The default per-CDN concurrency (8), as a deployment would run it.
  const configInput = {
    ...benchConfigInput(ctx.redisUrl, prefix, simulator.url, cdns, 8, 'default'),
    ...options.config,
  };
  const config = parseConfig(configInput, {}, 'bench config');
  const runtime = createRuntime(config, { log: createLogger({ level: 'silent' }) });
  const redis = new Redis(ctx.redisUrl, { maxRetriesPerRequest: 2 });
  const queues = [...runtime.producer.queues.values()];
  const forked: ForkedWorkers[] = [];

  const now = Date.now();
  for (const provider of runtime.providers.values()) {
    // Today's and tomorrow's counters: a run that crosses midnight UTC must not hit the quota halfway.
    for (const at of [now, now + DAY_MS]) {
      for (const counter of Object.values(runtime.quota.countersFor(provider, at))) {
        await redis.set(counter.key, -QUOTA_HEADROOM, 'EX', 2 * 86_400);
      }
    }
  }

  async function idle(): Promise<boolean> {
    for (const queue of queues) {
      const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'failed');
      if ((counts.failed ?? 0) > 0) {
        const [job] = await queue.getFailed(0, 0);
        throw new Error(`${queue.name}: job ${job?.id} failed: ${job?.failedReason}`);
      }
      const left =
        (counts.waiting ?? 0) + (counts.active ?? 0) + (counts.delayed ?? 0) + (counts.prioritized ?? 0);
      if (left > 0) return false;
    }
    return true;
  }

  async function waitUntilDrained(newUrls: number, since: SubmitMark, timeoutMs = 120_000) {
    const sent = () =>
      cdns.map((kind) => `${kind} ${submits.newUrlsSince(kind, since)}/${newUrls}`).join(', ');
    await waitUntil(
      async () => {
        submits.check();
        if (cdns.some((kind) => submits.newUrlsSince(kind, since) < newUrls)) return false;
        return idle();
      },
      timeoutMs,
      () => `URLs sent: ${sent()}`,
    );
  }

  return {
    cdns,
    runtime,
    simulator,
    submits,
    redis,
    queues,
    idle,
    async warmWorkers() {
      const workers = await forkWorkers(configInput);
      forked.push(workers);
      await workers.start();
      const before = submits.mark();
      await paced(WARM_UP_PURGES, WARM_UP_PURGES, 64, (index) =>
        runtime.producer.enqueuePurge({ urls: [benchUrl(index, WARM_UP_URLS)] }),
      );
      await waitUntilDrained(WARM_UP_PURGES, before);
      return { workers, mark: submits.mark() };
    },
    waitUntilDrained,
    async close() {
      await Promise.all(forked.map((workers) => workers.stop()));
      await runtime.close();
      await simulator.close();
      await redis.quit().catch(() => redis.disconnect());
      await deletePrefix(ctx.redisUrl, prefix);
    },
  };
}
