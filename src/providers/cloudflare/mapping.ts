import { randomUUID } from 'node:crypto';
import { PurgeError } from '../../errors.ts';
import { type PurgeTarget, type TargetKind, targetKinds } from '../../model/purge.ts';
import type { RemoteStatus } from '../provider.ts';
import type { CloudflareCaps } from './config.ts';

/**
 * Pure translation between purge targets and `purge_cache` bodies. One body carries exactly one of
 * `files`, `prefixes`, `tags`, `hosts` or `purge_everything` (Cloudflare refuses any other body with code
 * 1012), so a batch holding several kinds is several calls.
 */
export type CloudflareField = 'files' | 'prefixes' | 'tags' | 'hosts';

export type CloudflareCall =
  | { field: CloudflareField; items: string[] }
  | { field: 'purge_everything'; items: [] };

export const CLOUDFLARE_KINDS: ReadonlySet<TargetKind> = new Set<TargetKind>(['urls', 'dirs', 'tags', 'all']);

/** Cloudflare's documented bound on a prefix: at most 31 path separators. */
export const MAX_PREFIX_SEPARATORS = 31;

export function bodyOf(call: CloudflareCall): Record<string, unknown> {
  return call.field === 'purge_everything' ? { purge_everything: true } : { [call.field]: call.items };
}

/**
 * A dir as Cloudflare's prefix: host and path, without scheme, query or fragment (`www.example.com/foo/`).
 * The port stays when the URL names one, as the cache key's host would hold it (inferred).
 */
export function prefixOf(dir: string): string {
  let url: URL;
  try {
    url = new URL(dir);
  } catch {
    throw new PurgeError('REQUEST_INVALID', `Cloudflare prefix: ${dir} is not a URL`);
  }
  if (url.search !== '' || url.href.includes('?')) {
    throw new PurgeError('REQUEST_INVALID', `Cloudflare prefix cannot have a query string: ${dir}`);
  }
  const separators = url.pathname.split('/').length - 1;
  if (separators > MAX_PREFIX_SEPARATORS) {
    throw new PurgeError(
      'REQUEST_INVALID',
      `Cloudflare prefix has ${separators} path separators, more than ${MAX_PREFIX_SEPARATORS}: ${dir}`,
    );
  }
  return `${url.host}${url.pathname}`;
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let from = 0; from < items.length; from += size) out.push(items.slice(from, from + size));
  return out;
}

/** The calls one batch takes, in a fixed order: files, prefixes, tags, then hosts or everything. */
export function toCalls(
  batch: PurgeTarget,
  caps: CloudflareCaps,
  allHosts: readonly string[] | undefined,
): CloudflareCall[] {
  if (batch.pattern !== undefined) {
    throw new PurgeError('KIND_UNSUPPORTED', 'Cloudflare has no regex or wildcard purge (pattern)');
  }
  const calls: CloudflareCall[] = [];
  for (const items of chunks(batch.urls, caps.files)) calls.push({ field: 'files', items });
  for (const items of chunks(batch.dirs.map(prefixOf), caps.flex)) calls.push({ field: 'prefixes', items });
  for (const items of chunks(batch.tags ?? [], caps.flex)) calls.push({ field: 'tags', items });
  if (batch.all) {
    if (allHosts) for (const items of chunks(allHosts, caps.flex)) calls.push({ field: 'hosts', items });
    else calls.push({ field: 'purge_everything', items: [] });
  }
  if (calls.length === 0) throw new PurgeError('REQUEST_INVALID', 'Cloudflare batch has nothing to purge');
  return calls;
}

/** URLs and dirs per batch: the smaller cap, so a batch coalescing both still needs one call per kind. */
export function maxItemsPerCall(caps: CloudflareCaps): number {
  return Math.min(caps.files, caps.flex);
}

/**
 * Batches of one kind each, every one a single call: `all` alone, then URLs and dirs by `maxItemsPerCall`,
 * then tags by the flex cap. Refuses `pattern` (KIND_UNSUPPORTED, naming the entry) and a dir Cloudflare
 * cannot take as a prefix (REQUEST_INVALID), before anything is sent.
 */
export function splitIntoBatches(target: PurgeTarget, caps: CloudflareCaps, cdnId: string): PurgeTarget[] {
  for (const kind of targetKinds(target)) {
    if (!CLOUDFLARE_KINDS.has(kind)) {
      throw new PurgeError(
        'KIND_UNSUPPORTED',
        `CDN ${cdnId} (cloudflare) cannot purge ${kind}: Cloudflare has no regex or wildcard purge`,
      );
    }
  }
  for (const dir of target.dirs) prefixOf(dir);
  const items = maxItemsPerCall(caps);
  const batches: PurgeTarget[] = [];
  if (target.all) batches.push({ urls: [], dirs: [], all: true });
  for (const urls of chunks(target.urls, items)) batches.push({ urls, dirs: [] });
  for (const dirs of chunks(target.dirs, items)) batches.push({ urls: [], dirs });
  for (const tags of chunks(target.tags ?? [], caps.flex)) batches.push({ urls: [], dirs: [], tags });
  return batches;
}

/**
 * Cloudflare has no purge status: 200 with `success: true` is all it says. The remote id records that the
 * submit was accepted (`cloudflare:<calls>c:<Cloudflare's ids, dot-separated>`), so any worker process can
 * answer `status` from it alone; an id not of this shape was never ours.
 */
const REMOTE_ID = /^cloudflare:(\d{1,3})c:[A-Za-z0-9_-]{1,64}(?:\.[A-Za-z0-9_-]{1,64}){0,63}$/;
const CLOUDFLARE_ID = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_IDS_KEPT = 64;

/** `ids` are Cloudflare's `result.id`s, hostile input: one that is not a plain token is replaced by ours. */
export function remoteIdFor(ids: readonly (string | undefined)[]): string {
  const safe = ids
    .slice(0, MAX_IDS_KEPT)
    .map((id) => (id !== undefined && CLOUDFLARE_ID.test(id) ? id : randomUUID().replaceAll('-', '')));
  return `cloudflare:${ids.length}c:${safe.join('.')}`;
}

export function statusOfRemoteId(remoteId: string): RemoteStatus | undefined {
  return remoteId.length <= 5000 && REMOTE_ID.test(remoteId)
    ? { state: 'succeeded', progress: 100 }
    : undefined;
}
