import { createHash, randomUUID } from 'node:crypto';
import { PurgeError } from '../../errors.ts';
import { type PurgeTarget, targetKinds } from '../../model/purge.ts';
import type { RemoteStatus } from '../provider.ts';

/**
 * Pure translation between purge targets and CloudFront invalidations. An invalidation is a list of paths
 * relative to the distribution: a URL is its path and query (`/a.jpg?v=2`), a dir is a wildcard under it
 * (`/news/*`), `all` is `/*`, a cache tag is `#tag`. The URL's host is not part of a path: one CDN entry is
 * one distribution, and CloudFront invalidates the path on it whatever host the URL named.
 */

/** CloudFront's longest path. */
export const MAX_PATH_CHARS = 4000;

export interface BatchOptions {
  /** Named in refusals so an operator sees which configured CDN refused. */
  cdnId: string;
  maxItemsPerCall: number;
  maxWildcardsPerCall: number;
  hosts?: readonly string[] | undefined;
  cacheTags: boolean;
}

/** What one CreateInvalidation sends: its paths (sorted, so a retry sends the same list) and their kinds. */
export interface InvalidationPaths {
  paths: string[];
  /** Paths ending in `*` (dirs, `all`): CloudFront budgets 15 of them in progress per distribution. */
  wildcards: number;
}

/**
 * A URL's path and query as a viewer requests it, which is what CloudFront caches under. The canonical URL
 * (model/url.ts) is already percent-encoded the way a browser sends it (non-ASCII and unsafe characters
 * only), and CloudFront asks for exactly that: encoding more would make the invalidation miss. An empty
 * query's `?` is kept (`/a?` is its own object), which `search` would drop.
 */
export function pathOfUrl(url: string): string {
  const parsed = new URL(url);
  parsed.hash = '';
  const query = parsed.href.indexOf('?');
  return query < 0 ? parsed.pathname : `${parsed.pathname}${parsed.href.slice(query)}`;
}

/** `https://h/news/` -> `/news/*`: every file under the dir (and the dir's own `/news/`), nothing beside it. */
export function pathOfDir(dir: string): string {
  const { pathname } = new URL(dir);
  return `${pathname.endsWith('/') ? pathname : `${pathname}/`}*`;
}

export const ALL_PATH = '/*';

/**
 * Refuses what CloudFront cannot invalidate exactly. A `*` in a URL is CloudFront's wildcard (a prefix
 * match when last; refused elsewhere), and percent-encoding it would name another object: such a URL is
 * refused with a hint to purge its directory. A path over 4,000 characters is refused by the API.
 */
function checkUrl(url: string, options: BatchOptions): void {
  const path = pathOfUrl(url);
  if (path.includes('*')) {
    throw new PurgeError(
      'REQUEST_INVALID',
      `CDN ${options.cdnId} (cloudfront) cannot purge ${url} exactly: CloudFront reads * as a wildcard; purge its directory instead`,
    );
  }
  checkLength(path, url, options);
  checkHost(url, options);
}

function checkLength(path: string, what: string, options: BatchOptions): void {
  if (path.length > MAX_PATH_CHARS) {
    throw new PurgeError(
      'REQUEST_INVALID',
      `CDN ${options.cdnId} (cloudfront) cannot purge ${what.slice(0, 100)}…: its path is over ${MAX_PATH_CHARS} characters`,
    );
  }
}

function checkHost(url: string, options: BatchOptions): void {
  if (!options.hosts) return;
  const { hostname } = new URL(url);
  if (!options.hosts.includes(hostname)) {
    throw new PurgeError(
      'REQUEST_INVALID',
      `CDN ${options.cdnId} (cloudfront) serves ${options.hosts.join(', ')}, not ${hostname}: a path names no host, so this URL would purge another site's path`,
    );
  }
}

function refuseKinds(target: PurgeTarget, options: BatchOptions): void {
  for (const kind of targetKinds(target)) {
    if (kind === 'pattern') {
      throw new PurgeError(
        'KIND_UNSUPPORTED',
        `CDN ${options.cdnId} (cloudfront) cannot purge by pattern: CloudFront only matches a trailing * (use dirs)`,
      );
    }
    if (kind === 'tags' && !options.cacheTags) {
      throw new PurgeError(
        'KIND_UNSUPPORTED',
        `CDN ${options.cdnId} (cloudfront) cannot purge tags: set cacheTags once the distribution has a CacheTagConfig`,
      );
    }
  }
}

type Item = { kind: 'urls' | 'dirs' | 'tags'; value: string };

/**
 * Splits a target into invalidations: `all` alone (`/*` covers everything else), then URLs, dirs and tags
 * cut so no batch holds more than `maxItemsPerCall` paths or `maxWildcardsPerCall` dirs. Either bound is at
 * most CloudFront's in-progress budget, so every batch can be accepted once nothing else is in progress.
 */
export function splitIntoBatches(target: PurgeTarget, options: BatchOptions): PurgeTarget[] {
  refuseKinds(target, options);
  for (const url of target.urls) checkUrl(url, options);
  for (const dir of target.dirs) {
    checkLength(pathOfDir(dir), dir, options);
    checkHost(dir, options);
  }
  const batches: PurgeTarget[] = [];
  if (target.all) batches.push({ urls: [], dirs: [], all: true });
  const maxItems = Math.max(1, Math.floor(options.maxItemsPerCall));
  const maxWildcards = Math.max(1, Math.floor(options.maxWildcardsPerCall));
  const items: Item[] = [
    ...target.urls.map((value) => ({ kind: 'urls' as const, value })),
    ...target.dirs.map((value) => ({ kind: 'dirs' as const, value })),
    ...(target.tags ?? []).map((value) => ({ kind: 'tags' as const, value })),
  ];
  let current: PurgeTarget | undefined;
  let size = 0;
  for (const item of items) {
    const full = size >= maxItems || (item.kind === 'dirs' && (current?.dirs.length ?? 0) >= maxWildcards);
    if (current === undefined || full) {
      current = { urls: [], dirs: [] };
      size = 0;
      batches.push(current);
    }
    if (item.kind === 'tags') {
      current.tags ??= [];
      current.tags.push(item.value);
    } else current[item.kind].push(item.value);
    size += 1;
  }
  return batches;
}

/**
 * The paths one batch sends. `all` is `/*` alone: it invalidates every path, so anything beside it (a
 * coalesced batch's URLs) would only spend the budget. Sorted and de-duplicated, so the same batch always
 * sends the same list (what CloudFront compares for a CallerReference it has seen).
 */
export function toInvalidationPaths(batch: PurgeTarget): InvalidationPaths {
  if (batch.all) return { paths: [ALL_PATH], wildcards: 1 };
  const wildcardPaths = batch.dirs.map(pathOfDir);
  const paths = [
    ...new Set([
      ...batch.urls.map(pathOfUrl),
      ...wildcardPaths,
      ...(batch.tags ?? []).map((tag) => `#${tag}`),
    ]),
  ].sort();
  if (paths.length === 0) throw new PurgeError('REQUEST_INVALID', 'CloudFront batch has nothing to purge');
  return { paths, wildcards: new Set(wildcardPaths).size };
}

/**
 * Without a submit key (a submit from outside the pipeline, with no batch: the pipeline's own submits use
 * `batchCallerReference`): the CallerReference is the same for the same paths within one `windowMs` slot of
 * the clock, so CloudFront treats a resend as the same invalidation (same reference + same paths returns
 * the one it made; it never purges or charges twice). A resend that lands in the next slot makes a second
 * invalidation (harmless, charged). A *later* submit of exactly the same paths within the slot is handed
 * the earlier invalidation: when that one has already Completed it cannot cover a change made after it ran,
 * so the provider, seeing `Completed` in a create answer (a new invalidation is always InProgress), submits
 * once more with a fresh reference (`freshCallerReference`); one still InProgress is taken (it started at
 * most one slot earlier), which is why the slot is short (a minute by default). Same reference with
 * different paths (InvalidationBatchAlreadyExists) cannot happen by construction.
 */
export function callerReference(paths: readonly string[], now: number, windowMs: number): string {
  if (windowMs <= 0) return freshCallerReference(paths);
  return `purge-worker:${pathsDigest(paths)}:${Math.floor(now / windowMs)}`;
}

/** What a submit key may be to stand in a reference as it is (batch ids are `<cdn id>-<n>:<ms>`). */
const READABLE_KEY = /^[A-Za-z0-9._:-]{1,100}$/;

/**
 * The CallerReference of one batch's invalidation, from the pipeline's submit key: every attempt at the
 * batch sends the same one, so CloudFront makes one invalidation for it however often it is resent (a lost
 * answer, a crash before the record), and hands that one back even once it has Completed, which is right:
 * it was made for this batch, after the change it purges. A later batch of the same paths has a key of its
 * own, so it gets an invalidation of its own. The paths' digest stays in: the same key with other paths
 * would be CloudFront's InvalidationBatchAlreadyExists, which a reference of both cannot meet.
 */
export function batchCallerReference(paths: readonly string[], submitKey: string): string {
  const key = READABLE_KEY.test(submitKey)
    ? submitKey
    : createHash('sha256').update(submitKey).digest('hex').slice(0, 40);
  return `purge-worker:${pathsDigest(paths)}:${key}`;
}

function pathsDigest(paths: readonly string[]): string {
  return createHash('sha256').update(paths.join('\n')).digest('hex').slice(0, 40);
}

/** A reference no other submit uses: a new invalidation whatever CloudFront remembers. */
export function freshCallerReference(paths: readonly string[]): string {
  return `purge-worker:${pathsDigest(paths)}:${randomUUID()}`;
}

/**
 * An invalidation's Status. `InProgress` and `Completed` are the only documented values; any other counts as
 * running (the poll deadline bounds it), with a note so the worker logs it.
 */
export function statusOf(status: string | undefined): RemoteStatus {
  if (status === 'Completed') return { state: 'succeeded', progress: 100 };
  if (status === 'InProgress') return { state: 'running' };
  return {
    state: 'running',
    note: `unknown CloudFront invalidation status ${JSON.stringify(status ?? null)}`,
  };
}

/** `.../distribution/<dist>/invalidation/<id>` (the create answer's Location), or undefined. */
export function idFromLocation(location: string | undefined): string | undefined {
  if (location === undefined) return undefined;
  const match = /\/invalidation\/([A-Za-z0-9]{1,128})\/?$/.exec(location.trim());
  return match?.[1];
}
