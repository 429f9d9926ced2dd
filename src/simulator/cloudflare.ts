/**
 * A loopback Cloudflare API for one account: `POST /client/v4/zones/{zone}/purge_cache` (and
 * `invalidate_cache`, the soft purge) as shared/providers/cloudflare.md describes it, plus
 * `GET /client/v4/user/tokens/verify` for `check`. Bearer tokens, per-call caps and the plan's token buckets
 * are enforced with Cloudflare's envelopes; there is no status route, because Cloudflare has none.
 */
import { createServer, type IncomingMessage } from 'node:http';
import {
  type Caps,
  CODE_AUTH,
  CODE_RATE_LIMITED,
  CODE_UNKNOWN_ZONE,
  envelope,
  failure,
  hexId,
  type ParsedPurge,
  parsePurge,
  TokenBucket,
  ZoneCache,
} from './cloudflare-wire.ts';
import {
  createFaults,
  createRequestLog,
  type FaultInjector,
  type Hold,
  jsonReply,
  type RandomFaults,
  type Reply,
  type RequestLog,
  readBody,
  send,
} from './faults.ts';
import { closeServer, listen } from './listen.ts';

export { cloudflareErrorBody, ZoneCache } from './cloudflare-wire.ts';

/** `submit` is every purge call (purge_cache and invalidate_cache); `verify` is the token check. */
export type CloudflareOp = 'submit' | 'verify';

export type CloudflarePlan = 'free' | 'pro' | 'business' | 'enterprise';

export const DEFAULT_CLOUDFLARE_ZONE = '023e105f4ecef8ad9ca31a8372d0c353';
export const DEFAULT_CLOUDFLARE_TOKEN = 'Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY';

export interface BucketSpec {
  size: number;
  perSecond: number;
}

/** The limits table of shared/providers/cloudflare.md, per plan. */
export const PLAN_LIMITS: Record<CloudflarePlan, { caps: Caps; flex: BucketSpec; files: BucketSpec }> = {
  free: {
    caps: { files: 30, flex: 100 },
    flex: { size: 25, perSecond: 5 / 60 },
    files: { size: 800, perSecond: 800 },
  },
  pro: {
    caps: { files: 30, flex: 100 },
    flex: { size: 25, perSecond: 5 },
    files: { size: 1500, perSecond: 1500 },
  },
  business: {
    caps: { files: 30, flex: 100 },
    flex: { size: 50, perSecond: 10 },
    files: { size: 1500, perSecond: 1500 },
  },
  enterprise: {
    caps: { files: 500, flex: 100 },
    flex: { size: 500, perSecond: 50 },
    files: { size: 3000, perSecond: 3000 },
  },
};

export interface SimulatedToken {
  token: string;
  /** Zones the token may purge; unset, every zone the simulator knows. */
  zones?: readonly string[];
  status?: 'active' | 'disabled' | 'expired';
}

export interface CloudflareSimulatorOptions {
  host?: string;
  port?: number;
  zones?: readonly string[];
  tokens?: ReadonlyArray<string | SimulatedToken>;
  /** Picks caps and buckets from PLAN_LIMITS (default free); the fields below override them. */
  plan?: CloudflarePlan;
  caps?: Partial<Caps>;
  /** The tags/hosts/prefixes/everything bucket (requests) and the files bucket (URLs). */
  buckets?: { flex?: BucketSpec; files?: BucketSpec };
  /**
   * The global API limit (1,200 requests / 5 minutes, then every call refused for 5 minutes). Off unless
   * given: whether purges count toward it is uncertain.
   */
  globalLimit?: { max: number; windowMs: number; blockMs: number };
  now?: () => number;
  randomFaults?: RandomFaults;
}

export interface CloudflarePurgeRecord {
  id: string;
  zone: string;
  soft: boolean;
  purge: ParsedPurge;
  /** Objects the purge hit in the simulated cache. */
  hit: number;
  at: number;
}

export interface CloudflareSimulator extends RequestLog<CloudflareOp> {
  /** The API base, `http://127.0.0.1:<port>/client/v4`: what a CDN entry's `baseUrl` is set to. */
  readonly url: string;
  readonly faults: FaultInjector<CloudflareOp>;
  /** What the zones' caches hold (one cache: tests put objects and see what a purge removed). */
  readonly cache: ZoneCache;
  /** Every purge accepted, in order. */
  readonly purges: readonly CloudflarePurgeRecord[];
  readonly buckets: { flex: TokenBucket; files: TokenBucket };
  holdNext(op: CloudflareOp): Hold;
  close(): Promise<void>;
}

const API_PREFIX = '/client/v4';
const PURGE_ROUTE = /^\/client\/v4\/zones\/([^/]{1,64})\/(purge_cache|invalidate_cache)$/;

export async function startCloudflareSimulator(
  options: CloudflareSimulatorOptions = {},
): Promise<CloudflareSimulator> {
  const now = options.now ?? Date.now;
  const plan = PLAN_LIMITS[options.plan ?? 'free'];
  const caps: Caps = { ...plan.caps, ...options.caps };
  const zones = new Set(options.zones ?? [DEFAULT_CLOUDFLARE_ZONE]);
  const tokens = new Map<string, SimulatedToken & { id: string }>(
    (options.tokens ?? [DEFAULT_CLOUDFLARE_TOKEN]).map((entry) => {
      const token = typeof entry === 'string' ? { token: entry } : entry;
      return [token.token, { ...token, id: hexId() }];
    }),
  );
  const flexSpec = options.buckets?.flex ?? plan.flex;
  const filesSpec = options.buckets?.files ?? plan.files;
  const buckets = {
    flex: new TokenBucket(flexSpec.size, flexSpec.perSecond, now()),
    files: new TokenBucket(filesSpec.size, filesSpec.perSecond, now()),
  };
  const global = { calls: [] as number[], blockedUntil: 0 };
  const cache = new ZoneCache();
  const purges: CloudflarePurgeRecord[] = [];
  const log = createRequestLog<CloudflareOp>();
  const faults = createFaults<CloudflareOp>(options.randomFaults);

  /** The Authorization header's token when it is a well-formed Bearer one. */
  function bearerOf(req: IncomingMessage): string | undefined {
    const header = req.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer ([\x21-\x7e]{1,512})$/.exec(header) : null;
    return match?.[1];
  }

  function authenticate(req: IncomingMessage): { token: SimulatedToken & { id: string } } | Reply {
    const bearer = bearerOf(req);
    if (bearer === undefined) {
      const body = envelope(null, [
        {
          code: 6003,
          message: 'Invalid request headers',
          error_chain: [{ code: 6111, message: 'Invalid format for Authorization header' }],
        },
      ]);
      return jsonReply(400, body);
    }
    const token = tokens.get(bearer);
    if (!token || (token.status ?? 'active') !== 'active')
      return failure(401, CODE_AUTH, 'Authentication error');
    return { token };
  }

  /** The global limiter: counted on every authenticated call, refusing all of them while blocked. */
  function globalRefusal(commit: boolean): Reply | undefined {
    const limit = options.globalLimit;
    if (!limit) return undefined;
    const at = now();
    if (at < global.blockedUntil) return rateLimited(Math.ceil((global.blockedUntil - at) / 1000), {});
    global.calls = global.calls.filter((t) => t > at - limit.windowMs);
    if (global.calls.length >= limit.max) {
      if (commit) global.blockedUntil = at + limit.blockMs;
      return rateLimited(Math.ceil(limit.blockMs / 1000), {});
    }
    if (commit) global.calls.push(at);
    return undefined;
  }

  function rateLimited(seconds: number, headers: Record<string, string>): Reply {
    // Code 971 is what Cloudflare's throttling answers carry in third-party reports (inferred).
    return failure(429, CODE_RATE_LIMITED, 'Please wait and consider throttling your request speed', {
      ...headers,
      'retry-after': String(Math.max(1, seconds)),
    });
  }

  function purge(zone: string, soft: boolean, raw: string, req: IncomingMessage, commit: boolean): Reply {
    const auth = authenticate(req);
    if ('status' in auth) return auth;
    if (!zones.has(zone)) {
      return failure(
        404,
        CODE_UNKNOWN_ZONE,
        `Could not route to /zones/${zone}/purge_cache, perhaps your object identifier is invalid?`,
      );
    }
    if (auth.token.zones && !auth.token.zones.includes(zone))
      return failure(403, CODE_AUTH, 'Authentication error');
    const refused = globalRefusal(commit);
    if (refused) return refused;
    const parsed = parsePurge(raw, caps);
    if ('status' in parsed) return parsed;
    const at = now();
    const bucket = parsed.field === 'files' ? buckets.files : buckets.flex;
    const cost = parsed.field === 'files' ? parsed.files.length : 1;
    const allowed = commit ? bucket.take(cost, at) : bucket.remaining(at) >= cost;
    if (!allowed) return rateLimited(bucket.secondsUntil(cost, at), bucket.headers(at));
    const id = hexId();
    if (commit) {
      const hit = cache.apply(parsed, soft);
      purges.push({ id, zone, soft, purge: parsed, hit, at });
    }
    return jsonReply(200, envelope({ id }), bucket.headers(at));
  }

  function verify(req: IncomingMessage): Reply {
    const bearer = bearerOf(req);
    const token = bearer === undefined ? undefined : tokens.get(bearer);
    if (!token) return failure(401, 1000, 'Invalid API Token');
    const messages = [{ code: 10000, message: 'This API Token is valid and active', type: null }];
    return jsonReply(200, {
      ...envelope({ id: token.id, status: token.status ?? 'active' }),
      messages,
    });
  }

  const server = createServer((req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://simulator').pathname;
    const method = req.method ?? 'GET';
    const purgeRoute = PURGE_ROUTE.exec(pathname);
    // DELETE is what some third-party clients send; Cloudflare documents POST and takes both (inferred).
    const op: CloudflareOp | 'unknown' =
      purgeRoute && (method === 'POST' || method === 'DELETE')
        ? 'submit'
        : pathname === `${API_PREFIX}/user/tokens/verify` && method === 'GET'
          ? 'verify'
          : 'unknown';
    readBody(req).then(
      (raw) => {
        let body: unknown;
        try {
          body = raw === '' ? undefined : JSON.parse(raw);
        } catch {
          body = raw;
        }
        const authorized = op === 'verify' || op === 'submit' ? isAuthorized(req) : false;
        log.record({
          op,
          method,
          path: pathname,
          authorized,
          ...(body === undefined ? {} : { body }),
          at: now(),
        });
        if (op === 'unknown') {
          send(res, failure(404, 7000, 'No route for that URI'));
          return;
        }
        if (op === 'verify') {
          faults.respond(op, res, () => verify(req));
          return;
        }
        const [, zone, route] = purgeRoute as RegExpExecArray;
        faults.respond(op, res, (commit) =>
          purge(zone as string, route === 'invalidate_cache', raw, req, commit),
        );
      },
      () => res.socket?.destroy(),
    );
  });

  function isAuthorized(req: IncomingMessage): boolean {
    const bearer = bearerOf(req);
    const token = bearer === undefined ? undefined : tokens.get(bearer);
    return token !== undefined && (token.status ?? 'active') === 'active';
  }

  const address = await listen(server, options.port ?? 0, options.host ?? '127.0.0.1');
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${address.port}${API_PREFIX}`,
    requests: log.requests,
    events: log.events,
    waitForRequest: log.waitForRequest,
    faults,
    cache,
    purges,
    buckets,
    holdNext: (op) => faults.holdNext(op),
    close() {
      closing ??= (async () => {
        faults.dispose();
        await closeServer(server);
      })();
      return closing;
    },
  };
}
