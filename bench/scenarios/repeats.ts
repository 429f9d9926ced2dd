import { atMost, type TargetResult } from '../report.ts';
import { type CoalescingRig, startCoalescingRig } from './coalescing-rig.ts';
import { type BenchContext, paced } from './common.ts';
import { benchUrl, type CdnKind } from './rig.ts';

/** The article's URLs, and how often it is published: both from the scenario. */
const URLS = 100;
const PUBLISHES = 50;
/** Each URL sent once per CDN, however often it was asked for while it waited. */
const TARGET = 1;

interface Variant {
  id: string;
  label: string;
  /** Publishes per second; Infinity: back to back, 8 in flight. */
  perSecond: number;
}

const VARIANTS: Variant[] = [
  { id: 'repeats', label: 'repeats: back to back', perSecond: Number.POSITIVE_INFINITY },
  { id: 'repeats-spread', label: 'repeats: spread over 1 s', perSecond: PUBLISHES },
];

/**
 * The same 100 URLs published 50 times within a second (each publish one purge of all 100, as a CMS sends an
 * article's pages), with the workers running. Submits per URL per CDN: the URLs each CDN was sent, ÷ 100.
 * Twice: back to back (as fast as the producer takes them, 8 in flight) and one every 20 ms (four windows).
 */
export async function repeats(ctx: BenchContext): Promise<TargetResult[]> {
  const rig = await startCoalescingRig(ctx);
  try {
    await rig.warmWorkers();
    const results: TargetResult[] = [];
    for (const [index, variant] of VARIANTS.entries()) {
      results.push(...(await publishRepeatedly(rig, variant, index)));
    }
    return results;
  } finally {
    await rig.close();
  }
}

async function publishRepeatedly(rig: CoalescingRig, variant: Variant, urlSet: number) {
  const urls = Array.from({ length: URLS }, (_, index) => benchUrl(index, 10 + urlSet));
  const mark = rig.submits.mark();
  const startedAt = performance.now();
  // Back to back is an open loop with every publish due at once: 8 in flight, the next as one returns.
  const rate = Number.isFinite(variant.perSecond) ? variant.perSecond : 1_000_000;
  await paced(PUBLISHES, rate, 8, () => rig.runtime.producer.enqueuePurge({ urls }));
  const tookMs = performance.now() - startedAt;
  await rig.waitUntilDrained(URLS, mark);
  return rig.cdns.map((kind: CdnKind): TargetResult => {
    const calls = rig.submits.callsSince(kind, mark);
    const sent = calls.reduce((sum, call) => sum + call.urls.length, 0);
    const perUrl = sent / URLS;
    return {
      id: `${variant.id}-${kind}`,
      label: `${variant.label}: ${kind.toUpperCase()} submits per URL`,
      figure: perUrl.toFixed(2),
      value: perUrl,
      target: `= ${TARGET.toFixed(1)}`,
      met: atMost(perUrl, TARGET),
      detail: `${PUBLISHES} publishes of the same ${URLS} URLs in ${tookMs.toFixed(0)} ms: ${sent} URLs in ${calls.length} calls`,
    };
  });
}
