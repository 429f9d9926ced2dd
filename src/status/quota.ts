import { readFileSync } from 'node:fs';
import { PurgeError } from '../errors.ts';
import type { PurgeTarget } from '../model/purge.ts';
import type { PurgePlan } from '../pipeline/plan.ts';
import type { Provider } from '../providers/provider.ts';
import type { RedisClient } from '../queue/connection.ts';
import { quotaKey } from './keys.ts';
import type { QuotaCharge } from './store.ts';

export interface QuotaReservation {
  /** Gives the items back (the purge was a duplicate, or could not be written). */
  release(): Promise<void>;
}

export interface QuotaLedger {
  /** Reserves every quota the plan uses, all or nothing; throws QUOTA_EXCEEDED naming the CDN and kind. */
  reserve(plan: PurgePlan, now: number): Promise<QuotaReservation>;
  used(provider: Provider, kind: 'urls' | 'dirs', now: number): Promise<number>;
  /** What one batch of a purge created at `createdAt` was charged (empty for a CDN without quotas). */
  chargesOf(provider: Provider, target: PurgeTarget, createdAt: number): QuotaCharge[];
}

type ScriptedRedis = RedisClient & { purgeQuota(numKeys: number, ...args: string[]): Promise<number> };

interface Demand {
  key: string;
  amount: number;
  limit: number;
  cdnId: string;
  kind: 'urls' | 'dirs';
}

/** UTC day, the unit QUANTIL's "per day" quota is assumed to use (inferred: the doc does not say). */
export function quotaDay(now: number): string {
  return new Date(now).toISOString().slice(0, 10);
}

/**
 * Daily quotas are per CDN account, so two CDN entries with the same credentials share one counter.
 * Reserving at enqueue time refuses over-quota work up front instead of letting it fail at the CDN.
 * A crash-repeat submit is not charged again here: the CDN may count it, so keep a margin in mind.
 */
export function createQuotaLedger(
  redis: RedisClient,
  prefix: string,
  providers: ReadonlyMap<string, Provider>,
): QuotaLedger {
  const client = redis as ScriptedRedis;
  if (typeof client.purgeQuota !== 'function') {
    const lua = readFileSync(new URL('./quota.lua', import.meta.url), 'utf8');
    redis.defineCommand('purgeQuota', { lua });
  }
  const keyFor = (provider: Provider, kind: 'urls' | 'dirs', now: number) =>
    quotaKey(prefix, provider.name, provider.quotaAccount ?? provider.cdnId, kind, quotaDay(now));

  /** One batch's charge per quota counter; both the reservation and a refund are built from it. */
  function batchDemands(provider: Provider, target: PurgeTarget, now: number): Demand[] {
    const quota = provider.capabilities.dailyQuota;
    if (!quota) return [];
    const found: Demand[] = [];
    for (const kind of ['urls', 'dirs'] as const) {
      const limit = quota[kind];
      const amount = target[kind].length;
      if (limit === undefined || amount === 0) continue;
      found.push({ key: keyFor(provider, kind, now), amount, limit, cdnId: provider.cdnId, kind });
    }
    return found;
  }

  function demands(plan: PurgePlan, now: number): Demand[] {
    const byKey = new Map<string, Demand>();
    for (const batch of plan.batches) {
      const provider = providers.get(batch.cdnId);
      if (!provider) continue;
      for (const demand of batchDemands(provider, batch.target, now)) {
        const entry = byKey.get(demand.key);
        if (entry) entry.amount += demand.amount;
        else byKey.set(demand.key, demand);
      }
    }
    return [...byKey.values()];
  }

  return {
    async reserve(plan, now) {
      const wanted = demands(plan, now);
      if (wanted.length === 0) return { release: async () => {} };
      const args = wanted.flatMap((d) => [String(d.amount), String(d.limit)]);
      const refused = await client.purgeQuota(
        wanted.length,
        ...wanted.map((d) => d.key),
        String(2 * 86_400),
        ...args,
      );
      if (refused > 0) {
        const over = wanted[refused - 1] as Demand;
        const left = Math.max(0, over.limit - Number((await redis.get(over.key)) ?? 0));
        throw new PurgeError(
          'QUOTA_EXCEEDED',
          `CDN ${over.cdnId}: daily quota of ${over.limit} ${over.kind} would be exceeded (${over.amount} requested, ${left} left today, UTC)`,
        );
      }
      return {
        async release() {
          const pipeline = redis.pipeline();
          for (const d of wanted) pipeline.decrby(d.key, d.amount);
          await pipeline.exec();
        },
      };
    },
    async used(provider, kind, now) {
      return Number((await redis.get(keyFor(provider, kind, now))) ?? 0);
    },
    chargesOf(provider, target, createdAt) {
      return batchDemands(provider, target, createdAt).map(({ key, amount }) => ({ key, amount }));
    },
  };
}
