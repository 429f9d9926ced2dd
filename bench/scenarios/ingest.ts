import { type BenchContext, inLanes, type Measurements, startStretch } from './common.ts';
import { benchUrl, startRig } from './rig.ts';

/** URLs of the large purge: the size a CMS sends when a section page and its listings change together. */
const LARGE_PURGE_URLS = 100;
/** Enqueueing is cheap; N purges alone would be measured over a stretch too short to mean much. */
const SMALL_PURGES_PER_N = 4;

/**
 * Enqueue only, no workers: what a producer (API, webhook, CLI) pays per purge, for one URL and for a
 * hundred. Both go to VIMS alone so the numbers are not capped by QUANTIL's daily quota.
 */
export async function ingest(ctx: BenchContext): Promise<Measurements> {
  const rig = await startRig(ctx, ['vims'], 8);
  try {
    const { producer } = rig.runtime;
    const smallCount = ctx.n * SMALL_PURGES_PER_N;
    const smallStretch = startStretch(ctx);
    await inLanes(smallCount, 8, (index) => producer.enqueuePurge({ urls: [benchUrl(index)] }));
    const small = smallStretch.finish(smallCount);

    // Fewer large purges: each carries 100× the URLs, and the run must stay short.
    const largeCount = Math.max(20, Math.ceil(ctx.n / 5));
    const largeStretch = startStretch(ctx);
    await inLanes(largeCount, 8, (index) =>
      producer.enqueuePurge({
        urls: Array.from({ length: LARGE_PURGE_URLS }, (_, item) =>
          benchUrl(index * LARGE_PURGE_URLS + item, 1),
        ),
      }),
    );
    const large = largeStretch.finish(largeCount);
    return { 'ingest-1': small, 'ingest-100': large };
  } finally {
    await rig.close();
  }
}
