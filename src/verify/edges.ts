import type { VerifyConfig } from '../config/verify.ts';
import { describeError } from '../errors.ts';
import type { Provider } from '../providers/provider.ts';
import type { EdgeAddress } from './probe.ts';

/** An edge a check asks: its address (absent: the URL's host as DNS resolves it) and how status names it. */
export interface EdgeToAsk {
  edge?: EdgeAddress;
  label: string;
}

export interface EdgeSource {
  /** The edges to ask now; `note` says why there are none (a listing that failed, or listed nothing). */
  current(): Promise<{ edges: EdgeToAsk[]; note?: string }>;
}

/** How long a CDN's listing of its edges is reused: it changes when the CDN adds hosts, not per purge. */
const LISTING_TTL_MS = 60_000;

/**
 * Which edges a CDN's checks ask (verify.edges): the ones configured, every edge its own listing names
 * (VIMS's CDN_HOSTs, cached a minute), or, with `dns`, the URL's host as DNS resolves it.
 */
export function createEdgeSource(
  config: VerifyConfig,
  provider: Pick<Provider, 'listEdges'>,
  options: { now: () => number; timeoutMs: number },
): EdgeSource {
  const mode = config.edges ?? (provider.listEdges ? 'listing' : 'dns');
  let cached: { at: number; edges: EdgeToAsk[] } | undefined;

  const labelled = (edge: { address: string; port?: number | undefined; name?: string | undefined }) => {
    const port = edge.port ?? config.edgePort;
    const where = `${edge.address.includes(':') ? `[${edge.address}]` : edge.address}${port ? `:${port}` : ''}`;
    return {
      edge: { address: edge.address, ...(port ? { port } : {}) },
      label: edge.name ? `${where} (${edge.name})` : where,
    };
  };

  return {
    async current() {
      if (mode === 'dns') return { edges: [{ label: 'dns' }] };
      if (Array.isArray(mode)) return { edges: mode.map(labelled) };
      if (!provider.listEdges)
        return { edges: [], note: 'this CDN has no listing of its edges (verify.edges)' };
      const now = options.now();
      if (cached && now - cached.at < LISTING_TTL_MS) return { edges: cached.edges };
      try {
        const listed = await provider.listEdges(AbortSignal.timeout(options.timeoutMs));
        const edges = listed.map(labelled);
        if (edges.length === 0) return { edges, note: "the CDN's listing names no edge with an address" };
        cached = { at: now, edges };
        return { edges };
      } catch (error) {
        // A stale listing beats none: the edges rarely change, and a check of them is still worth having.
        if (cached) return { edges: cached.edges };
        return { edges: [], note: `cannot list the CDN's edges: ${describeError(error)}` };
      }
    },
  };
}
