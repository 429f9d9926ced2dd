import type { PurgeTarget } from '../model/purge.ts';
import type { Provider } from '../providers/provider.ts';
import type { RedisClient } from '../queue/connection.ts';
import { quotaKey } from './keys.ts';
import type { QuotaCharge, QuotaCounter } from './store.ts';

const KINDS = ['urls', 'dirs'] as const;

export interface QuotaLedger {
  /** The counters a CDN's URLs and dirs are charged to today (none for a CDN without daily quotas). */
  countersFor(provider: Provider, now: number): Partial<Record<'urls' | 'dirs', QuotaCounter>>;
  used(provider: Provider, kind: 'urls' | 'dirs', now: number): Promise<number>;
  /** What one batch, queued at `queuedAt`, was charged (empty for a CDN without quotas). */
  chargesOf(provider: Provider, target: PurgeTarget, queuedAt: number): QuotaCharge[];
}

/**
 * What a target really sends, per kind: `all` is no item of its own but what the provider makes of it
 * (QUANTIL: one dir-url per configured domain), and that is what the CDN's quota counts.
 */
export function sentItems(provider: Provider, target: PurgeTarget): Record<'urls' | 'dirs', number> {
  if (!target.all) return { urls: target.urls.length, dirs: target.dirs.length };
  const calls = provider.toBatches(target);
  return {
    urls: calls.reduce((sum, call) => sum + call.urls.length, 0),
    dirs: calls.reduce((sum, call) => sum + call.dirs.length, 0),
  };
}

/** UTC day, the unit QUANTIL's "per day" quota is assumed to use (inferred: the doc does not say). */
export function quotaDay(now: number): string {
  return new Date(now).toISOString().slice(0, 10);
}

/**
 * Daily quotas are per CDN account, so two CDN entries with the same credentials share one counter. The
 * charge is taken when a purge is accepted (ingest.lua, all or nothing), for the targets that will really be
 * sent: one already pending for the CDN is joined, not charged again. A batch the CDN never accepted gives
 * its share back (transition.lua). A crash-repeat submit is not charged again: the CDN may count it.
 */
export function createQuotaLedger(redis: RedisClient, prefix: string): QuotaLedger {
  const keyFor = (provider: Provider, kind: 'urls' | 'dirs', now: number) =>
    quotaKey(prefix, provider.name, provider.quotaAccount ?? provider.cdnId, kind, quotaDay(now));

  return {
    countersFor(provider, now) {
      const quota = provider.capabilities.dailyQuota;
      const counters: Partial<Record<'urls' | 'dirs', QuotaCounter>> = {};
      for (const kind of KINDS) {
        const limit = quota?.[kind];
        if (limit !== undefined)
          counters[kind] = { key: keyFor(provider, kind, now), limit, cdnId: provider.cdnId, kind };
      }
      return counters;
    },
    async used(provider, kind, now) {
      return Number((await redis.get(keyFor(provider, kind, now))) ?? 0);
    },
    chargesOf(provider, target, queuedAt) {
      const quota = provider.capabilities.dailyQuota;
      const sent = sentItems(provider, target);
      return KINDS.filter((kind) => quota?.[kind] !== undefined && sent[kind] > 0).map((kind) => ({
        key: keyFor(provider, kind, queuedAt),
        amount: sent[kind],
      }));
    },
  };
}
