import type { Simulator } from '../../src/simulator/server.ts';
import { BENCH_HOST, type CdnKind } from './rig.ts';

/** One purge call a CDN received: when (the simulator's clock, Date.now) and the URLs it carried. */
export interface SubmitCall {
  at: number;
  urls: string[];
}

/** Where the log stood at some moment: what a scenario counts from (a warm-up's calls are not its own). */
export interface SubmitMark {
  calls: Record<CdnKind, number>;
  distinct: Record<CdnKind, number>;
}

export interface SubmitLog {
  mark(): SubmitMark;
  /** The calls the CDN received since `mark`, in order of arrival. */
  callsSince(kind: CdnKind, mark: SubmitMark): readonly SubmitCall[];
  /** How many different URLs, never sent to it before `mark`, the CDN has been sent since. */
  newUrlsSince(kind: CdnKind, mark: SubmitMark): number;
  /** A submit that could not be read: thrown from here rather than inside the simulator's request handler. */
  check(): void;
}

/**
 * The URLs of a VIMS pattern the provider built from bench URLs (path scope): `^\/a\.html$` or
 * `^(?:\/a\.html|\/b\.html)$`. Anything else (dirs, a pattern, `all`) is not what these scenarios send, and
 * a misread would skew every count, so it stops the bench.
 */
export function vimsPatternUrls(pattern: string): string[] {
  const grouped = /^\^\(\?:(.*)\)\$$/.exec(pattern);
  const single = grouped ? undefined : /^\^(.*)\$$/.exec(pattern);
  const body = grouped?.[1] ?? single?.[1];
  if (body === undefined || body.includes('(')) {
    throw new Error(`unexpected VIMS pattern in a bench submit: ${pattern.slice(0, 80)}`);
  }
  // Bench paths hold no `|`, so every unescaped one separates two URLs.
  return body.split('|').map((escaped) => `https://${BENCH_HOST}${escaped.replace(/\\(.)/g, '$1')}`);
}

function urlsOf(kind: CdnKind, body: unknown): string[] {
  if (kind === 'vims') {
    const pattern = (body as { pattern?: unknown } | undefined)?.pattern;
    if (typeof pattern !== 'string') throw new Error('a VIMS submit without a pattern');
    return vimsPatternUrls(pattern);
  }
  const fileUrls = (body as { fileUrls?: unknown } | undefined)?.fileUrls;
  if (!Array.isArray(fileUrls)) throw new Error('a QUANTIL submit the simulator could not read');
  return fileUrls.map(String);
}

/**
 * Reads each submit off the simulator's request log as it arrives (its bodies and timestamps), so counting
 * at the end, or waiting for every URL to have gone out, never rescans the whole log.
 */
export function recordSubmits(simulator: Simulator): SubmitLog {
  const calls: Record<CdnKind, SubmitCall[]> = { vims: [], quantil: [] };
  const seen: Record<CdnKind, Set<string>> = { vims: new Set(), quantil: new Set() };
  let unreadable: Error | undefined;
  const listen = (kind: CdnKind) => (entry: { op: string; body?: unknown; at: number }) => {
    if (entry.op !== 'submit') return;
    try {
      const urls = urlsOf(kind, entry.body);
      calls[kind].push({ at: entry.at, urls });
      for (const url of urls) seen[kind].add(url);
    } catch (error) {
      unreadable ??= error as Error;
    }
  };
  simulator.vims.events.on('request', listen('vims'));
  simulator.quantil.events.on('request', listen('quantil'));
  return {
    mark: () => ({
      calls: { vims: calls.vims.length, quantil: calls.quantil.length },
      distinct: { vims: seen.vims.size, quantil: seen.quantil.size },
    }),
    callsSince: (kind, mark) => calls[kind].slice(mark.calls[kind]),
    newUrlsSince: (kind, mark) => seen[kind].size - mark.distinct[kind],
    check() {
      if (unreadable) throw unreadable;
    },
  };
}
