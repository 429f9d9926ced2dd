/**
 * A loopback Akamai Fast Purge v3 (CCU v3) API: the six purge routes and rate-limit-status, EdgeGrid
 * signatures verified (akamai-auth.ts), the 50,000-byte body limit, per-account token buckets with their
 * headers and 429s, and 201 answers with fresh ids and `estimatedSeconds`. There is no status route: v3 has
 * none. Faults and the request log come from faults.ts (`submit` is a purge call, `status` rate-limit-status).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type EdgeGridClient, verifyEdgeGrid } from './akamai-auth.ts';
import {
  authRefusal,
  type BucketSpec,
  DEFAULT_BUCKETS,
  hostOf,
  type Network,
  newSupportId,
  type ObjectType,
  parseObjects,
  problemReply,
  type Route,
  rateHeaders,
  route,
  TokenBucket,
} from './akamai-wire.ts';
import {
  createFaults,
  createRequestLog,
  type Fault,
  type Faults,
  type RandomFaults,
  type Reply,
  type RequestLog,
  send,
} from './faults.ts';
import { closeServer, listen } from './listen.ts';

export type AkamaiOp = 'submit' | 'status';
export type { EdgeGridClient } from './akamai-auth.ts';

export const DEFAULT_AKAMAI_CLIENT: EdgeGridClient = {
  clientToken: 'akab-client-token-sim-xxxxxxxxxxxxxxxx',
  clientSecret: 'c2ltdWxhdG9yLWNsaWVudC1zZWNyZXQtb2YtdGVzdHM=',
  accessToken: 'akab-access-token-sim-xxxxxxxxxxxxxxxx',
};

export interface AkamaiSimulatorOptions {
  port?: number;
  /** API clients of the one account the simulator holds; default DEFAULT_AKAMAI_CLIENT. */
  clients?: EdgeGridClient[];
  now?: () => number;
  /** Signed timestamps further than this from `now` are refused (Akamai's tolerance is undocumented). */
  maxSkewMs?: number;
  /** `.edgerc` max-body the server hashes up to (the SDK's default). */
  maxHashedBodyBytes?: number;
  /** Akamai's documented request body limit. */
  maxBodyBytes?: number;
  /** What every acceptance answers (Akamai's examples: 5). */
  estimatedSeconds?: number;
  /** Token buckets; the documented ones by default. */
  buckets?: Partial<Record<'requests' | ObjectType, BucketSpec>>;
  /** Hosts whose URLs the account may not purge: 403 "unauthorized arl" naming the object. */
  unauthorizedHosts?: string[];
  /** The error content type; `application/api-problem+json` has been seen too. */
  problemContentType?: string;
  randomFaults?: RandomFaults;
}

export interface AcceptedPurge {
  purgeId: string;
  supportId: string;
  action: 'invalidate' | 'delete';
  type: ObjectType;
  network: Network;
  objects: Array<string | number>;
  hostname?: string;
  /** Bytes of the request body. */
  bytes: number;
  at: number;
}

export interface AkamaiSimulator extends RequestLog<AkamaiOp> {
  readonly url: string;
  readonly faults: Faults<AkamaiOp>;
  /** Every purge accepted, in order. */
  readonly purges: readonly AcceptedPurge[];
  /** Tokens left in a bucket now. */
  tokens(bucket: 'requests' | ObjectType): number;
  /** Empties a bucket now (it refills at its rate), as other clients of the account would. */
  drain(bucket: 'requests' | ObjectType): void;
  close(): Promise<void>;
}

/** A WAF rate control's answer to a DoS-level burst: a 400 (inferred body), for a test to inject `times` times. */
export function wafBurstFault(): Fault {
  return {
    kind: 'status',
    status: 400,
    contentType: 'application/problem+json',
    body: JSON.stringify({
      httpStatus: 400,
      title: 'Bad request',
      detail: 'Request rejected by the web application firewall rate control',
    }),
  };
}

/** A 500 as Fast Purge words it, for injecting. */
export function internalErrorFault(status = 500): Fault {
  return {
    kind: 'status',
    status,
    contentType: 'application/problem+json',
    body: JSON.stringify({
      supportId: newSupportId(),
      httpStatus: status,
      title: 'Internal Server Error',
      detail: 'If problem persists over multiple requests, please contact Customer Care',
    }),
  };
}

const MAX_READ_BYTES = 1024 * 1024;

function readRaw(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_READ_BYTES) req.destroy(new Error('request body too large'));
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export async function startAkamaiSimulator(options: AkamaiSimulatorOptions = {}): Promise<AkamaiSimulator> {
  const clients = options.clients ?? [DEFAULT_AKAMAI_CLIENT];
  const now = options.now ?? Date.now;
  const maxSkewMs = options.maxSkewMs ?? 5 * 60_000;
  const maxHashed = options.maxHashedBodyBytes ?? 131_072;
  const maxBody = options.maxBodyBytes ?? 50_000;
  const estimatedSeconds = options.estimatedSeconds ?? 5;
  const unauthorized = new Set((options.unauthorizedHosts ?? []).map((h) => h.toLowerCase()));
  const problem = (
    status: number,
    title: string,
    detail: string,
    extra: Parameters<typeof problemReply>[3] = {},
  ) =>
    problemReply(status, title, detail, {
      ...(options.problemContentType ? { contentType: options.problemContentType } : {}),
      ...extra,
    });
  const specs = { ...DEFAULT_BUCKETS, ...options.buckets };
  const start = now();
  const buckets = {
    requests: new TokenBucket(specs.requests, start),
    url: new TokenBucket(specs.url, start),
    cpcode: new TokenBucket(specs.cpcode, start),
    tag: new TokenBucket(specs.tag, start),
  };
  /** Nonces of accepted requests until their timestamp could no longer pass the skew check. */
  const nonces = new Map<string, number>();
  const purges: AcceptedPurge[] = [];
  const log = createRequestLog<AkamaiOp>();
  const faults = createFaults<AkamaiOp>(options.randomFaults);

  function remember(nonce: string, at: number): void {
    for (const [old, until] of nonces) if (until < at) nonces.delete(old);
    nonces.set(nonce, at + 2 * maxSkewMs);
  }

  function authenticate(req: IncomingMessage, body: Buffer) {
    return verifyEdgeGrid(
      {
        method: req.method ?? 'GET',
        scheme: 'http',
        host: req.headers.host ?? '',
        target: req.url ?? '/',
        authorization: req.headers.authorization,
        body,
      },
      { clients, now: now(), maxSkewMs, maxBodyBytes: maxHashed, seen: (nonce) => nonces.has(nonce) },
    );
  }

  function purge(
    r: Extract<Route, { op: 'submit' }>,
    req: IncomingMessage,
    body: Buffer,
    commit: boolean,
  ): Reply {
    const at = now();
    const objectBucket = buckets[r.type];
    const limits = () => rateHeaders(buckets.requests, objectBucket, at, false);
    if (body.length > maxBody) {
      return problem(
        413,
        'Request entity too large',
        `The request body exceeds the ${maxBody.toLocaleString('en-US')} byte limit`,
        {
          headers: limits(),
        },
      );
    }
    if (!/^application\/json\s*(;|$)/i.test(req.headers['content-type'] ?? '')) {
      return problem(415, 'Unsupported media type', 'Content-Type must be application/json', {
        headers: limits(),
      });
    }
    const parsed = parseObjects(r.type, body.toString('utf8'));
    if ('status' in parsed) return problem(parsed.status, parsed.title, parsed.detail, { headers: limits() });
    if (parsed.type === 'url') {
      const refused = parsed.objects.find((o) => unauthorized.has(hostOf(o, parsed.hostname) ?? ''));
      if (refused !== undefined) {
        return problem(403, 'unauthorized arl', `Unauthorized arl: ${refused}`, { headers: limits() });
      }
    }
    const count = parsed.objects.length;
    // Both buckets must hold enough, or neither is touched.
    if (!buckets.requests.has(1, at) || !objectBucket.has(count, at)) {
      const objectsShort = !objectBucket.has(count, at);
      const denied = objectsShort ? objectBucket : buckets.requests;
      const label = objectsShort
        ? `${r.type === 'url' ? 'URL' : r.type === 'tag' ? 'Tag' : 'CP code'} Rate Limit exceeded`
        : 'Rate Limit exceeded';
      return problem(429, label, 'Wait five seconds, then retry once there are enough tokens', {
        headers: limits(),
        extra: {
          rateLimit: denied.size,
          rateLimitCurrentRequestSize: objectsShort ? count : 1,
          rateLimitRemaining: Math.floor(denied.tokens(at)),
        },
      });
    }
    const purgeId = newSupportId();
    if (commit) {
      buckets.requests.take(1, at);
      objectBucket.take(count, at);
      purges.push({
        purgeId,
        supportId: purgeId,
        action: r.action,
        type: r.type,
        network: r.network,
        objects: parsed.objects,
        ...(parsed.type === 'url' && parsed.hostname ? { hostname: parsed.hostname } : {}),
        bytes: body.length,
        at,
      });
    }
    const answer = {
      httpStatus: 201,
      estimatedSeconds,
      purgeId,
      supportId: purgeId,
      detail: 'Request accepted',
    };
    return {
      status: 201,
      headers: { 'content-type': 'application/json', ...limits() },
      body: JSON.stringify(answer),
    };
  }

  function dispatch(r: Route, req: IncomingMessage, body: Buffer, commit: boolean): Reply {
    if (r.op === 'unknown')
      return problem(404, 'Not found', `No such resource: ${(req.url ?? '').slice(0, 200)}`);
    if (req.method !== 'POST') return problem(405, 'Method not allowed', `${req.method} is not allowed here`);
    const auth = authenticate(req, body);
    if (!auth.ok)
      return authRefusal(auth.detail, `http://${req.headers.host ?? ''}${req.url ?? ''}`, req.method);
    if (commit) remember(auth.nonce, now());
    if (r.op === 'status') {
      const at = now();
      return {
        status: 201,
        headers: {
          'content-type': 'application/json',
          ...rateHeaders(buckets.requests, buckets[r.type], at, true),
        },
        body: '',
      };
    }
    return purge(r, req, body, commit);
  }

  const server = createServer((req, res: ServerResponse) => {
    const pathname = new URL(req.url ?? '/', 'http://simulator').pathname;
    const r = route(pathname);
    readRaw(req).then(
      (body) => {
        let logged: unknown;
        try {
          logged = body.length > 0 ? JSON.parse(body.toString('utf8')) : undefined;
        } catch {
          logged = body.toString('utf8').slice(0, 1000);
        }
        log.record({
          op: r.op,
          method: req.method ?? 'GET',
          path: req.url ?? '/',
          authorized: r.op !== 'unknown' && authenticate(req, body).ok,
          ...(logged === undefined ? {} : { body: logged }),
          at: now(),
        });
        const run = (commit: boolean): Reply => dispatch(r, req, body, commit);
        if (r.op === 'unknown') send(res, run(false));
        else faults.respond(r.op, res, run);
      },
      () => res.socket?.destroy(),
    );
  });

  const address = await listen(server, options.port ?? 0, '127.0.0.1');
  return {
    url: `http://127.0.0.1:${address.port}`,
    faults,
    purges,
    requests: log.requests,
    events: log.events,
    waitForRequest: log.waitForRequest,
    tokens: (bucket) => buckets[bucket].tokens(now()),
    drain: (bucket) => buckets[bucket].drain(now()),
    async close() {
      faults.dispose();
      await closeServer(server);
    },
  };
}
