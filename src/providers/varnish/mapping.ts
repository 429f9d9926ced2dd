import { randomUUID } from 'node:crypto';
import { PurgeError } from '../../errors.ts';
import type { PurgeTarget } from '../../model/purge.ts';
import type { RemoteStatus } from '../provider.ts';

/**
 * Pure translation between purge targets and the HTTP a Varnish node's purge VCL answers. Every request goes
 * to every node alike: `PURGE <path?query>` for a URL (the builtin vcl_hash keys on req.url + Host), and
 * `BAN /` carrying an anchored regex over the stored URL for a dir, a pattern or `all` (the project's
 * lurker-friendly convention: VCL bans `obj.http.x-host == Host && obj.http.x-url ~ <header>`; inferred).
 */
export interface VarnishRequest {
  method: 'PURGE' | 'BAN';
  /** The request target: the URL's path and query for PURGE, `/` for BAN. */
  path: string;
  /** The site's host, sent as `Host`: the cache key's other half, never the node's address. */
  host: string;
  /** For BAN: the regex the VCL bans on (already anchored and escaped). */
  ban?: string;
}

/** PCRE's metacharacters (VCL regexes are PCRE): escaped so a literal path matches only itself. */
const REGEX_SPECIALS = /[\\^$.*+?()[\]{}|]/g;

export function escapeRegex(text: string): string {
  return text.replace(REGEX_SPECIALS, '\\$&');
}

/**
 * What vcl_hash sees as req.url: path and query as a client sends them. An empty query's `?` is kept (`/a?`
 * is a different object from `/a`), which `search` would drop.
 */
export function requestTarget(url: string): { host: string; path: string } {
  const parsed = new URL(url);
  parsed.hash = '';
  const query = parsed.href.indexOf('?');
  const path = query < 0 ? parsed.pathname : `${parsed.pathname}${parsed.href.slice(query)}`;
  return { host: parsed.host, path };
}

/**
 * A regex becomes part of a ban expression the VCL builds by string concatenation, where a space or a quote
 * would end the argument (inferred from the ban syntax): such a pattern is refused rather than sent mangled.
 * Canonical URLs never hold one (they are percent-encoded), so this only concerns a given `pattern`.
 */
const NOT_IN_A_BAN = /[\s"\p{Cc}]/u;

export function toRequests(batch: PurgeTarget, hosts: readonly string[] | undefined): VarnishRequest[] {
  const requests: VarnishRequest[] = [];
  for (const url of batch.urls) requests.push({ method: 'PURGE', ...requestTarget(url) });
  for (const dir of batch.dirs) {
    const { host, path } = requestTarget(dir);
    requests.push({ method: 'BAN', path: '/', host, ban: `^${escapeRegex(path)}` });
  }
  if (batch.pattern !== undefined) {
    if (NOT_IN_A_BAN.test(batch.pattern)) {
      throw new PurgeError(
        'REQUEST_INVALID',
        'Varnish pattern must not hold spaces, quotes or control characters',
      );
    }
    for (const host of hostsFor('pattern', hosts)) {
      requests.push({ method: 'BAN', path: '/', host, ban: batch.pattern });
    }
  }
  if (batch.all) {
    for (const host of hostsFor('all', hosts)) requests.push({ method: 'BAN', path: '/', host, ban: '^/' });
  }
  if (requests.length === 0) throw new PurgeError('REQUEST_INVALID', 'Varnish batch has nothing to purge');
  return requests;
}

function hostsFor(kind: string, hosts: readonly string[] | undefined): readonly string[] {
  if (!hosts)
    throw new PurgeError('KIND_UNSUPPORTED', `Varnish cannot purge ${kind} without configured hosts`);
  return hosts;
}

/** URLs and dirs in batches of at most `maxItems`; a pattern and `all` each in a batch of their own. */
export function splitIntoBatches(target: PurgeTarget, maxItems: number): PurgeTarget[] {
  const batches: PurgeTarget[] = [];
  if (target.all) batches.push({ urls: [], dirs: [], all: true });
  if (target.pattern !== undefined) batches.push({ urls: [], dirs: [], pattern: target.pattern });
  let current: PurgeTarget = { urls: [], dirs: [] };
  const items = [
    ...target.urls.map((value) => ({ kind: 'urls' as const, value })),
    ...target.dirs.map((value) => ({ kind: 'dirs' as const, value })),
  ];
  for (const item of items) {
    if (current.urls.length + current.dirs.length >= maxItems) {
      batches.push(current);
      current = { urls: [], dirs: [] };
    }
    current[item.kind].push(item.value);
  }
  if (current.urls.length + current.dirs.length > 0) batches.push(current);
  return batches;
}

/**
 * Varnish answers a purge only after doing it, so a submit that returns has succeeded on every node and
 * there is nothing to poll. The remote id says so itself (`varnish:<nodes>n:<uuid>`), so any worker process
 * can answer `status` for it without shared state, and an id that is not of this shape is unknown.
 */
const REMOTE_ID = /^varnish:(\d{1,3})n:[0-9a-f-]{36}$/;

export function remoteIdFor(nodeCount: number): string {
  return `varnish:${nodeCount}n:${randomUUID()}`;
}

export function statusOfRemoteId(remoteId: string): RemoteStatus | undefined {
  return REMOTE_ID.test(remoteId) ? { state: 'succeeded', progress: 100 } : undefined;
}
