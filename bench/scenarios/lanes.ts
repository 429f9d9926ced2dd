import { Redis } from 'ioredis';
import { parseConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { createRuntime } from '../../src/runtime.ts';
import { startSimulator } from '../../src/simulator/server.ts';
import { deletePrefix } from '../redis.ts';
import type { TargetResult } from '../report.ts';
import { type BenchContext, uniquePrefix, waitUntil, wallClock } from './common.ts';
import { BENCH_HOST, BENCH_POLICY, BENCH_WORKER, benchUrl, CDN_ID, QUANTIL_ACCOUNT } from './rig.ts';

export interface LanesOptions {
  /** Bulk URLs queued first. */
  bulkUrls: number;
  /** The CDN's rate limit: calls (submits and polls alike) per second. */
  callsPerSecond: number;
}

const URLS_PER_BULK_PURGE = 100;
/** Calls of the backlog to let go before the urgent purge: the backlog is draining, not waiting to start. */
const CALLS_BEFORE_URGENT = 3;

/**
 * The urgent lane behind a rate limit: `bulkUrls` bulk URLs queued for QUANTIL (100 a call) limited to
 * `callsPerSecond`, then, once the backlog drains, one urgent purge. The next submit the limit lets out must
 * carry it (the figure: which submit after its acceptance did), however many bulk calls wait. Its delay, from
 * its acceptance to the CDN receiving that call, is printed beside the slot: BullMQ's limiter admits
 * `callsPerSecond` calls per fixed 1 s window, polls included, so the wait is the rest of the window the
 * urgent purge arrived in, and a poll may take a slot ahead of it.
 */
export async function lanes(ctx: BenchContext, options: LanesOptions): Promise<TargetResult[]> {
  const simulator = await startSimulator({
    quantil: {
      accounts: [QUANTIL_ACCOUNT],
      taskDurationMs: 0,
      dailyQuota: { files: 1_000_000, dirs: 1_000_000 },
      // The clock the bench stamps acceptance with: its request log and our delay read the same one.
      now: wallClock,
    },
  });
  const prefix = uniquePrefix();
  const config = parseConfig(
    {
      redis: { url: ctx.redisUrl, prefix },
      cdns: [
        {
          id: CDN_ID.quantil,
          provider: 'quantil',
          baseUrl: simulator.url,
          user: QUANTIL_ACCOUNT.user,
          apiKey: QUANTIL_ACCOUNT.apiKey,
          rateLimit: { max: options.callsPerSecond, durationMs: 1_000 },
        },
      ],
      routes: [{ hosts: [BENCH_HOST], cdns: [CDN_ID.quantil] }],
      policy: BENCH_POLICY,
      worker: BENCH_WORKER,
      api: { host: '127.0.0.1', port: 0 },
      metrics: { host: '127.0.0.1', port: 0 },
      log: { level: 'silent' },
    },
    {},
    'bench lanes config',
  );
  const runtime = createRuntime(config, { log: createLogger({ level: 'silent' }) });
  // 5,000 URLs are QUANTIL's whole documented day: the account gets headroom, as in the coalescing rig.
  const redis = new Redis(ctx.redisUrl, { maxRetriesPerRequest: 2 });
  for (const provider of runtime.providers.values()) {
    for (const at of [Date.now(), Date.now() + 86_400_000]) {
      for (const counter of Object.values(runtime.quota.countersFor(provider, at))) {
        await redis.set(counter.key, -1_000_000, 'EX', 2 * 86_400);
      }
    }
  }
  const submits = () => simulator.quantil.requests.filter((request) => request.op === 'submit');
  try {
    for (let first = 0; first < options.bulkUrls; first += URLS_PER_BULK_PURGE) {
      const size = Math.min(URLS_PER_BULK_PURGE, options.bulkUrls - first);
      await runtime.producer.enqueuePurge({
        urls: Array.from({ length: size }, (_, item) => benchUrl(first + item, 7)),
        priority: 'bulk',
      });
    }
    runtime.startWorkers();
    await waitUntil(
      () => submits().length >= CALLS_BEFORE_URGENT,
      60_000,
      () => `${submits().length} of the backlog's first ${CALLS_BEFORE_URGENT} calls made`,
    );
    const urgentUrl = benchUrl(0, 8);
    await runtime.producer.enqueuePurge({ urls: [urgentUrl], priority: 'urgent' });
    const acceptedAt = wallClock();
    const callsBefore = submits().length;
    const carrying = () =>
      simulator.quantil.purges.find((purge) => purge.items.some((item) => item.path === urgentUrl));
    await waitUntil(
      () => carrying() !== undefined,
      60_000,
      () => 'the urgent URL was never submitted',
    );
    const calls = submits();
    const index = calls.findIndex((request) => JSON.stringify(request.body ?? '').includes(urgentUrl));
    const delayMs = (calls[index]?.at ?? Number.NaN) - acceptedAt;
    const slotMs = 1_000 / options.callsPerSecond;
    const backlogCallsAhead = index - callsBefore;
    const position = backlogCallsAhead + 1;
    return [
      {
        id: 'lanes-urgent-position',
        label: 'lanes: urgent behind a rate-limited bulk backlog',
        figure: `${ordinal(position)} submit`,
        value: position,
        target: '1st submit after it',
        met: position === 1,
        detail:
          `${options.bulkUrls} bulk URLs to QUANTIL (${Math.ceil(options.bulkUrls / URLS_PER_BULK_PURGE)} calls) limited to ` +
          `${options.callsPerSecond} calls a 1 s window (BullMQ's limiter: a slot of ${slotMs.toFixed(0)} ms, polls included); ` +
          `one urgent purge accepted after ${callsBefore} of them went into the next submit the limit let out, ` +
          `${delayMs.toFixed(0)} ms after its acceptance (at most the window's rest, and a poll's slot, ahead of it)`,
      },
    ];
  } finally {
    await runtime.close();
    await simulator.close();
    await redis.quit().catch(() => redis.disconnect());
    await deletePrefix(ctx.redisUrl, prefix);
  }
}

function ordinal(n: number): string {
  return n === 1 ? '1st' : n === 2 ? '2nd' : n === 3 ? '3rd' : `${n}th`;
}
