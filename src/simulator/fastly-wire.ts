/**
 * What Fastly's purge API answers, as data: its routes, its JSON bodies and error messages, its opaque purge
 * ids, and the cache (host + path and query, surrogate keys, stale marks) its purges act on.
 * shared/providers/fastly.md: statuses and messages marked inferred there are inferred here too.
 */
import { jsonReply, type Reply } from './faults.ts';

export const MAX_KEYS_PER_BATCH = 256;

export type FastlyRoute =
  | { op: 'submit'; kind: 'url'; host: string; path: string; via: 'api' | 'edge' }
  | { op: 'submit'; kind: 'key'; serviceId: string; key: string }
  | { op: 'submit'; kind: 'keys'; serviceId: string }
  | { op: 'submit'; kind: 'all'; serviceId: string }
  | { op: 'unknown' };

const SERVICE_PURGE = /^\/service\/([^/?]+)\/(purge_all|purge)(?:\/([^/?]+))?\/?(?:\?.*)?$/;

/**
 * `target` is the request target as sent (path and query). `POST /purge/{host}{path}` is the API's URL purge;
 * `PURGE {path}` with the site's Host is the edge's own form, which reaches the service serving that host.
 */
export function route(method: string, target: string, host: string | undefined): FastlyRoute {
  if (method === 'PURGE') {
    if (!host) return { op: 'unknown' };
    return { op: 'submit', kind: 'url', host: host.toLowerCase(), path: target, via: 'edge' };
  }
  if (method !== 'POST') return { op: 'unknown' };
  if (target.startsWith('/purge/')) {
    const cached = target.slice('/purge/'.length);
    const end = cached.search(/[/?]/);
    const siteHost = end < 0 ? cached : cached.slice(0, end);
    const rest = end < 0 ? '' : cached.slice(end);
    if (siteHost === '') return { op: 'unknown' };
    const path = rest.startsWith('/') ? rest : `/${rest}`;
    return { op: 'submit', kind: 'url', host: siteHost.toLowerCase(), path, via: 'api' };
  }
  const service = SERVICE_PURGE.exec(target);
  if (!service) return { op: 'unknown' };
  const [, rawService = '', action, rawKey] = service;
  const serviceId = safeDecode(rawService);
  if (serviceId === undefined) return { op: 'unknown' };
  if (action === 'purge_all')
    return rawKey === undefined ? { op: 'submit', kind: 'all', serviceId } : { op: 'unknown' };
  if (rawKey === undefined) return { op: 'submit', kind: 'keys', serviceId };
  const key = safeDecode(rawKey);
  return key === undefined ? { op: 'unknown' } : { op: 'submit', kind: 'key', serviceId, key };
}

function safeDecode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

/**
 * The keys of a batch purge: JSON `{"surrogate_keys": [...]}` or a space-separated `Surrogate-Key` header.
 * More than 256 is refused with 400 (the status is inferred).
 */
export function batchKeys(body: string, header: string | undefined): string[] | Reply {
  let keys: unknown;
  if (body.trim() !== '') {
    try {
      keys = (JSON.parse(body) as { surrogate_keys?: unknown } | null)?.surrogate_keys;
    } catch {
      return badRequest('Invalid JSON body');
    }
  } else if (header !== undefined) {
    keys = header.split(' ').filter((key) => key !== '');
  }
  if (
    !Array.isArray(keys) ||
    keys.length === 0 ||
    !keys.every((key) => typeof key === 'string' && key !== '')
  )
    return badRequest('surrogate_keys must be a non-empty list of keys');
  if (keys.length > MAX_KEYS_PER_BATCH)
    return badRequest(`Too many surrogate keys: ${keys.length} (at most ${MAX_KEYS_PER_BATCH} per request)`);
  return keys as string[];
}

export const CREDENTIALS_REFUSED = 'Provided credentials are missing or invalid';

export function unauthorized(): Reply {
  return jsonReply(401, { msg: CREDENTIALS_REFUSED });
}

/** A valid token without the scope or the service (inferred wording). */
export function forbidden(detail: string): Reply {
  return jsonReply(403, { msg: 'You are not authorized to perform this action', detail });
}

export function unknownService(serviceId: string): Reply {
  return jsonReply(404, { msg: 'Record not found', detail: `Cannot find service '${serviceId}'` });
}

export function badRequest(detail: string): Reply {
  return jsonReply(400, { msg: 'Bad request', detail });
}

export function notFound(): Reply {
  return jsonReply(404, { msg: 'Record not found' });
}

/** Over the hourly limit (inferred body; the headers are Fastly's). */
export function tooManyRequests(headers: Record<string, string>): Reply {
  return jsonReply(
    429,
    { msg: 'Too many requests', detail: 'You have exceeded your hourly rate limit' },
    headers,
  );
}

/**
 * Opaque purge ids, dash-separated like the real ones (`108-1391560174-974124`): a counter, the simulator's
 * start second and a random part, so ids of two simulators never look alike.
 */
export function createIdSource(random: () => number, startedAt: number): () => string {
  let next = 100;
  const epoch = Math.floor(startedAt / 1000);
  return () => {
    next += 1;
    return `${next}-${epoch}-${String(Math.floor(random() * 1_000_000)).padStart(6, '0')}`;
  };
}

export interface CachedObject {
  host: string;
  /** Path and query, as the cache key holds it. */
  path: string;
  keys: readonly string[];
  /** Soft-purged: still held, served stale while revalidating. */
  stale: boolean;
}

/** The service's cache as one store: Fastly purges reach every POP, so the simulator keeps no POPs apart. */
export class FastlyCache {
  readonly #objects = new Map<string, CachedObject>();

  put(host: string, path: string, keys: readonly string[] = []): void {
    const object = { host: host.toLowerCase(), path, keys, stale: false };
    this.#objects.set(`${object.host} ${path}`, object);
  }

  /** `fresh`, `stale` (soft-purged) or undefined (not held: never cached, or hard-purged). */
  state(host: string, path: string): 'fresh' | 'stale' | undefined {
    const object = this.#objects.get(`${host.toLowerCase()} ${path}`);
    if (!object) return undefined;
    return object.stale ? 'stale' : 'fresh';
  }

  has(host: string, path: string): boolean {
    return this.#objects.has(`${host.toLowerCase()} ${path}`);
  }

  get size(): number {
    return this.#objects.size;
  }

  /** Accepted whether or not the URL was cached (Fastly does too): answers how many objects it touched. */
  purgeUrl(host: string, path: string, soft: boolean): number {
    return this.#purge((object) => object.host === host.toLowerCase() && object.path === path, soft);
  }

  purgeKeys(keys: readonly string[], soft: boolean): number {
    return this.#purge((object) => object.keys.some((key) => keys.includes(key)), soft);
  }

  /** purge_all is always hard. */
  purgeAll(): number {
    return this.#purge(() => true, false);
  }

  #purge(matches: (object: CachedObject) => boolean, soft: boolean): number {
    let touched = 0;
    for (const [id, object] of this.#objects) {
      if (!matches(object)) continue;
      if (soft) object.stale = true;
      else this.#objects.delete(id);
      touched += 1;
    }
    return touched;
  }
}
