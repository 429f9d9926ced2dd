/**
 * One cache's objects, bounded: past `maxObjects` the least recently used is evicted, as a real edge's
 * memory would, so a long demo or a hostile client asking for endless URLs cannot grow it.
 */
import type { OriginObject } from './origin.ts';
import { type CacheKey, keyString, type PurgeScope } from './scope.ts';

export interface StoredObject {
  key: CacheKey;
  object: OriginObject;
  /** When this cache stored it, on the simulator's clock. */
  storedAt: number;
  /** The Age the upstream answered with (RFC 9111 §4.2.3): time it spent in caches before this one. */
  initialAge: number;
  /** Cache-Status members the upstream answered with, closest to the origin first ('' for none). */
  upstreamStatus: string;
  /** A shield's copy a purge passed over (stale shield): served once more, then dropped. */
  survivedPurge: boolean;
}

export interface Store {
  readonly size: number;
  get(key: CacheKey): StoredObject | undefined;
  set(entry: StoredObject): void;
  delete(key: CacheKey): void;
  /** Removes every object in scope; returns how many. */
  drop(scope: PurgeScope): number;
  /** Flags every object in scope as having survived a purge; returns how many. */
  markSurvivors(scope: PurgeScope): number;
  /** Drops every flagged survivor. */
  dropSurvivors(): void;
  entries(): StoredObject[];
}

/** Age in whole seconds (RFC 9111 `Age`), never negative even if the clock steps back. */
export function ageOf(entry: StoredObject, now: number): number {
  return entry.initialAge + Math.max(0, Math.floor((now - entry.storedAt) / 1000));
}

export function createStore(maxObjects: number): Store {
  if (!Number.isInteger(maxObjects) || maxObjects < 1) {
    throw new RangeError(`maxObjects must be a positive integer, got ${maxObjects}`);
  }
  // A Map iterates in insertion order: re-inserting on every hit keeps the least recently used first.
  const objects = new Map<string, StoredObject>();

  function inScope(scope: PurgeScope): string[] {
    if (scope.exact) {
      const id = keyString(scope.exact);
      return objects.has(id) ? [id] : [];
    }
    return [...objects].filter(([, entry]) => scope.matches(entry.key)).map(([id]) => id);
  }

  return {
    get size() {
      return objects.size;
    },
    get(key) {
      const id = keyString(key);
      const entry = objects.get(id);
      if (entry) {
        objects.delete(id);
        objects.set(id, entry);
      }
      return entry;
    },
    set(entry) {
      const id = keyString(entry.key);
      objects.delete(id);
      objects.set(id, entry);
      for (const oldest of objects.keys()) {
        if (objects.size <= maxObjects) break;
        objects.delete(oldest);
      }
    },
    delete(key) {
      objects.delete(keyString(key));
    },
    drop(scope) {
      const ids = inScope(scope);
      for (const id of ids) objects.delete(id);
      return ids.length;
    },
    markSurvivors(scope) {
      const ids = inScope(scope);
      for (const id of ids) {
        const entry = objects.get(id);
        if (entry) entry.survivedPurge = true;
      }
      return ids.length;
    },
    dropSurvivors() {
      for (const [id, entry] of objects) if (entry.survivedPurge) objects.delete(id);
    },
    entries: () => [...objects.values()],
  };
}
