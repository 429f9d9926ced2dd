import { PurgeError } from '../../errors.ts';
import type { PurgeTarget } from '../../model/purge.ts';
import type { RemoteStatus } from '../provider.ts';
import type { StatusItem } from './xml.ts';

/**
 * Pure translation between purge targets and QUANTIL's model: a purge is a list of file-urls and dir-urls,
 * and its status is one entry per item that this module folds into a single RemoteStatus.
 */

export interface BatchOptions {
  /** Named in KIND_UNSUPPORTED messages so an operator sees which configured CDN refused. */
  cdnId: string;
  maxItemsPerCall: number;
  domains?: readonly string[] | undefined;
  rootScheme: 'http' | 'https';
}

/** URLs first, then dirs, cut every `maxItemsPerCall` items; a batch may hold both kinds. */
export function splitIntoBatches(target: PurgeTarget, options: BatchOptions): PurgeTarget[] {
  const { cdnId, maxItemsPerCall, domains, rootScheme } = options;
  if (target.pattern !== undefined) {
    throw new PurgeError('KIND_UNSUPPORTED', `CDN ${cdnId} (quantil) cannot purge by pattern`);
  }
  // Refused, not dropped: a batch without its tags would end `succeeded` having purged none of them.
  if ((target.tags?.length ?? 0) > 0) {
    throw new PurgeError('KIND_UNSUPPORTED', `CDN ${cdnId} (quantil) cannot purge tags`);
  }
  const items = [
    ...target.urls.map((value) => ({ kind: 'urls' as const, value })),
    ...target.dirs.map((value) => ({ kind: 'dirs' as const, value })),
  ];
  if (target.all) {
    if (domains === undefined || domains.length === 0) {
      throw new PurgeError(
        'KIND_UNSUPPORTED',
        `CDN ${cdnId} (quantil) cannot purge all: configure \`domains\` so each domain root is purged as a directory`,
      );
    }
    for (const domain of domains) items.push({ kind: 'dirs', value: `${rootScheme}://${domain}/` });
  }
  const size = Math.max(1, Math.floor(maxItemsPerCall));
  const batches: PurgeTarget[] = [];
  for (let start = 0; start < items.length; start += size) {
    const batch: PurgeTarget = { urls: [], dirs: [] };
    for (const item of items.slice(start, start + size)) batch[item.kind].push(item.value);
    batches.push(batch);
  }
  return batches;
}

const TERMINAL = new Set(['success', 'failure']);
const KNOWN = new Set(['wait', 'run', 'success', 'failure']);
/** Enough paths to act on without a 1000-item purge producing a reason of tens of kilobytes. */
const MAX_LISTED_PATHS = 20;

/**
 * Per-item statuses -> one RemoteStatus. The doc spells them `wait`, `run`, `Success`, `Failure` while its
 * sample uses lower case, so they are compared case-insensitively. An unknown status counts as running (the
 * poll deadline bounds it) and carries a note so the worker can log it.
 */
export function aggregateStatus(items: readonly StatusItem[]): RemoteStatus {
  if (items.length === 0) return { state: 'running', note: 'no items yet' };
  const statuses = items.map((item) => item.status.trim().toLowerCase());
  const progress = meanRate(items);
  const withProgress = progress === undefined ? {} : { progress };
  if (statuses.every((s) => s === 'success')) return { state: 'succeeded', progress: 100 };
  if (statuses.every((s) => TERMINAL.has(s))) {
    const failed = items.filter((_, i) => statuses[i] === 'failure').map((item) => item.path || '(no path)');
    const listed = failed.slice(0, MAX_LISTED_PATHS).join(', ');
    const more = failed.length > MAX_LISTED_PATHS ? ` and ${failed.length - MAX_LISTED_PATHS} more` : '';
    return { state: 'failed', reason: `failed: ${listed}${more}`, ...withProgress };
  }
  const unknown = [
    ...new Set(items.map((item) => item.status).filter((_, i) => !KNOWN.has(statuses[i] ?? ''))),
  ];
  const note =
    unknown.length === 0
      ? {}
      : { note: `unknown QUANTIL item status ${unknown.map((s) => JSON.stringify(s)).join(', ')}` };
  if (unknown.length === 0 && statuses.every((s) => s === 'wait'))
    return { state: 'pending', ...withProgress };
  return { state: 'running', ...withProgress, ...note };
}

/** Mean of the readable `rate`s, each clamped to 0..100; undefined when none can be read. */
export function meanRate(items: readonly StatusItem[]): number | undefined {
  const rates = items
    .map((item) => Number.parseFloat(item.rate))
    .filter((rate) => Number.isFinite(rate))
    .map((rate) => Math.min(100, Math.max(0, rate)));
  if (rates.length === 0) return undefined;
  return rates.reduce((sum, rate) => sum + rate, 0) / rates.length;
}
