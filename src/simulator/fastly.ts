/**
 * A loopback Fastly purge API (shared/providers/fastly.md): URL purges (`POST /purge/{host}{path}` and the
 * edge's `PURGE`), single and batch surrogate-key purges, purge_all; `Fastly-Key` checked; the per-token
 * hourly limit with its headers and 429; soft purges recorded per purge; no status route (Fastly has none).
 */
import { randomInt } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import {
  badRequest,
  batchKeys,
  createIdSource,
  FastlyCache,
  type FastlyRoute,
  forbidden,
  notFound,
  route,
  tooManyRequests,
  unauthorized,
  unknownService,
} from './fastly-wire.ts';
import {
  createFaults,
  createRequestLog,
  type Faults,
  jsonReply,
  type RandomFaults,
  type Reply,
  type RequestLog,
  readBody,
  send,
} from './faults.ts';
import { closeServer, listen } from './listen.ts';

export { FastlyCache } from './fastly-wire.ts';

/** Every purge call is a `submit`: Fastly has no status or listing to ask. */
export type FastlyOp = 'submit';

export type FastlyScope = 'purge_select' | 'purge_all';

export interface FastlyToken {
  token: string;
  /** Services the token may purge; unset, every one. */
  services?: readonly string[];
  /** Default both: `purge_select` (URL and key purges) and purge-all (scope name uncertain: the spec). */
  scopes?: readonly FastlyScope[];
}

export interface FastlyRateLimitOptions {
  /** Counted requests per window and token (Fastly: 1,000 an hour). */
  limit?: number;
  /** Default an hour; tests shrink it. */
  windowMs?: number;
  /**
   * What counts: purge_all only (the older docs: URL and key purges are not limited) or every purge (the
   * current reference may count them too: uncertain). Uncounted answers carry no rate headers.
   */
  counts?: 'purge_all' | 'every-purge';
}

export interface FastlySimulatorOptions {
  tokens?: readonly FastlyToken[];
  services?: readonly string[];
  /** `req.http.Fastly-Purge-Requires-Auth = "1"` in the service's VCL: URL purges need a valid key too. */
  urlPurgeRequiresAuth?: boolean;
  rateLimit?: FastlyRateLimitOptions;
  now?: () => number;
  random?: () => number;
  randomFaults?: RandomFaults;
  port?: number;
}

export interface FastlyPurgeRecord {
  kind: 'url' | 'key' | 'keys' | 'all';
  /** The purged URL as `host/path?query`, the key, or the keys. */
  target: string | readonly string[];
  /** `edge`: the `PURGE` method sent to the site's URL; `api`: through the API. */
  via: 'api' | 'edge';
  /** Every id this purge answered with (one per key for a batch; none for purge_all). */
  ids: readonly string[];
  soft: boolean;
  /** A purge_all sent with `Fastly-Soft-Purge`, purged hard all the same. */
  softIgnored?: boolean;
  /** Objects it removed or marked stale. */
  touched: number;
  at: number;
}

export interface FastlyRateWindow {
  used: number;
  limit: number;
  remaining: number;
  /** When the window resets (ms since the epoch, on a whole second: the header is in seconds). */
  resetAt: number;
}

export interface FastlySimulator extends RequestLog<FastlyOp> {
  /** `http://127.0.0.1:<port>`: a Fastly entry's `baseUrl`. */
  readonly url: string;
  readonly faults: Faults<FastlyOp>;
  readonly cache: FastlyCache;
  readonly purges: readonly FastlyPurgeRecord[];
  /** The token's current window (a fresh one if it has none running). */
  rateWindow(token?: string): FastlyRateWindow;
  /** Spends what is left of the token's window, so its next counted request is a 429. */
  exhaustRateWindow(token?: string): void;
  close(): Promise<void>;
}

export const DEFAULT_FASTLY_TOKEN = 'fastly-test-token-0123456789';
export const DEFAULT_FASTLY_SERVICE = 'SU1Z0isxPaozGVKXdv0eY';
const ANONYMOUS = '';
const HOST = '127.0.0.1';

export async function startFastlySimulator(options: FastlySimulatorOptions = {}): Promise<FastlySimulator> {
  const tokens = options.tokens ?? [{ token: DEFAULT_FASTLY_TOKEN }];
  const services = new Set(options.services ?? [DEFAULT_FASTLY_SERVICE]);
  const now = options.now ?? Date.now;
  const random = options.random ?? (() => randomInt(1_000_000) / 1_000_000);
  const limit = options.rateLimit?.limit ?? 1_000;
  const windowMs = options.rateLimit?.windowMs ?? 3_600_000;
  const counts = options.rateLimit?.counts ?? 'purge_all';
  const nextId = createIdSource(random, now());
  const cache = new FastlyCache();
  const purges: FastlyPurgeRecord[] = [];
  const windows = new Map<string, { used: number; resetAt: number }>();
  const log = createRequestLog<FastlyOp>();
  const faults = createFaults<FastlyOp>(options.randomFaults);

  function tokenOf(req: IncomingMessage): FastlyToken | undefined {
    const key = req.headers['fastly-key'];
    return typeof key === 'string' ? tokens.find((t) => t.token === key) : undefined;
  }

  function windowOf(key: string): { used: number; resetAt: number } {
    const current = windows.get(key);
    if (current && now() < current.resetAt) return current;
    const fresh = { used: 0, resetAt: Math.ceil((now() + windowMs) / 1000) * 1000 };
    windows.set(key, fresh);
    return fresh;
  }

  function rateHeaders(window: { used: number; resetAt: number }): Record<string, string> {
    return {
      'fastly-ratelimit-remaining': String(Math.max(0, limit - window.used)),
      'fastly-ratelimit-reset': String(window.resetAt / 1000),
    };
  }

  /** Who may do this: undefined if allowed, else the refusal. URL purges need a key only if the VCL asks. */
  function refusal(
    r: Exclude<FastlyRoute, { op: 'unknown' }>,
    token: FastlyToken | undefined,
  ): Reply | undefined {
    if (r.kind === 'url') return options.urlPurgeRequiresAuth && !token ? unauthorized() : undefined;
    if (!token) return unauthorized();
    if (token.services && !token.services.includes(r.serviceId))
      return forbidden(`the token may not purge service ${r.serviceId}`);
    if (!services.has(r.serviceId)) return unknownService(r.serviceId);
    const scopes = token.scopes ?? ['purge_select', 'purge_all'];
    if (r.kind === 'all' && !scopes.includes('purge_all'))
      return forbidden('purge_all needs a token allowed to purge all');
    if (r.kind !== 'all' && !scopes.includes('purge_select'))
      return forbidden('the token may not purge by URL or key');
    return undefined;
  }

  function purge(
    r: Exclude<FastlyRoute, { op: 'unknown' }>,
    req: IncomingMessage,
    raw: string,
    soft: boolean,
    commit: boolean,
  ): { reply: Reply; record?: FastlyPurgeRecord } {
    const at = now();
    if (r.kind === 'url') {
      const id = nextId();
      const touched = commit ? cache.purgeUrl(r.host, r.path, soft) : 0;
      const record = { kind: r.kind, target: `${r.host}${r.path}`, via: r.via, ids: [id], soft, touched, at };
      return { reply: jsonReply(200, { status: 'ok', id }), record };
    }
    if (r.kind === 'key') {
      const id = nextId();
      const touched = commit ? cache.purgeKeys([r.key], soft) : 0;
      const record = { kind: r.kind, target: r.key, via: 'api' as const, ids: [id], soft, touched, at };
      return { reply: jsonReply(200, { status: 'ok', id }), record };
    }
    if (r.kind === 'keys') {
      const header = req.headers['surrogate-key'];
      const keys = batchKeys(raw, typeof header === 'string' ? header : undefined);
      if (!Array.isArray(keys)) return { reply: keys };
      const ids = Object.fromEntries(keys.map((key) => [key, nextId()]));
      const touched = commit ? cache.purgeKeys(keys, soft) : 0;
      const record = {
        kind: r.kind,
        target: keys,
        via: 'api' as const,
        ids: Object.values(ids),
        soft,
        touched,
        at,
      };
      return { reply: jsonReply(200, ids), record };
    }
    const touched = commit ? cache.purgeAll() : 0;
    const record: FastlyPurgeRecord = {
      kind: 'all',
      target: r.serviceId,
      via: 'api',
      ids: [],
      soft: false,
      touched,
      at,
    };
    if (soft) record.softIgnored = true;
    return { reply: jsonReply(200, { status: 'ok' }), record };
  }

  function run(
    r: Exclude<FastlyRoute, { op: 'unknown' }>,
    req: IncomingMessage,
    raw: string,
    commit: boolean,
  ): Reply {
    const token = tokenOf(req);
    const refused = refusal(r, token);
    if (refused) return refused;
    const counted = counts === 'every-purge' || r.kind === 'all';
    const window = counted ? windowOf(token?.token ?? ANONYMOUS) : undefined;
    if (window && window.used >= limit) return tooManyRequests(rateHeaders(window));
    const soft = req.headers['fastly-soft-purge'] !== undefined;
    const { reply, record } = purge(r, req, raw, soft, commit);
    if (commit && record) {
      purges.push(record);
      if (window) window.used += 1;
    }
    if (!window || reply.status !== 200) return reply;
    // A preview (a truncated answer) shows the headers the committed call would have sent.
    const shown = commit ? window : { ...window, used: window.used + 1 };
    return { ...reply, headers: { ...reply.headers, ...rateHeaders(shown) } };
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const target = req.url ?? '/';
    const r = route(req.method ?? 'GET', target, req.headers.host);
    readBody(req).then(
      (raw) => {
        const soft = req.headers['fastly-soft-purge'] !== undefined;
        const keys = req.headers['surrogate-key'];
        log.record({
          op: r.op,
          method: req.method ?? 'GET',
          path: target,
          authorized: tokenOf(req) !== undefined,
          body: {
            soft,
            ...(r.op === 'submit' && r.kind === 'url' ? { host: r.host } : {}),
            ...(raw === '' ? {} : { json: parseOrRaw(raw) }),
            ...(typeof keys === 'string' ? { surrogateKey: keys } : {}),
          },
          at: now(),
        });
        if (r.op === 'unknown') {
          send(
            res,
            req.method === 'POST' || req.method === 'PURGE' ? notFound() : badRequest('unsupported method'),
          );
          return;
        }
        faults.respond('submit', res, (commit) => run(r, req, raw, commit));
      },
      () => res.socket?.destroy(),
    );
  }

  const server = createServer(handle);
  const address = await listen(server, options.port ?? 0, HOST);
  return {
    url: `http://${HOST}:${address.port}`,
    faults,
    cache,
    purges,
    requests: log.requests,
    events: log.events,
    waitForRequest: log.waitForRequest,
    rateWindow(token = DEFAULT_FASTLY_TOKEN) {
      const { used, resetAt } = windowOf(token);
      return { used, limit, remaining: Math.max(0, limit - used), resetAt };
    },
    exhaustRateWindow(token = DEFAULT_FASTLY_TOKEN) {
      windowOf(token).used = limit;
    },
    async close() {
      faults.dispose();
      await closeServer(server);
    },
  };
}

function parseOrRaw(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}
