import type { ErrorCode } from '../errors.ts';
import { PRIORITIES, type Priority } from '../model/purge.ts';
import type { Provider } from '../providers/provider.ts';
import { forecastTakes, type PendingEntry, type TakeBudget } from '../status/flush-forecast.ts';
import { pendingMembers } from '../status/pending-targets.ts';
import type { PendingPreview, PreviewReader, PreviewReads } from '../status/preview.ts';
import { quotaDay } from '../status/quota.ts';
import type { CdnWork, IdempotencyClaim, QuotaCounter } from '../status/store.ts';
import { callBudgetOf } from './call-budget.ts';

/**
 * Most pending targets a dry run reads per CDN (oldest first). A pending set is normally one window's worth,
 * but a CDN that rate-limits or is down lets it grow without bound: past this, the forecast of its calls
 * stops at the targets read (`callsComplete: false`) rather than reading them all.
 */
export const FORECAST_PENDING_LIMIT = 10_000;

export interface KindCounts {
  urls: number;
  dirs: number;
  tags: number;
  pattern: number;
  all: number;
}

/** One CDN call a flush would make: the pending targets it carries by kind, and how many are this request's. */
export interface ForecastCall extends KindCounts {
  fromThisRequest: number;
}

export interface QuotaForecast {
  limit: number;
  /** Used today (UTC) so far, by every purge of the account. */
  used: number;
  /** What accepting the request would charge (all CDN entries of the account together). */
  charge: number;
  /** Left today before this request: limit - used. */
  left: number;
}

export type CdnQuotaForecast =
  | { limited: false }
  | { limited: true; day: string; urls?: QuotaForecast; dirs?: QuotaForecast };

export interface CdnForecast {
  /** What the request asks of this CDN, canonical and de-duplicated. */
  targets: KindCounts;
  /** Of those, the ones already waiting for a call: a purge joins them, and they are not sent or charged again. */
  alreadyPending: KindCounts;
  /** Targets pending for this CDN now, from every purge. */
  pending: number;
  /** How much one call takes. */
  perCall: { maxItems: number; maxChars?: number; charsOf?: 'path' | 'url' };
  /** The calls the next flushes would make of the pending targets and this request's new ones, in order. */
  calls: ForecastCall[];
  /** False when more targets are pending than a dry run reads: `calls` covers the oldest of them only. */
  callsComplete: boolean;
  quota: CdnQuotaForecast;
}

export interface DryRunRefusal {
  code: ErrorCode;
  message: string;
  /** The CDN that refuses (a kind it does not support, its account's quota). */
  cdn?: string;
  kind?: 'urls' | 'dirs';
  limit?: number;
  used?: number;
  charge?: number;
}

export interface DryRunReport {
  dryRun: true;
  /** What sending the request for real now would do: a new purge, a repeat of `duplicateOf`, or a refusal. */
  outcome: 'accepted' | 'duplicate' | 'refused';
  /** The earlier purge the idempotency key maps to, for the same request. */
  duplicateOf?: string;
  cdns: Record<string, CdnForecast>;
  /** Every refusal found, in the order a real request meets them: the first is the one it would get. */
  wouldBeRefused: DryRunRefusal[];
}

/** What the planning of a request gave for one CDN: its work, or the refusal that keeps it from taking any. */
export type PlannedCdn = CdnWork & { refusal?: { code: ErrorCode; message: string } };

export interface DryRunInput {
  cdns: readonly PlannedCdn[];
  /** The lane the request would go in: where its new targets wait, which of its pending ones move up. */
  lane: Priority;
  idempotency?: IdempotencyClaim;
  providers: ReadonlyMap<string, Provider>;
  reader: PreviewReader;
  now: number;
}

/**
 * The answer to a dry run: the request's plan (made by the same code as a real one), set against what
 * Redis holds now, read in one read-only call. Mirrors ingest.lua's accounting (a target already pending is
 * joined, not charged; `all` costs what the CDN makes of it) and take.lua's choice of calls.
 */
export async function dryRun(input: DryRunInput): Promise<DryRunReport> {
  const { cdns, now } = input;
  const members = cdns.map((cdn) => pendingMembers(cdn.target));
  const counters = distinctCounters(cdns);
  const reads = await input.reader.read({
    ...(input.idempotency ? { idempotency: input.idempotency } : {}),
    cdns: cdns.map((cdn, c) => ({ cdnId: cdn.cdnId, members: members[c] ?? [] })),
    quotaKeys: counters.map((counter) => counter.key),
    pendingLimit: FORECAST_PENDING_LIMIT,
  });
  // A CDN that refuses the request takes none of it: nothing of it would be sent there or charged.
  const fresh = cdns.map((cdn, c) =>
    cdn.refusal ? [] : (members[c] ?? []).filter((_, i) => reads.pending[c]?.joined[i] === undefined),
  );
  const charges = chargesOf(cdns, fresh);
  const used = new Map(counters.map((counter, q) => [counter.key, reads.quotaUsed[q] ?? 0]));

  const report: Record<string, CdnForecast> = {};
  cdns.forEach((cdn, c) => {
    const provider = input.providers.get(cdn.cdnId);
    if (!provider) throw new Error(`no provider for CDN ${cdn.cdnId}`);
    report[cdn.cdnId] = forecastCdn({
      members: members[c] ?? [],
      fresh: fresh[c] ?? [],
      reads: reads.pending[c] ?? NOTHING_PENDING,
      lane: input.lane,
      budget: callBudgetOf(provider),
      quota: quotaForecast(cdn, used, charges, now),
      now,
    });
  });

  const refusals = [
    ...cdns.flatMap((cdn) => (cdn.refusal ? [{ ...cdn.refusal, cdn: cdn.cdnId }] : [])),
    ...idempotencyRefusals(reads, input.idempotency),
  ];
  // ingest.lua answers a used idempotency key (a repeat, or a 409) before it sheds, and planning refusals
  // come before ingest.lua runs at all: shedding is the last refusal a real request could meet.
  if (input.lane === 'bulk' && !reads.idempotency) refusals.push(...shedRefusals(cdns, reads));
  const duplicateOf = reads.idempotency?.sameRequest ? reads.idempotency.id : undefined;
  // A repeat is answered from the earlier purge before any quota is looked at.
  if (duplicateOf === undefined) refusals.push(...quotaRefusals(counters, used, charges));
  return {
    dryRun: true,
    outcome: refusals.length > 0 ? 'refused' : duplicateOf ? 'duplicate' : 'accepted',
    ...(duplicateOf ? { duplicateOf } : {}),
    cdns: report,
    wouldBeRefused: refusals,
  };
}

const NOTHING_PENDING: PendingPreview = {
  count: 0,
  counts: { urgent: 0, normal: 0, bulk: 0 },
  joined: [],
  oldest: [],
  readAll: true,
};

interface CdnForecastInput {
  members: readonly string[];
  fresh: readonly string[];
  reads: PendingPreview;
  lane: Priority;
  budget: TakeBudget;
  quota: CdnQuotaForecast;
  now: number;
}

function forecastCdn({ members, fresh, reads, budget, quota, now, lane }: CdnForecastInput): CdnForecast {
  const callsComplete = reads.readAll;
  // A target of the request already waiting in a less urgent lane moves up to the request's (ingest.lua),
  // as accepted now.
  const rank = (name: Priority) => PRIORITIES.indexOf(name);
  const movedUp = new Set(
    members.filter((_, i) => {
      const waitsIn = reads.joined[i];
      return waitsIn !== undefined && rank(lane) < rank(waitsIn);
    }),
  );
  const read = reads.oldest.map((entry) =>
    movedUp.has(entry.member) ? { ...entry, lane, acceptedAt: now } : entry,
  );
  // New targets enter their lane as accepted now, behind every target already there; when not all of those
  // were read, where the new ones fall among the unread is unknown, so they are left out.
  const pending: PendingEntry[] = callsComplete
    ? [...read, ...fresh.map((member) => ({ member, acceptedAt: now, lane }))]
    : read;
  const ours = new Set(members);
  const calls = forecastTakes(pending, budget).map((taken) => ({
    ...kindCounts(taken),
    fromThisRequest: taken.filter((member) => ours.has(member)).length,
  }));
  return {
    targets: kindCounts(members),
    alreadyPending: kindCounts(members.filter((_, i) => reads.joined[i] !== undefined)),
    pending: reads.count,
    perCall: {
      maxItems: budget.maxItems,
      ...(budget.maxChars > 0 ? { maxChars: budget.maxChars, charsOf: budget.charsOf } : {}),
    },
    calls,
    callsComplete,
    quota,
  };
}

function kindCounts(members: readonly string[]): KindCounts {
  const counts: KindCounts = { urls: 0, dirs: 0, tags: 0, pattern: 0, all: 0 };
  for (const member of members) {
    if (member === 'a') counts.all += 1;
    else if (member.startsWith('u ')) counts.urls += 1;
    else if (member.startsWith('d ')) counts.dirs += 1;
    else if (member.startsWith('t ')) counts.tags += 1;
    else if (member.startsWith('p ')) counts.pattern += 1;
  }
  return counts;
}

/** Each quota counter once: CDN entries of one account share theirs. */
function distinctCounters(cdns: readonly PlannedCdn[]): QuotaCounter[] {
  const byKey = new Map<string, QuotaCounter>();
  for (const cdn of cdns) {
    for (const counter of [cdn.quota?.urls, cdn.quota?.dirs]) {
      if (counter && !byKey.has(counter.key)) byKey.set(counter.key, counter);
    }
  }
  return [...byKey.values()];
}

/** ingest.lua's charge: each new URL or dir on its kind's counter, `all` as what the CDN makes of it. */
function chargesOf(cdns: readonly PlannedCdn[], fresh: readonly (readonly string[])[]): Map<string, number> {
  const charges = new Map<string, number>();
  const add = (counter: QuotaCounter | undefined, amount: number) => {
    if (counter && amount > 0) charges.set(counter.key, (charges.get(counter.key) ?? 0) + amount);
  };
  cdns.forEach((cdn, c) => {
    for (const member of fresh[c] ?? []) {
      if (member.startsWith('u ')) add(cdn.quota?.urls, 1);
      else if (member.startsWith('d ')) add(cdn.quota?.dirs, 1);
      else if (member === 'a') {
        add(cdn.quota?.urls, cdn.allCost?.urls ?? 0);
        add(cdn.quota?.dirs, cdn.allCost?.dirs ?? 0);
      }
    }
  });
  return charges;
}

function quotaForecast(
  cdn: PlannedCdn,
  used: ReadonlyMap<string, number>,
  charges: ReadonlyMap<string, number>,
  now: number,
): CdnQuotaForecast {
  const { urls, dirs } = cdn.quota ?? {};
  if (!urls && !dirs) return { limited: false };
  const of = (counter: QuotaCounter): QuotaForecast => {
    const spent = used.get(counter.key) ?? 0;
    return {
      limit: counter.limit,
      used: spent,
      charge: charges.get(counter.key) ?? 0,
      left: counter.limit - spent,
    };
  };
  return {
    limited: true,
    day: quotaDay(now),
    ...(urls ? { urls: of(urls) } : {}),
    ...(dirs ? { dirs: of(dirs) } : {}),
  };
}

/** IDEMPOTENCY_KEY_REUSED's message, the same for a real request and a dry run. */
export function keyReusedMessage(key: string): string {
  return `idempotency key "${key}" was already used for a different request; use a new key for a new request`;
}

/** A bulk request while a CDN's bulk backlog is full (cdns[].maxBulkBacklog): 429 BACKLOG_FULL. */
function shedRefusals(cdns: readonly PlannedCdn[], reads: PreviewReads): DryRunRefusal[] {
  return cdns.flatMap((cdn, c) => {
    const backlog = reads.pending[c]?.counts.bulk ?? 0;
    if (!cdn.maxBulkBacklog || backlog < cdn.maxBulkBacklog) return [];
    return [
      {
        code: 'BACKLOG_FULL' as const,
        message: `CDN ${cdn.cdnId}: ${backlog} bulk targets are waiting (cdns[].maxBulkBacklog ${cdn.maxBulkBacklog}); bulk purges are refused until it drains`,
        cdn: cdn.cdnId,
        limit: cdn.maxBulkBacklog,
        used: backlog,
      },
    ];
  });
}

function idempotencyRefusals(reads: PreviewReads, claim: IdempotencyClaim | undefined): DryRunRefusal[] {
  if (!claim || !reads.idempotency || reads.idempotency.sameRequest) return [];
  return [
    {
      code: 'IDEMPOTENCY_KEY_REUSED',
      message: keyReusedMessage(claim.key),
    },
  ];
}

function quotaRefusals(
  counters: readonly QuotaCounter[],
  used: ReadonlyMap<string, number>,
  charges: ReadonlyMap<string, number>,
): DryRunRefusal[] {
  return counters.flatMap((counter) => {
    const spent = used.get(counter.key) ?? 0;
    const charge = charges.get(counter.key) ?? 0;
    if (charge === 0 || spent + charge <= counter.limit) return [];
    const left = Math.max(0, counter.limit - spent);
    return [
      {
        code: 'QUOTA_EXCEEDED',
        message: `CDN ${counter.cdnId}: daily quota of ${counter.limit} ${counter.kind} would be exceeded (${charge} to charge, ${left} left today, UTC)`,
        cdn: counter.cdnId,
        kind: counter.kind,
        limit: counter.limit,
        used: spent,
        charge,
      },
    ];
  });
}
