import type { PurgeRequestInput } from '../../src/model/purge.ts';
import { BENCH_HOST, benchUrl, CDN_ID } from './rig.ts';

/** URL variant of the soak's URLs (bench/scenarios/rig.ts benchUrl): no other scenario's. */
const SOAK_VARIANT = 70;
/** How far back a repeat reaches: URLs purged within the last few seconds at 200 purges/s. */
const RECENT_URLS = 2_000;
/** Site sections a dir purge names: few, so sections are purged again and again, as a CMS does. */
const SECTIONS = 50;
const MAX_MULTI_URLS = 20;

/**
 * What a CMS in front of the service sends, by share of purges: mostly one page re-published, sometimes one
 * published again seconds later (a fix after a typo), a page set (an article and its listings), a page for
 * one CDN only, a section. The shares add up to 1; the last one takes what rounding leaves.
 */
export const SOAK_MIX = [
  { kind: 'one-url', share: 0.75, meaning: '1 new URL, routed to both CDNs' },
  { kind: 'repeat', share: 0.1, meaning: `1 URL purged again, one of the last ${RECENT_URLS}` },
  { kind: 'multi-url', share: 0.07, meaning: `2–${MAX_MULTI_URLS} new URLs` },
  { kind: 'one-cdn', share: 0.05, meaning: '1 new URL to VIMS or QUANTIL only (`cdns`)' },
  { kind: 'dir', share: 0.03, meaning: `1 dir, one of ${SECTIONS} sections` },
] as const;

type MixKind = (typeof SOAK_MIX)[number]['kind'];

/**
 * mulberry32: a seeded generator, so two soak runs send the same purges in the same order (and a chaos run
 * its seed's draws).
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export interface SoakMix {
  /** The next purge of the mix. */
  next(): PurgeRequestInput;
  /** Purges made so far, per kind. */
  readonly counts: Readonly<Record<MixKind, number>>;
}

export function soakMix(seed = 1): SoakMix {
  const random = seededRandom(seed);
  const recent: string[] = [];
  let nextUrl = 0;
  const counts = Object.fromEntries(SOAK_MIX.map(({ kind }) => [kind, 0])) as Record<MixKind, number>;
  const newUrl = () => {
    const url = benchUrl(nextUrl, SOAK_VARIANT);
    recent[nextUrl % RECENT_URLS] = url;
    nextUrl += 1;
    return url;
  };
  const pick = (): MixKind => {
    let roll = random();
    for (const { kind, share } of SOAK_MIX) {
      if (roll < share) return kind;
      roll -= share;
    }
    return 'one-url';
  };
  const make = (kind: MixKind): PurgeRequestInput => {
    if (kind === 'repeat') return { urls: [recent[Math.floor(random() * recent.length)] as string] };
    if (kind === 'multi-url') {
      const size = 2 + Math.floor(random() * (MAX_MULTI_URLS - 1));
      return { urls: Array.from({ length: size }, newUrl) };
    }
    if (kind === 'one-cdn')
      return { urls: [newUrl()], cdns: [random() < 0.5 ? CDN_ID.vims : CDN_ID.quantil] };
    if (kind === 'dir')
      return { dirs: [`https://${BENCH_HOST}/soak/section-${Math.floor(random() * SECTIONS)}/`] };
    return { urls: [newUrl()] };
  };
  return {
    next() {
      // Nothing to repeat before the first URL.
      const picked = pick();
      const kind = picked === 'repeat' && recent.length === 0 ? 'one-url' : picked;
      counts[kind] += 1;
      return make(kind);
    },
    counts,
  };
}
