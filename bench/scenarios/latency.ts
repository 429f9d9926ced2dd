import { readBatchTarget } from '../../src/status/pending-targets.ts';
import { atMost, type TargetResult } from '../report.ts';
import { type CoalescingRig, startCoalescingRig } from './coalescing-rig.ts';
import { type BenchContext, paced } from './common.ts';
import { benchUrl, CDN_ID, type CdnKind } from './rig.ts';
import type { SubmitCall } from './submit-log.ts';

export interface LatencyOptions {
  purges: number;
  perSecond: number;
  /** Rounds of `purges` each; the figures are the median round's. */
  rounds: number;
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

interface KindRound {
  p50: number;
  p99: number;
  min: number;
  max: number;
  calls: number;
  waited: number[];
  toCdn: number[];
}

interface Round {
  achievedPerSecond: number;
  byKind: Map<CdnKind, KindRound>;
}

/** URL variants of the rounds (bench/scenarios/rig.ts benchUrl): every round sends URLs no round sent. */
const FIRST_ROUND_VARIANT = 30;

/** One round: `purges` new one-URL purges at `perSecond`, drained; each CDN's latencies and batch timings. */
async function oneRound(rig: CoalescingRig, options: LatencyOptions, round: number): Promise<Round> {
  const mark = rig.submits.mark();
  const urls = Array.from({ length: options.purges }, (_, index) =>
    benchUrl(index, FIRST_ROUND_VARIANT + round),
  );
  const { returnedAt, achievedPerSecond } = await paced(options.purges, options.perSecond, 64, (index) =>
    rig.runtime.producer.enqueuePurge({ urls: [urls[index] as string] }),
  );
  await rig.waitUntilDrained(options.purges, mark);
  const acceptedAt = new Map(urls.map((url, index) => [url, returnedAt[index] ?? Number.NaN]));
  const byKind = new Map<CdnKind, KindRound>();
  for (const kind of rig.cdns) {
    const calls = rig.submits.callsSince(kind, mark);
    const firstSent = new Map<string, number>();
    for (const call of calls) {
      for (const url of call.urls) if (!firstSent.has(url)) firstSent.set(url, call.at);
    }
    const latencies = sortedNumbers(
      urls.map((url) => (firstSent.get(url) ?? Number.NaN) - (acceptedAt.get(url) ?? Number.NaN)),
    );
    const { waited, toCdn } = await batchTimings(rig, kind, calls);
    byKind.set(kind, {
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      min: latencies[0] ?? Number.NaN,
      max: latencies.at(-1) ?? Number.NaN,
      calls: calls.length,
      waited,
      toCdn,
    });
  }
  return { achievedPerSecond, byKind };
}

/**
 * One-URL purges at a steady `perSecond` to both CDNs, workers (warmed up) running in their own process, in
 * `rounds` rounds. A purge's latency is from its enqueue call's return (the caller's "accepted") to the
 * simulator receiving the submit that carries its URL (the request log's timestamp; both ends read the same
 * monotonic clock). A round's p99 rests on its one or two slowest calls (a round makes some 25 per CDN, each
 * carrying a hundred URLs), so one scheduling hiccup of this shared machine moves it by tens of
 * milliseconds: each CDN's figures are those of its median round by p99, every round's p99 beside them.
 */
export async function latency(ctx: BenchContext, options: LatencyOptions): Promise<TargetResult[]> {
  const rig = await startCoalescingRig(ctx);
  try {
    await rig.warmWorkers();
    const rounds: Round[] = [];
    for (let round = 0; round < options.rounds; round++) rounds.push(await oneRound(rig, options, round));
    const results: TargetResult[] = [];
    const ms = (value: number) => `${value.toFixed(0)} ms`;
    for (const kind of rig.cdns) {
      const windowMs = rig.runtime.config.cdns.find((cdn) => cdn.id === CDN_ID[kind])?.coalesce.windowMs ?? 0;
      const ofKind = rounds.map((round) => ({ round, figures: round.byKind.get(kind) as KindRound }));
      const byP99 = [...ofKind].sort((a, b) => a.figures.p99 - b.figures.p99);
      const median = byP99[Math.floor((byP99.length - 1) / 2)] as (typeof ofKind)[number];
      const { p50, p99, min, max, calls, waited, toCdn } = median.figures;
      const limit = windowMs + SLACK_MS;
      const over =
        `${options.purges} 1-URL purges at ${median.round.achievedPerSecond.toFixed(0)}/s, window ${windowMs} ms, ` +
        `median of ${rounds.length} rounds by p99`;
      results.push(
        {
          id: `latency-p50-${kind}`,
          label: `latency: ${kind.toUpperCase()} accepted → submit p50`,
          figure: ms(p50),
          value: p50,
          target: '—',
          detail: `${over}; ${calls} calls; min ${ms(min)}`,
        },
        {
          id: `latency-p99-${kind}`,
          label: `latency: ${kind.toUpperCase()} accepted → submit p99`,
          figure: ms(p99),
          value: p99,
          target: `<= ${limit} ms`,
          met: atMost(p99, limit),
          detail:
            `rounds' p99 ${ofKind.map(({ figures }) => ms(figures.p99)).join(', ')}; max ${ms(max)}; ` +
            `per batch, oldest target accepted → taken p50 ${ms(percentile(waited, 50))} ` +
            `p99 ${ms(percentile(waited, 99))}, taken → CDN p50 ${ms(percentile(toCdn, 50))} ` +
            `p99 ${ms(percentile(toCdn, 99))}`,
        },
      );
    }
    return results;
  } finally {
    await rig.close();
  }
}
