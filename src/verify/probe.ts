import { isIP } from 'node:net';
import { request } from 'undici';
import { describeError } from '../errors.ts';
import { createAddressGuard, type HostLookup } from '../net/address-guard.ts';
import { createGuardedDispatcher } from '../net/guarded-dispatcher.ts';
import type { EdgeAnswer } from './freshness.ts';

/** One CDN edge to ask: the address to connect to (a VIMS CDN_HOST's ip, or a configured edge) and its port. */
export interface EdgeAddress {
  address: string;
  /** Default: 80 for http, 443 for https, whatever port the URL names. */
  port?: number;
}

export interface ProbeRequest {
  /** The URL the purge named: its host goes in `Host` (and SNI), its path and query are asked for. */
  url: string;
  /** Absent: the URL's host as DNS resolves it (`lookup`), every address it gives checked by the guard. */
  edge?: EdgeAddress;
  /** How a host name is resolved when no edge is given (tests give answers as data). */
  lookup?: HostLookup;
  method?: 'HEAD' | 'GET';
  /** Extra request headers (a CDN's debug header, say); `host` cannot be set here. */
  headers?: Readonly<Record<string, string>>;
  /** Bounds the whole exchange: connect, answer and (for GET) the body, which is read and dropped. */
  timeoutMs: number;
  /** Addresses allowed although not public (as `callbacks.allowHosts`): a loopback test edge, say. */
  allowHosts: readonly string[];
}

/** Most of a GET body read before the connection is dropped: a check needs the headers, not the object. */
const MAX_BODY_BYTES = 64 * 1024;

/**
 * Asks one edge for one URL, as a person checking by hand would with `curl --resolve`: connect to the edge's
 * address, send the URL's host, read the answer's headers. The edge's address goes through the same address
 * guard as callbacks (a private, link-local or loopback edge only when allowed), checked at connect time,
 * and only http(s) URLs are asked. Never throws: a failure is an answer that says so (judged unverified).
 */
export async function probeEdge(probe: ProbeRequest): Promise<EdgeAnswer> {
  let url: URL;
  try {
    url = new URL(probe.url);
  } catch {
    return { error: 'not a URL' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { error: `not http(s): ${url.protocol}` };
  const { edge } = probe;
  if (edge && isIP(edge.address) === 0) return { error: `edge address ${edge.address} is not an IP address` };
  // With an edge, the URL's host resolves, for this request only, to the edge: the guard checks that
  // address, the dispatcher dials only it, and Host, SNI and the certificate check keep the URL's own name.
  const pinned: HostLookup | undefined = edge
    ? async () => [{ address: edge.address, family: isIP(edge.address) as 4 | 6 }]
    : probe.lookup;
  const guard = createAddressGuard({
    allowHosts: probe.allowHosts,
    lookupTimeoutMs: probe.timeoutMs,
    ...(pinned ? { lookup: pinned } : {}),
  });
  const dispatcher = createGuardedDispatcher(guard, { connectTimeoutMs: probe.timeoutMs });
  const schemePort = url.protocol === 'https:' ? 443 : 80;
  // An edge is asked on its own port, never one the purged URL names: whoever sends a purge must not pick
  // the ports we dial on an edge's (perhaps internal, allowed) address. Without an edge, the URL is public.
  const port = edge ? (edge.port ?? schemePort) : url.port ? Number(url.port) : schemePort;
  const target = `${url.protocol}//${url.hostname}:${port}${url.pathname}${url.search}`;
  const signal = AbortSignal.timeout(probe.timeoutMs);
  try {
    const { host: _ignored, ...headers } = probe.headers ?? {};
    const response = await request(target, {
      method: probe.method ?? 'HEAD',
      // The URL's own host (and port, if it named one), never the edge's port the socket went to: the edge
      // looks the object up by what the public asks for.
      headers: { ...headers, host: url.host },
      dispatcher,
      signal,
      headersTimeout: probe.timeoutMs,
      bodyTimeout: probe.timeoutMs,
    });
    await drain(response.body);
    return { status: response.statusCode, headers: response.headers };
  } catch (error) {
    return { error: describeError(error) };
  } finally {
    await dispatcher.destroy().catch(() => {});
  }
}

/** Reads at most MAX_BODY_BYTES of a body, then lets the rest go with the connection. */
async function drain(body: AsyncIterable<Buffer> & { destroy(): unknown }): Promise<void> {
  let read = 0;
  for await (const chunk of body) {
    read += chunk.length;
    if (read > MAX_BODY_BYTES) {
      body.destroy();
      return;
    }
  }
}
