import PQueue from 'p-queue';
import type { VerifyConfig } from '../config/verify.ts';
import type { EdgeCheck } from '../model/status.ts';
import type { HostLookup } from '../net/address-guard.ts';
import type { EdgeSource, EdgeToAsk } from './edges.ts';
import type { EdgeAnswer } from './freshness.ts';
import { judgeFreshness } from './freshness.ts';
import { type ProbeRequest, probeEdge } from './probe.ts';

export interface EdgeCheckerDeps {
  edges: EdgeSource;
  now: () => number;
  /** Name resolution for `dns` checks (tests give answers as data). */
  lookup?: HostLookup;
  /** Asks one edge; the real probe by default. */
  probe?: (request: ProbeRequest) => Promise<EdgeAnswer>;
}

export interface CheckRound {
  checks: EdgeCheck[];
  /** The edges this round asked. */
  edges: string[];
  /** Why nothing could be checked, when that is so. */
  note?: string;
}

export interface EdgeChecker {
  /**
   * Asks every edge for every URL once and judges each answer against `acceptedAt`. Never throws; once
   * `signal` aborts (our shutdown), the checks not yet started answer `aborted` (the caller lets go).
   */
  check(urls: readonly string[], acceptedAt: number, signal?: AbortSignal): Promise<CheckRound>;
}

/**
 * One CDN's checks, bounded as the guide asks of anything we send out: a rate of its own
 * (`verify.ratePerSecond` per process, a sliding window), at most `verify.concurrencyPerEdge` open to any one
 * edge, each bounded by `verify.timeoutMs`, and only to the edges the rules allow (the probe's guard). Only the
 * URLs a purge named are asked, with the CDN's configured method and headers.
 */
export function createEdgeChecker(config: VerifyConfig, deps: EdgeCheckerDeps): EdgeChecker {
  const rate = new PQueue({ intervalCap: config.ratePerSecond, interval: 1_000, strict: true });
  const perEdge = new Map<string, PQueue>();
  const probe = deps.probe ?? probeEdge;
  const request = (url: string, edge: EdgeToAsk['edge']): ProbeRequest => ({
    url: config.scheme === 'url' ? url : withScheme(url, config.scheme),
    ...(edge ? { edge } : {}),
    ...(deps.lookup ? { lookup: deps.lookup } : {}),
    method: config.method,
    headers: config.headers,
    timeoutMs: config.timeoutMs,
    allowHosts: config.allowHosts,
  });
  const limited = (label: string, ask: () => Promise<EdgeAnswer>, signal?: AbortSignal) => {
    let queue = perEdge.get(label);
    if (!queue) {
      queue = new PQueue({ concurrency: config.concurrencyPerEdge });
      perEdge.set(label, queue);
    }
    const unlessAborted = (): Promise<EdgeAnswer> =>
      signal?.aborted ? Promise.resolve({ error: 'aborted: shutting down' }) : ask();
    return queue.add(() => rate.add(unlessAborted));
  };

  /** The origin's current ETag and Last-Modified for a URL, when an origin is configured and answers 2xx. */
  async function originValidators(
    url: string,
    signal?: AbortSignal,
  ): Promise<{ etag?: string; lastModified?: string } | undefined> {
    const { origin } = config;
    if (!origin) return undefined;
    const edge = { address: origin.address, ...(origin.port ? { port: origin.port } : {}) };
    const answer = await limited(
      'origin',
      () =>
        probe({
          ...request(url, edge),
          // The origin is asked over its own protocol when set, not the edges' scheme.
          ...(origin.protocol ? { url: withScheme(url, origin.protocol) } : {}),
          method: 'HEAD',
        }),
      signal,
    );
    if ('error' in answer || answer.status < 200 || answer.status >= 300) return undefined;
    const text = (name: string) => {
      const value = answer.headers[name];
      return typeof value === 'string' ? value : undefined;
    };
    const etag = text('etag');
    const lastModified = text('last-modified');
    return { ...(etag ? { etag } : {}), ...(lastModified ? { lastModified } : {}) };
  }

  return {
    async check(urls, acceptedAt, signal) {
      const { edges, note } = await deps.edges.current();
      if (edges.length === 0) return { checks: [], edges: [], note: note ?? 'no edges to ask' };
      const checks = await Promise.all(
        urls.map(async (url) => {
          const origin = await originValidators(url, signal);
          return Promise.all(
            edges.map(async ({ edge, label }): Promise<EdgeCheck> => {
              const answer = await limited(label, () => probe(request(url, edge)), signal);
              const judged = judgeFreshness({
                answer,
                acceptedAt,
                checkedAt: deps.now(),
                ...(origin ? { origin } : {}),
              });
              return { url, edge: label, verdict: judged.verdict, reason: judged.reason.slice(0, 300) };
            }),
          );
        }),
      );
      return { checks: checks.flat(), edges: edges.map((edge) => edge.label) };
    },
  };
}

/** The same URL over another scheme (its host and path kept): what an edge or origin is asked over. */
function withScheme(url: string, scheme: 'http' | 'https'): string {
  const changed = new URL(url);
  changed.protocol = `${scheme}:`;
  return changed.toString();
}
