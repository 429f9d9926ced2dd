/**
 * One CDN's caches: N edges, each a real HTTP server on its own loopback port caching any URL asked of it,
 * and a shield between them and the origin. Edges answer GET and HEAD with `Age` (RFC 9111),
 * `Cache-Status` (RFC 9211) and `X-Cache`; purges reach them through the ledger (purges.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { jsonReply, send } from '../faults.ts';
import { closeServer, listen } from '../listen.ts';
import { keyOfRequest, type Origin, type OriginObject, originHeaders } from './origin.ts';
import { createPurgeLedger, type PurgeNode, type PurgeReceiver, SHIELD } from './purges.ts';
import type { CacheKey } from './scope.ts';
import { ageOf, createStore, type Store, type StoredObject } from './store.ts';

export interface EdgeFleetOptions {
  /** Names the caches: `<name>-edge-1`..., `<name>-shield`. */
  name: string;
  count: number;
  origin: Origin;
  now?: () => number;
  /** Per edge and for the shield; the least recently used is evicted past it. */
  maxObjectsPerEdge?: number;
  /** Per edge; the oldest entries go first. */
  maxLogEntries?: number;
  maxPendingPurges?: number;
}

export interface EdgeAddress {
  id: string;
  ip: string;
  port: number;
  /** `http://ip:port`: connect here and send the URL's own host in `Host`. */
  url: string;
}

export interface EdgeRequestLogEntry {
  method: string;
  /** As asked; '' when the request had none. */
  host: string;
  target: string;
  status: number;
  cache: 'hit' | 'miss' | 'none';
  /** Where the answer came from: this edge's copy, or the shield's or the origin's on a miss. */
  source: 'cache' | 'shield' | 'origin' | 'none';
  version: number | null;
  etag: string | null;
  age: number | null;
  at: number;
}

/** A purge order part reaching one cache: what it dropped, or that the cache passed it by. */
export interface EdgePurgeEvent {
  purgeId: string;
  cache: string;
  outcome: 'dropped' | 'missed' | 'survived';
  /** Objects dropped, or for a stale shield kept to be served once more. */
  objects: number;
  at: number;
}

export interface CachedObjectView {
  host: string;
  target: string;
  version: number;
  etag: string;
  age: number;
}

export interface Edge extends EdgeAddress {
  readonly requests: readonly EdgeRequestLogEntry[];
  /** Its copies now, least recently used first; a settle runs first so due purges show. */
  cached(): CachedObjectView[];
}

export interface StaleShieldOptions {
  /**
   * Whether the shield sends `Age` (true: the edge's Age counts the shield's time, as RFC 9111 asks; false:
   * a shield that sends none, like nginx's proxy_cache, so the re-filled copy looks brand new).
   */
  sendsAge?: boolean;
}

export interface EdgeFleet extends PurgeReceiver {
  readonly name: string;
  readonly edges: readonly Edge[];
  readonly purgeEvents: readonly EdgePurgeEvent[];
  addresses(): EdgeAddress[];
  edge(id: string): Edge;
  shieldCached(): CachedObjectView[];
  /** That edge passes the next purge to reach it by and keeps its old copies (twice: the next two). */
  missNextPurge(edgeId: string): void;
  /**
   * On: purges pass the shield by, and each copy it held when one did is served once more (to the first
   * edge that refetches it) before it refetches from the origin. Off: the shield is purged with the edges
   * again and drops the copies it kept.
   */
  staleShield(on: boolean, options?: StaleShieldOptions): void;
  close(): Promise<void>;
}

const EDGE_IP = '127.0.0.1';
export const MAX_EDGES_PER_CDN = 64;

interface EdgeNode {
  id: string;
  store: Store;
  requests: EdgeRequestLogEntry[];
  server: Server;
  port: number;
}

interface Fill {
  object: OriginObject;
  age: number;
  status: string;
  source: 'shield' | 'origin';
}

function view(entry: StoredObject, now: number): CachedObjectView {
  const { host, target } = entry.key;
  const { version, etag } = entry.object;
  return { host, target, version, etag, age: ageOf(entry, now) };
}

function pushBounded<T>(list: T[], item: T, max: number): void {
  list.push(item);
  if (list.length > max) list.splice(0, list.length - max);
}

export async function startEdgeFleet(options: EdgeFleetOptions): Promise<EdgeFleet> {
  const { name, count, origin } = options;
  if (!Number.isInteger(count) || count < 0 || count > MAX_EDGES_PER_CDN) {
    throw new RangeError(`edges per CDN must be an integer from 0 to ${MAX_EDGES_PER_CDN}, got ${count}`);
  }
  const now = options.now ?? Date.now;
  const maxObjects = options.maxObjectsPerEdge ?? 1000;
  const maxLog = options.maxLogEntries ?? 10_000;
  const shieldId = `${name}-shield`;
  const shield = createStore(maxObjects);
  const purgeEvents: EdgePurgeEvent[] = [];
  let staleShield = false;
  let shieldSendsAge = true;
  const nodes: EdgeNode[] = [];
  const ids = Array.from({ length: count }, (_, i) => `${name}-edge-${i + 1}`);

  const ledger = createPurgeLedger(
    ids,
    {
      apply(node: PurgeNode, order, part, skipped) {
        const at = now();
        const purgeId = order.id;
        if (node === SHIELD) {
          const event: EdgePurgeEvent = staleShield
            ? { purgeId, cache: shieldId, outcome: 'survived', objects: shield.markSurvivors(part), at }
            : { purgeId, cache: shieldId, outcome: 'dropped', objects: shield.drop(part), at };
          pushBounded(purgeEvents, event, maxLog);
          return;
        }
        const edge = nodes.find((n) => n.id === node);
        if (!edge) return;
        const event: EdgePurgeEvent = skipped
          ? { purgeId, cache: node, outcome: 'missed', objects: 0, at }
          : { purgeId, cache: node, outcome: 'dropped', objects: edge.store.drop(part), at };
        pushBounded(purgeEvents, event, maxLog);
      },
    },
    options.maxPendingPurges,
  );

  function fromShield(key: CacheKey, at: number): Fill {
    const entry = shield.get(key);
    if (entry) {
      // A survivor goes once: the next edge to ask gets what the origin has now.
      if (entry.survivedPurge) shield.delete(key);
      const age = shieldSendsAge ? ageOf(entry, at) : 0;
      return { object: entry.object, age, status: `${shieldId}; hit`, source: 'shield' };
    }
    const object = origin.current(key);
    shield.set({ key, object, storedAt: at, initialAge: 0, upstreamStatus: '', survivedPurge: false });
    return { object, age: 0, status: `${shieldId}; fwd=miss; stored`, source: 'origin' };
  }

  function refuse(node: EdgeNode, req: IncomingMessage, res: ServerResponse, status: number, error: string) {
    const headers: Record<string, string> = status === 405 ? { allow: 'GET, HEAD' } : {};
    send(res, jsonReply(status, { error }, headers));
    pushBounded(
      node.requests,
      {
        method: req.method ?? '',
        host: req.headers.host ?? '',
        target: req.url ?? '',
        status,
        cache: 'none',
        source: 'none',
        version: null,
        etag: null,
        age: null,
        at: now(),
      },
      maxLog,
    );
  }

  function serve(node: EdgeNode, req: IncomingMessage, res: ServerResponse): void {
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') {
      refuse(node, req, res, 405, `method ${method} not allowed`);
      return;
    }
    const key = keyOfRequest(req);
    if ('error' in key) {
      refuse(node, req, res, 400, key.error);
      return;
    }
    ledger.settle();
    const at = now();
    const cached = node.store.get(key);
    let entry = cached;
    let source: EdgeRequestLogEntry['source'] = 'cache';
    if (!entry) {
      const fill = fromShield(key, at);
      entry = {
        key,
        object: fill.object,
        storedAt: at,
        initialAge: fill.age,
        upstreamStatus: fill.status,
        survivedPurge: false,
      };
      node.store.set(entry);
      source = fill.source;
    }
    const age = ageOf(entry, at);
    const own = cached ? `${node.id}; hit` : `${node.id}; fwd=miss; stored`;
    const { object } = entry;
    // RFC 9211: members in order from the origin's side, each cache appending its own to what it stored.
    const cacheStatus = entry.upstreamStatus === '' ? own : `${entry.upstreamStatus}, ${own}`;
    res.writeHead(200, {
      ...originHeaders(object),
      date: new Date(at).toUTCString(),
      age: String(age),
      'cache-status': cacheStatus,
      'x-cache': cached ? 'HIT' : 'MISS',
      'x-served-by': node.id,
      'content-length': String(Buffer.byteLength(object.body)),
    });
    res.end(method === 'HEAD' ? undefined : object.body);
    const { version, etag } = object;
    const { host, target } = key;
    const log: EdgeRequestLogEntry = {
      method,
      host,
      target,
      status: 200,
      cache: cached ? 'hit' : 'miss',
      source,
      version,
      etag,
      age,
      at,
    };
    pushBounded(node.requests, log, maxLog);
  }

  async function closeAll(): Promise<void> {
    await Promise.all(nodes.map((node) => closeServer(node.server)));
  }

  try {
    for (const id of ids) {
      const node: EdgeNode = {
        id,
        store: createStore(maxObjects),
        requests: [],
        server: createServer(),
        port: 0,
      };
      node.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
        try {
          serve(node, req, res);
        } catch (error) {
          // Whatever a client sends, the edge answers; a fault of the simulator's own shows as a 500.
          if (!res.headersSent) send(res, jsonReply(500, { error: String(error) }));
          else res.destroy();
        }
      });
      nodes.push(node);
      node.port = (await listen(node.server, 0, EDGE_IP)).port;
    }
  } catch (error) {
    await closeAll();
    throw error;
  }

  const edges: Edge[] = nodes.map((node) => ({
    id: node.id,
    ip: EDGE_IP,
    port: node.port,
    url: `http://${EDGE_IP}:${node.port}`,
    requests: node.requests,
    cached() {
      ledger.settle();
      const at = now();
      return node.store.entries().map((entry) => view(entry, at));
    },
  }));
  let closing: Promise<void> | undefined;

  return {
    name,
    edges,
    purgeEvents,
    addresses: () => edges.map(({ id, ip, port, url }) => ({ id, ip, port, url })),
    edge(id) {
      const edge = edges.find((e) => e.id === id);
      if (!edge) throw new Error(`unknown edge ${id} (the ${name} edges are ${ids.join(', ') || 'none'})`);
      return edge;
    },
    shieldCached() {
      ledger.settle();
      const at = now();
      return shield.entries().map((entry) => view(entry, at));
    },
    missNextPurge: (edgeId) => ledger.missNext(edgeId),
    staleShield(on, shieldOptions = {}) {
      if (!on) shield.dropSurvivors();
      staleShield = on;
      shieldSendsAge = on ? (shieldOptions.sendsAge ?? true) : true;
    },
    receive: (order) => ledger.receive(order),
    close() {
      closing ??= closeAll();
      return closing;
    },
  };
}
