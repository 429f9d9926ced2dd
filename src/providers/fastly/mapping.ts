import { randomUUID } from 'node:crypto';
import { PurgeError } from '../../errors.ts';
import type { PurgeTarget, TargetKind } from '../../model/purge.ts';
import type { RemoteStatus } from '../provider.ts';

/**
 * Pure translation between purge targets and Fastly's purge API: one `POST /purge/{host}{path}` per URL (there
 * is no multi-URL purge), one `POST /service/{id}/purge` per batch of surrogate keys (JSON
 * `{"surrogate_keys": [...]}`), and `POST /service/{id}/purge_all` for everything.
 */
export type FastlyRequest =
  | { kind: 'url'; path: string; url: string; soft: boolean }
  | { kind: 'keys'; path: string; keys: string[]; soft: boolean; body: string }
  | { kind: 'all'; path: string; soft: false };

/** What Fastly purges natively; `dirs` and `pattern` have no API (no prefix, no regex purge). */
export const FASTLY_KINDS: ReadonlySet<TargetKind> = new Set<TargetKind>(['urls', 'tags', 'all']);

const WHY_NOT: Partial<Record<TargetKind, string>> = {
  dirs: 'the Fastly API has no prefix purge (tag objects with a surrogate key per directory and purge by tags)',
  pattern: 'the Fastly API has no regex purge',
};

export function refuseUnsupported(cdnId: string, kinds: readonly TargetKind[]): void {
  for (const kind of kinds) {
    if (FASTLY_KINDS.has(kind)) continue;
    const why = WHY_NOT[kind];
    throw new PurgeError(
      'KIND_UNSUPPORTED',
      `CDN ${cdnId} (fastly) cannot purge ${kind}${why ? `: ${why}` : ''}`,
    );
  }
}

/**
 * `cached_url` as the API takes it: host (with a non-default port) and path, no scheme. A query string is part
 * of the object (`?page=2` is another one), so it is kept, and sent as the API request's own query: what
 * `curl -X POST https://api.fastly.com/purge/www.example.com/a?page=2` sends (how Fastly splits it back is
 * not documented: inferred). An empty query's `?` is kept, a fragment never reaches a cache.
 */
export function cachedUrlOf(url: string): string {
  const parsed = new URL(url);
  parsed.hash = '';
  const query = parsed.href.indexOf('?');
  const search = query < 0 ? '' : parsed.href.slice(query);
  return `${parsed.host}${parsed.pathname}${search}`;
}

/** Every call one batch takes. `all` is purge_all alone: it covers everything else in the service. */
export function toRequests(batch: PurgeTarget, serviceId: string, soft: boolean): FastlyRequest[] {
  const service = `/service/${encodeURIComponent(serviceId)}`;
  if (batch.all) return [{ kind: 'all', path: `${service}/purge_all`, soft: false }];
  const requests: FastlyRequest[] = batch.urls.map((url) => ({
    kind: 'url',
    path: `/purge/${cachedUrlOf(url)}`,
    url,
    soft,
  }));
  const keys = batch.tags ?? [];
  if (keys.length > 0) {
    const body = JSON.stringify({ surrogate_keys: keys });
    requests.push({ kind: 'keys', path: `${service}/purge`, keys, soft, body });
  }
  if (requests.length === 0) throw new PurgeError('REQUEST_INVALID', 'Fastly batch has nothing to purge');
  return requests;
}

/**
 * URLs and keys in batches of at most `maxItems`, keys at most `maxKeys` of them (one batch key purge each),
 * and `all` in a batch of its own, alone: purge_all leaves nothing for the rest to do.
 */
export function splitIntoBatches(target: PurgeTarget, maxItems: number, maxKeys: number): PurgeTarget[] {
  if (target.all) return [{ urls: [], dirs: [], all: true }];
  const batches: PurgeTarget[] = [];
  let current: PurgeTarget = { urls: [], dirs: [] };
  let size = 0;
  const flush = (): void => {
    if (size > 0) batches.push(current);
    current = { urls: [], dirs: [] };
    size = 0;
  };
  for (const url of target.urls) {
    if (size >= maxItems) flush();
    current.urls.push(url);
    size += 1;
  }
  for (const key of target.tags ?? []) {
    if (size >= maxItems || (current.tags?.length ?? 0) >= maxKeys) flush();
    current.tags = [...(current.tags ?? []), key];
    size += 1;
  }
  flush();
  return batches;
}

/**
 * Fastly answers a purge once accepted and has nothing to poll; its purge ids are only for support tickets.
 * The remote id carries the first one (`fastly:<id>`, `+<n>` for the batch's other calls), so any worker
 * process can answer `status` from it alone; purge_all returns no id, so a UUID stands in.
 */
const REMOTE_ID = /^fastly:[A-Za-z0-9._-]{1,64}(\+\d{1,4})?$/;
const SAFE_ID = /^[A-Za-z0-9._-]{1,64}$/;

export function remoteIdFor(purgeIds: readonly string[], calls: number): string {
  const first = purgeIds.find((id) => SAFE_ID.test(id)) ?? `u-${randomUUID()}`;
  return `fastly:${first}${calls > 1 ? `+${calls - 1}` : ''}`;
}

export function statusOfRemoteId(remoteId: string): RemoteStatus | undefined {
  return REMOTE_ID.test(remoteId) ? { state: 'succeeded', progress: 100 } : undefined;
}

/** Most purge ids kept for the log (a 256-URL batch has 256 of them). */
const LOGGED_IDS = 16;

/** Fastly's purge ids of one submit, for a support ticket: a bounded list, each id bounded. */
export function purgeIdsForLog(purgeIds: readonly string[]): string | undefined {
  if (purgeIds.length === 0) return undefined;
  const shown = purgeIds.slice(0, LOGGED_IDS).map((id) => id.slice(0, 64));
  const more = purgeIds.length - shown.length;
  return `${shown.join(' ')}${more > 0 ? ` (+${more} more)` : ''}`;
}
