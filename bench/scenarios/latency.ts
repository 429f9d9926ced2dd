import { readBatchTarget } from '../../src/status/pending-targets.ts';
import { atMost, type TargetResult } from '../report.ts';
import { type CoalescingRig, startCoalescingRig } from './coalescing-rig.ts';
import { type BenchContext, paced } from './common.ts';
import { benchUrl, CDN_ID, type CdnKind } from './rig.ts';
import type { SubmitCall } from './submit-log.ts';

export interface LatencyOptions {
  purges: number;
  perSecond: number;
}

/** What a target may add to the window: taking it, one HTTP call, and the timer's own lateness. */
const SLACK_MS = 25;

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: readonly number[], p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] ?? Number.NaN;
}

const sortedNumbers = (values: number[]) => values.filter(Number.isFinite).sort((a, b) => a - b);

/**
 * Where a batch's time went, from its record (take.lua writes when its oldest target was accepted and when
 * it was taken, in the worker's clock) and the simulator's receipt of its call: waiting for the window, and
 * from the take to the CDN (checkpoint, status write, the HTTP call). Matched by the batch's first URL.
 */
async function batchTimings(rig: CoalescingRig, kind: CdnKind, calls: readonly SubmitCall[]) {
  const byFirstUrl = new Map(calls.map((call) => [call.urls[0], call]));
  const prefix = rig.runtime.config.redis.prefix;
  const waited: number[] = [];
  const toCdn: number[] = [];
  const stream = rig.redis.scanStream({ match: `${prefix}:batch:${CDN_ID[kind]}-*`, count: 1000 });
  for await (const keys of stream as AsyncIterable<string[]>) {
    for (const key of keys) {
      const [status, target] = await rig.redis.hmget(key, 'status', 'target');
      if (!status || !target) continue;
      const call = byFirstUrl.get(readBatchTarget(target).urls[0]);
      if (!call) continue; // a warm-up batch
      const { acceptedAt, queuedAt } = JSON.parse(status) as { acceptedAt: number; queuedAt: number };
      waited.push(queuedAt - acceptedAt);
      toCdn.push(call.at - queuedAt);
    }
  }
  return { waited: sortedNumbers(waited), toCdn: sortedNumbers(toCdn) };
}

/**
 * One-URL purges at a steady `perSecond` to both CDNs, workers (warmed up) running in their own process.
 * A purge's latency is from its enqueue call's return (the caller's "accepted") to the simulator receiving
 * the submit that carries its URL (the request log's timestamp; both ends read the same monotonic clock).
 */
export async function latency(ctx: BenchContext, options: LatencyOptions): Promise<TargetResult[]> {
  const rig = await startCoalescingRig(ctx);
  try {
    const { mark } = await rig.warmWorkers();
    const urls = Array.from({ length: options.purges }, (_, index) => benchUrl(index, 3));
    const { returnedAt, achievedPerSecond } = await paced(options.purges, options.perSecond, 64, (index) =>
      rig.runtime.producer.enqueuePurge({ urls: [urls[index] as string] }),
    );
    await rig.waitUntilDrained(options.purges, mark);
    const acceptedAt = new Map(urls.map((url, index) => [url, returnedAt[index] ?? Number.NaN]));
    const results: TargetResult[] = [];
    for (const kind of rig.cdns) {
      const windowMs = rig.runtime.config.cdns.find((cdn) => cdn.id === CDN_ID[kind])?.coalesce.windowMs ?? 0;
      const calls = rig.submits.callsSince(kind, mark);
      const firstSent = new Map<string, number>();
      for (const call of calls) {
        for (const url of call.urls) if (!firstSent.has(url)) firstSent.set(url, call.at);
      }
      const latencies = sortedNumbers(
        urls.map((url) => (firstSent.get(url) ?? Number.NaN) - (acceptedAt.get(url) ?? Number.NaN)),
      );
      const { waited, toCdn } = await batchTimings(rig, kind, calls);
      const p50 = percentile(latencies, 50);
      const p99 = percentile(latencies, 99);
      const limit = windowMs + SLACK_MS;
      const over = `${options.purges} 1-URL purges at ${achievedPerSecond.toFixed(0)}/s, window ${windowMs} ms`;
      const ms = (value: number) => `${value.toFixed(0)} ms`;
      results.push(
        {
          id: `latency-p50-${kind}`,
          label: `latency: ${kind.toUpperCase()} accepted → submit p50`,
          figure: ms(p50),
          value: p50,
          target: '—',
          detail: `${over}; ${calls.length} calls; min ${ms(latencies[0] ?? Number.NaN)}`,
        },
        {
          id: `latency-p99-${kind}`,
          label: `latency: ${kind.toUpperCase()} accepted → submit p99`,
          figure: ms(p99),
          value: p99,
          target: `<= ${limit} ms`,
          met: atMost(p99, limit),
          detail:
            `max ${ms(latencies.at(-1) ?? Number.NaN)}; per batch, oldest target accepted → taken ` +
            `p50 ${ms(percentile(waited, 50))} p99 ${ms(percentile(waited, 99))}, taken → CDN ` +
            `p50 ${ms(percentile(toCdn, 50))} p99 ${ms(percentile(toCdn, 99))}`,
        },
      );
    }
    return results;
  } finally {
    await rig.close();
  }
}
