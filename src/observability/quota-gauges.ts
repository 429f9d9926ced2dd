import { Gauge, type Registry } from 'prom-client';
import type { Provider } from '../providers/provider.ts';
import type { QuotaLedger } from '../status/quota.ts';
import { createRedisGauges } from './read-gauge.ts';

const KINDS = ['urls', 'dirs'] as const;

export interface QuotaGaugeDeps {
  registry: Registry;
  providers: ReadonlyMap<string, Provider>;
  quota: Pick<QuotaLedger, 'used'>;
  now: () => number;
}

/**
 * Today's daily quota per CDN entry with one (QUANTIL), read from the counters ingest charges in Redis.
 * Labelled by the CDN entry's id, never by the account (its user name): two entries sharing an account
 * show the same counter twice.
 */
export function registerQuotaGauges({ registry, providers, quota, now }: QuotaGaugeDeps): void {
  const limited = () =>
    [...providers.values()].flatMap((provider) =>
      KINDS.flatMap((kind) => {
        const limit = provider.capabilities.dailyQuota?.[kind];
        return limit === undefined ? [] : [{ provider, kind, limit }];
      }),
    );
  new Gauge({
    name: 'purge_worker_quota_limit',
    help: "Items a CDN account may purge per UTC day, by kind (the CDN's daily quota)",
    labelNames: ['cdn', 'kind'],
    registers: [registry],
    collect() {
      this.reset();
      for (const { provider, kind, limit } of limited()) this.set({ cdn: provider.cdnId, kind }, limit);
    },
  });
  createRedisGauges(registry).add({
    name: 'purge_worker_quota_remaining',
    help: 'Items a CDN account may still purge today (UTC), by kind: its daily quota less what accepted purges reserved',
    labelNames: ['cdn', 'kind'],
    read: () => {
      const at = now();
      return Promise.all(
        limited().map(async ({ provider, kind, limit }) => {
          const used = await quota.used(provider, kind, at);
          return [{ cdn: provider.cdnId, kind }, Math.max(0, limit - used)] as const;
        }),
      );
    },
  });
}
