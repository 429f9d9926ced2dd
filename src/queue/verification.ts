import type { CdnConfig } from '../config/schema.ts';
import type { Priority, PurgeTarget } from '../model/purge.ts';
import type { HostLookup } from '../net/address-guard.ts';
import type { VerificationContext } from '../pipeline/verify-step.ts';
import type { Provider } from '../providers/provider.ts';
import { createEdgeChecker } from '../verify/check.ts';
import { createEdgeSource } from '../verify/edges.ts';

export interface VerificationDeps {
  now: () => number;
  lookup?: HostLookup;
  /** Accepts a re-purge of one CDN's targets as a purge of its own (the producer's enqueuePlanned). */
  repurge: (
    cdnId: string,
    target: PurgeTarget,
    of: { batchId: string; key: string; lane: Priority },
  ) => Promise<string>;
}

/**
 * A CDN's verification (cdns[].verify), or undefined when it neither checks its edges nor purges twice: its
 * batches then end when the CDN says done, as before.
 */
export function verificationFor(
  cdn: CdnConfig,
  provider: Provider,
  deps: VerificationDeps,
): VerificationContext | undefined {
  const config = cdn.verify;
  if (!config || (!config.enabled && config.repeatAfterMs === undefined)) return undefined;
  const edges = createEdgeSource(config, provider, { now: deps.now, timeoutMs: config.timeoutMs });
  const checker = createEdgeChecker(config, {
    edges,
    now: deps.now,
    ...(deps.lookup ? { lookup: deps.lookup } : {}),
  });
  return {
    config,
    check: (urls, acceptedAt, signal) => checker.check(urls, acceptedAt, signal),
    repurge: (target, of) => deps.repurge(cdn.id, target, of),
  };
}
