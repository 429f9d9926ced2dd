/**
 * Purges on their way to a CDN's caches. A CDN simulator hands each accepted purge over as an order whose
 * parts report the CDN's own progress; an order reaches the caches as that progress says (read lazily, on
 * the simulator's clock, whenever a cache is about to answer): the shield first, then edge j of K once the
 * progress passes (j+1)/K, every edge by success. So an edge is never fresh before its CDN has accepted the
 * purge, a client checking while the task runs may meet stale edges, and a failed purge leaves the edges it
 * had not reached yet stale, as QUANTIL's `rate` ("share of cache servers updated") describes.
 */
import type { PurgeScope } from './scope.ts';

export type PurgeProgress =
  | { state: 'running'; percent: number }
  | { state: 'succeeded' }
  | { state: 'failed' };

export interface PurgePart extends PurgeScope {
  /** Read each time the caches settle: the CDN's current view of this part (a task, an item). */
  progress(): PurgeProgress;
}

export interface PurgeOrder {
  /** Unique per purge, e.g. `vims:5001`; missNextPurge skips every part of one order. */
  id: string;
  /** The edges it is for, in any order; omitted: every edge of the fleet. Unknown ids are ignored. */
  edgeIds?: readonly string[];
  parts: readonly PurgePart[];
}

/** What a CDN simulator needs of its caches. */
export interface PurgeReceiver {
  receive(order: PurgeOrder): void;
}

export const SHIELD = Symbol('shield');
export type PurgeNode = string | typeof SHIELD;

/** How the ledger touches the caches: `skipped` is a missed purge (the edge keeps its copies). */
export interface PurgeApplier {
  apply(node: PurgeNode, order: PurgeOrder, part: PurgePart, skipped: boolean): void;
}

export interface PurgeLedger extends PurgeReceiver {
  /** Applies every part that has reached a cache since the last call. */
  settle(): void;
  /** The next order to reach `edgeId` passes it by (called twice: the next two). */
  missNext(edgeId: string): void;
  readonly pending: number;
}

interface Pending {
  order: PurgeOrder;
  targets: string[];
  /** node + part index pairs already applied. */
  applied: Set<string>;
  /** Edges that spent their missNextPurge on this order. */
  skippedBy: Set<string>;
}

/** How many of K edges a part has reached (0 means not even the shield). */
function reached(progress: PurgeProgress, k: number): number {
  if (progress.state === 'succeeded') return k;
  if (progress.state === 'failed') return 0;
  // The epsilon keeps 33.33...% x 3 from landing just under 1 in floating point.
  const count = Math.floor((progress.percent * k) / 100 + 1e-9);
  return Math.min(k, Math.max(0, count));
}

export function createPurgeLedger(
  edgeIds: readonly string[],
  applier: PurgeApplier,
  maxPending = 10_000,
): PurgeLedger {
  // Insertion order is arrival order: older purges apply first, as a CDN queues them.
  const orders = new Map<string, Pending>();
  // Per edge, how many coming orders it will pass by.
  const missing = new Map<string, number>();

  function applyOnce(pending: Pending, node: PurgeNode, index: number, part: PurgePart): void {
    const mark = `${typeof node === 'string' ? `edge:${node}` : 'shield'}#${index}`;
    if (pending.applied.has(mark)) return;
    pending.applied.add(mark);
    let skipped = false;
    if (typeof node === 'string') {
      const toMiss = missing.get(node) ?? 0;
      if (toMiss > 0 && !pending.skippedBy.has(node)) {
        pending.skippedBy.add(node);
        if (toMiss === 1) missing.delete(node);
        else missing.set(node, toMiss - 1);
      }
      skipped = pending.skippedBy.has(node);
    }
    applier.apply(node, pending.order, part, skipped);
  }

  return {
    receive(order) {
      const wanted = new Set(order.edgeIds ?? edgeIds);
      const targets = edgeIds.filter((id) => wanted.has(id));
      if (targets.length === 0 || order.parts.length === 0) return;
      orders.delete(order.id);
      // Bounded: a purge pinned as running forever must not grow this without end. The oldest gives way and
      // reaches no further cache.
      for (const oldest of orders.keys()) {
        if (orders.size < maxPending) break;
        orders.delete(oldest);
      }
      orders.set(order.id, { order, targets, applied: new Set(), skippedBy: new Set() });
    },
    settle() {
      for (const [id, pending] of orders) {
        const { order, targets } = pending;
        order.parts.forEach((part, index) => {
          const count = reached(part.progress(), targets.length);
          if (count === 0) return;
          // The shield sits between the edges and the origin: a CDN purges it before any edge refetches.
          applyOnce(pending, SHIELD, index, part);
          for (const edgeId of targets.slice(0, count)) applyOnce(pending, edgeId, index, part);
        });
        if (pending.applied.size === order.parts.length * (targets.length + 1)) orders.delete(id);
      }
    },
    missNext(edgeId) {
      if (!edgeIds.includes(edgeId)) throw new Error(`unknown edge ${edgeId}`);
      missing.set(edgeId, (missing.get(edgeId) ?? 0) + 1);
    },
    get pending() {
      return orders.size;
    },
  };
}
