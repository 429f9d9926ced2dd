import { normalizeName } from '../net/address-guard.ts';

/**
 * This process's callback delivery slots, counted per receiver host, with the jobs waiting for each.
 *
 * Why: the callback worker has `callbacks.concurrency` slots. Without a per-host bound, one receiver
 * that never answers takes every slot for `timeoutMs` per attempt, and every other receiver's callbacks
 * wait behind it for hours. A host may hold at most `perHostConcurrency` slots; a job whose host has
 * none free is moved back to delayed (by the worker, without spending an attempt), which frees its
 * worker slot for another host's job. When a slot of a host frees, the oldest job deferred for that
 * host here is named so the worker can promote it at once: a busy but healthy receiver keeps its
 * slots in use, while the deferral delay is only the fallback for when that hint is lost.
 *
 * Hosts are counted by their normalised name (see normalizeName): `CMS.example.com.` is `cms.example.com`,
 * so spelling a receiver differently cannot win it more slots.
 *
 * In memory on purpose: the count is of this process's own deliveries (N processes give a host N x
 * perHostConcurrency of N x concurrency slots, the same share), and a crash loses nothing durable: the
 * delayed jobs wake by their own delay, and a delivery that died with the process stalls and re-runs.
 */
export interface HostSlots {
  /** Takes a slot of `host` for job `jobId`; false when the host already holds its share. */
  take(host: string, jobId: string): boolean;
  /** Notes that `jobId` waits (delayed) for a slot of `host`. */
  defer(host: string, jobId: string): void;
  /** Gives the slot back. */
  give(host: string): void;
  /** The oldest job deferred for `host` here, forgotten as it is returned (to be promoted). */
  nextWaiting(host: string): string | undefined;
}

/** Most job ids remembered as waiting per host; past it the oldest rely on their delay alone. */
const MAX_WAITING_PER_HOST = 10_000;

export function createHostSlots(perHost: number): HostSlots {
  const busy = new Map<string, number>();
  const waiting = new Map<string, Set<string>>();
  return {
    take(spelled, jobId) {
      const host = normalizeName(spelled);
      const used = busy.get(host) ?? 0;
      if (used >= perHost) return false;
      busy.set(host, used + 1);
      const ids = waiting.get(host);
      if (ids?.delete(jobId) && ids.size === 0) waiting.delete(host);
      return true;
    },
    defer(spelled, jobId) {
      const host = normalizeName(spelled);
      let ids = waiting.get(host);
      if (!ids) {
        ids = new Set();
        waiting.set(host, ids);
      }
      ids.delete(jobId);
      ids.add(jobId);
      if (ids.size > MAX_WAITING_PER_HOST) ids.delete(ids.values().next().value as string);
    },
    give(spelled) {
      const host = normalizeName(spelled);
      const used = (busy.get(host) ?? 1) - 1;
      if (used > 0) busy.set(host, used);
      else busy.delete(host);
    },
    nextWaiting(spelled) {
      const host = normalizeName(spelled);
      const ids = waiting.get(host);
      const oldest = ids?.values().next().value;
      if (oldest === undefined) return undefined;
      ids?.delete(oldest);
      if (ids?.size === 0) waiting.delete(host);
      return oldest;
    },
  };
}

/** Where a job waits after its host had no free slot: 100 ms, doubling with each deferral, at most 30 s. */
export function deferralDelayMs(deferrals: number, random: () => number = Math.random): number {
  const base = Math.min(30_000, 100 * 2 ** Math.min(Math.max(0, deferrals), 20));
  return Math.round(base * (0.5 + 0.5 * random()));
}
