import { atMost, type TargetResult } from '../report.ts';
import { startCoalescingRig } from './coalescing-rig.ts';
import { type BenchContext, paced } from './common.ts';
import { benchUrl, CDN_ID } from './rig.ts';

export interface BurstOptions {
  purges: number;
  perSecond: number;
}

/** Target of calls made ÷ calls needed: half again as many calls as a perfect packing, at most. */
const MAX_CALL_RATIO = 1.5;
/** What "a burst" means here: a producer accepting slower than this is reported as not a burst. */
const MIN_BURST_RATE = 1_000;

/**
 * A publish storm: `purges` one-URL purges accepted at `perSecond` (open loop, like CMS webhooks arriving),
 * routed to both CDNs, with the workers (warmed up) running in a process of their own. Counts the submits each CDN
 * received (from the simulator's request log) against the fewest calls that could carry the same URLs:
 * the provider's own split of the whole list (QUANTIL: 100 per call; VIMS: as many as fit one pattern).
 */
export async function burst(ctx: BenchContext, options: BurstOptions): Promise<TargetResult[]> {
  const rig = await startCoalescingRig(ctx);
  try {
    const { mark } = await rig.warmWorkers();
    const urls = Array.from({ length: options.purges }, (_, index) => benchUrl(index, 2));
    const { achievedPerSecond } = await paced(options.purges, options.perSecond, 64, (index) =>
      rig.runtime.producer.enqueuePurge({ urls: [urls[index] as string] }),
    );
    await rig.waitUntilDrained(options.purges, mark);
    const rate = `${achievedPerSecond.toFixed(0)}/s`;
    const slow = achievedPerSecond < MIN_BURST_RATE ? ` (below the ${MIN_BURST_RATE}/s asked)` : '';
    return rig.cdns.map((kind) => {
      const provider = rig.runtime.providers.get(CDN_ID[kind]);
      if (!provider) throw new Error(`no provider for ${kind}`);
      const ideal = provider.toBatches({ urls, dirs: [] });
      const perCall = Math.max(...ideal.map((batch) => batch.urls.length));
      const calls = rig.submits.callsSince(kind, mark);
      const ratio = calls.length / ideal.length;
      const sizes = calls.map((call) => call.urls.length).sort((a, b) => a - b);
      const largest = sizes.at(-1) ?? 0;
      const median = sizes[Math.floor(sizes.length / 2)] ?? 0;
      return {
        id: `burst-${kind}`,
        label: `burst: ${kind.toUpperCase()} submits ÷ fewest possible`,
        figure: `${ratio.toFixed(2)}×`,
        value: ratio,
        target: `<= ${MAX_CALL_RATIO}×`,
        met: atMost(ratio, MAX_CALL_RATIO),
        detail:
          `${calls.length} calls for ${options.purges} 1-URL purges accepted at ${rate}${slow}; fewest ` +
          `${ideal.length} (${perCall} URLs per call); calls sent: largest ${largest}, median ${median} URLs`,
      };
    });
  } finally {
    await rig.close();
  }
}
