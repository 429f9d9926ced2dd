import type { RouteConfig } from '../config/schema.ts';
import { PurgeError } from '../errors.ts';
import type { PurgeRequest, PurgeTarget } from '../model/purge.ts';
import type { Provider } from '../providers/provider.ts';
import { routeUrls } from './route.ts';

export interface PlannedBatch {
  /** `<cdnId>-<n>`: unique within its purge, and free of `:` so it can be part of a BullMQ job id. */
  batchId: string;
  cdnId: string;
  target: PurgeTarget;
}

export interface PurgePlan {
  purgeId: string;
  request: { urls: number; dirs: number; tags?: number; pattern?: string; all?: boolean };
  cdns: string[];
  /** What each CDN must purge, canonical and de-duplicated: what waits in its pending set. */
  targets: ReadonlyMap<string, PurgeTarget>;
  /** How the provider would split this purge alone into calls (coalescing may merge it with others). */
  batches: PlannedBatch[];
}

export interface PlanContext {
  routes: readonly RouteConfig[];
  providers: ReadonlyMap<string, Provider>;
}

/**
 * Decides, before anything is queued, which CDNs get what and in how many API calls. Every refusal
 * (unknown CDN, unrouted host, unsupported kind) happens here, so a request is either wholly planned or
 * rejected with nothing enqueued.
 */
export function planPurge(purgeId: string, request: PurgeRequest, context: PlanContext): PurgePlan {
  const { plan, refused } = planEachCdn(purgeId, request, context);
  if (refused[0]) throw refused[0].error;
  return plan;
}

/** A CDN that cannot take what the request asks of it (a kind it does not support, a URL it cannot fit). */
export interface CdnRefusal {
  cdnId: string;
  target: PurgeTarget;
  error: PurgeError;
}

/**
 * planPurge, CDN by CDN: a CDN's own refusal sets it apart (with its target and error) instead of ending
 * the plan, so a dry run can name every refusal at once. A request-wide error (a bad CDN id, an unrouted
 * host) still throws. `plan` holds only the CDNs that accepted.
 */
export function planEachCdn(
  purgeId: string,
  request: PurgeRequest,
  context: PlanContext,
): { plan: PurgePlan; refused: CdnRefusal[] } {
  const targets = targetsByCdn(request, context);
  const batches: PlannedBatch[] = [];
  const refused: CdnRefusal[] = [];
  for (const [cdnId, target] of targets) {
    const provider = context.providers.get(cdnId);
    if (!provider) throw new PurgeError('REQUEST_INVALID', `unknown CDN "${cdnId}"`);
    let split: PurgeTarget[];
    try {
      split = provider.toBatches(target);
    } catch (error) {
      if (!(error instanceof PurgeError)) throw error;
      refused.push({ cdnId, target, error });
      continue;
    }
    split.forEach((batch, index) => {
      batches.push({ batchId: `${cdnId}-${index}`, cdnId, target: batch });
    });
  }
  for (const { cdnId } of refused) targets.delete(cdnId);
  return { plan: planOf(purgeId, request, targets, batches), refused };
}

function planOf(
  purgeId: string,
  request: PurgeRequest,
  targets: Map<string, PurgeTarget>,
  batches: PlannedBatch[],
): PurgePlan {
  return {
    purgeId,
    request: {
      urls: request.urls?.length ?? 0,
      dirs: request.dirs?.length ?? 0,
      ...(request.tags && request.tags.length > 0 ? { tags: request.tags.length } : {}),
      ...(request.pattern === undefined ? {} : { pattern: request.pattern }),
      ...(request.all ? { all: true } : {}),
    },
    cdns: [...targets.keys()],
    targets,
    batches,
  };
}

function targetsByCdn(request: PurgeRequest, context: PlanContext): Map<string, PurgeTarget> {
  const urls = dedupe(request.urls ?? []);
  const dirs = dedupe(request.dirs ?? []);
  const tags = dedupe(request.tags ?? []);
  const withTags = tags.length > 0 ? { tags } : {};
  const shared = {
    ...withTags,
    ...(request.pattern === undefined ? {} : { pattern: request.pattern }),
    ...(request.all ? { all: true } : {}),
  };
  if (request.cdns) {
    const unknown = request.cdns.filter((id) => !context.providers.has(id));
    if (unknown.length > 0)
      throw new PurgeError('REQUEST_INVALID', `unknown CDN id(s): ${unknown.join(', ')}`);
    // Each CDN named gets the tags too: one that cannot purge them refuses (KIND_UNSUPPORTED, naming it).
    return new Map(dedupe(request.cdns).map((cdnId) => [cdnId, { urls, dirs, ...shared }]));
  }
  if (request.pattern !== undefined || request.all) {
    throw new PurgeError('REQUEST_INVALID', 'a pattern or all: true purge must name its CDNs (cdns)');
  }
  const urlsByCdn = routeUrls(context.routes, urls);
  const dirsByCdn = routeUrls(context.routes, dirs);
  // A tag names no host: without `cdns`, it goes to every CDN that purges by tag, as the origin may have
  // tagged objects behind any of them.
  const tagCdns = tags.length > 0 ? tagCapableCdns(context) : [];
  const cdnIds = dedupe([...urlsByCdn.keys(), ...dirsByCdn.keys(), ...tagCdns]);
  return new Map(
    cdnIds.map((cdnId) => [
      cdnId,
      {
        urls: urlsByCdn.get(cdnId) ?? [],
        dirs: dirsByCdn.get(cdnId) ?? [],
        ...(tagCdns.includes(cdnId) ? withTags : {}),
      },
    ]),
  );
}

function tagCapableCdns(context: PlanContext): string[] {
  const ids = [...context.providers.values()]
    .filter((provider) => provider.capabilities.kinds.has('tags'))
    .map((provider) => provider.cdnId);
  if (ids.length === 0) {
    throw new PurgeError(
      'KIND_UNSUPPORTED',
      'no configured CDN purges by tags (Fastly, Cloudflare and Akamai do): name the CDNs with cdns, or drop tags',
    );
  }
  return ids;
}

function dedupe<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}

/**
 * Plans what is already decided per CDN (a replay sends each CDN its own part of an earlier purge): the same
 * checks as planPurge (every CDN still configured, every kind still supported), nothing routed again.
 */
export function planTargets(
  purgeId: string,
  targets: ReadonlyMap<string, PurgeTarget>,
  providers: ReadonlyMap<string, Provider>,
): PurgePlan {
  const batches: PlannedBatch[] = [];
  const urls = new Set<string>();
  const dirs = new Set<string>();
  const tags = new Set<string>();
  let pattern: string | undefined;
  let all = false;
  for (const [cdnId, target] of targets) {
    const provider = providers.get(cdnId);
    if (!provider) throw new PurgeError('REQUEST_INVALID', `unknown CDN "${cdnId}" (no longer configured)`);
    provider.toBatches(target).forEach((batch, index) => {
      batches.push({ batchId: `${cdnId}-${index}`, cdnId, target: batch });
    });
    for (const url of target.urls) urls.add(url);
    for (const dir of target.dirs) dirs.add(dir);
    for (const tag of target.tags ?? []) tags.add(tag);
    pattern ??= target.pattern;
    all ||= target.all === true;
  }
  return {
    purgeId,
    request: {
      urls: urls.size,
      dirs: dirs.size,
      ...(tags.size > 0 ? { tags: tags.size } : {}),
      ...(pattern === undefined ? {} : { pattern }),
      ...(all ? { all: true } : {}),
    },
    cdns: [...targets.keys()],
    targets,
    batches,
  };
}
