import { atMost, type TargetResult } from '../report.ts';
import { startCoalescingRig } from './coalescing-rig.ts';
import { type BenchContext, inLanes } from './common.ts';
import { benchUrl } from './rig.ts';

/** URLs per accepted purge: the backlog arrives as section-sized purges, as a CMS re-publish sends them. */
const URLS_PER_PURGE = 100;
const MAX_RSS_GROWTH_BYTES = 50 * 1024 * 1024;

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

/** The V8 heap spaces that grew by a MiB or more, largest first: where a heap's growth went. */
function spacesGrown(before: Record<string, number>, after: Record<string, number>): string {
  const grown = Object.entries(after)
    .map(([name, size]) => [name, size - (before[name] ?? 0)] as const)
    .filter(([, growth]) => growth >= 1024 * 1024)
    .sort((a, b) => b[1] - a[1]);
  return grown.length === 0 ? 'none' : grown.map(([name, growth]) => `${name} +${mib(growth)}`).join(', ');
}

/**
 * `urls` URLs accepted (purges of 100, both CDNs) while no worker runs, as after an outage of every worker;
 * then the worker process starts its workers on it and drains it. Drain time runs from the workers' start
 * to every URL sent to both CDNs and every batch ended; the worker process's RSS is read with its workers
 * stopped before the backlog (after a warm-up) and once it is drained, its peak sampled every 50 ms.
 */
export async function backlog(ctx: BenchContext, urls: number): Promise<TargetResult[]> {
  const rig = await startCoalescingRig(ctx);
  try {
    // Warm, then stopped: the backlog's growth is measured on a process that has run its workers before,
    // so their start-up (JIT, connections, V8's first heap growth) is not counted as the backlog's.
    const { workers } = await rig.warmWorkers();
    const before = await workers.stopWorkers();
    const mark = rig.submits.mark();
    const purges = Math.ceil(urls / URLS_PER_PURGE);
    const acceptStartedAt = performance.now();
    await inLanes(purges, 8, (purge) => {
      const first = purge * URLS_PER_PURGE;
      const size = Math.min(URLS_PER_PURGE, urls - first);
      return rig.runtime.producer.enqueuePurge({
        urls: Array.from({ length: size }, (_, item) => benchUrl(first + item, 5)),
      });
    });
    const acceptSeconds = (performance.now() - acceptStartedAt) / 1000;

    const drainStartedAt = performance.now();
    await workers.start();
    // A slow machine drains a few hundred batches a second: 100,000 URLs are some 2,000 of them per CDN.
    await rig.waitUntilDrained(urls, mark, Math.max(120_000, urls * 5));
    const drainSeconds = (performance.now() - drainStartedAt) / 1000;
    const after = await workers.memory();
    const growth = after.rss - before.rss;
    const calls = rig.cdns.map((kind) => `${kind} ${rig.submits.callsSince(kind, mark).length}`).join(', ');
    return [
      {
        id: 'backlog-drain',
        label: 'backlog: drain time',
        figure: `${drainSeconds.toFixed(1)} s`,
        value: drainSeconds,
        target: '—',
        detail:
          `${urls} URLs (${purges} purges) accepted in ${acceptSeconds.toFixed(1)} s with no worker, to 2 CDNs; ` +
          `${((urls * rig.cdns.length) / drainSeconds).toFixed(0)} URL-submits/s; calls: ${calls}`,
      },
      {
        id: 'backlog-rss',
        label: 'backlog: worker RSS growth over the drain',
        figure: `${growth >= 0 ? '+' : ''}${mib(growth)}`,
        value: growth,
        target: `<= +${mib(MAX_RSS_GROWTH_BYTES)}`,
        met: atMost(growth, MAX_RSS_GROWTH_BYTES),
        detail:
          `worker process RSS ${mib(workers.ready.rss)} cold, ${mib(before.rss)} warm with its workers stopped, ` +
          `${mib(after.rss)} drained ` +
          `(peak ${mib(after.peakRss)}); V8 heap ${mib(before.heapTotal)} → ${mib(after.heapTotal)}, ` +
          `live ${mib(before.heapLive)} → ${mib(after.heapLive)}; external ${mib(before.external)} → ${mib(after.external)}; ` +
          `grown: ${spacesGrown(before.spaces, after.spaces)}`,
      },
    ];
  } finally {
    await rig.close();
  }
}
