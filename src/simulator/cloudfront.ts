/**
 * A loopback CloudFront invalidation API (REST-XML, 2020-05-31): SigV4 verified on every request, the
 * in-progress budget per distribution (3,000 file paths, 15 wildcards) enforced with
 * TooManyInvalidationsInProgress, CallerReference replays, invalidations that go InProgress -> Completed,
 * Throttling from a token bucket, and faults and a request log through faults.ts.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type AwsAccount, verifySigV4 } from './cloudfront-sigv4.ts';
import {
  API_VERSION,
  errorReply,
  type InvalidationView,
  invalidationDocument,
  listDocument,
  parseInvalidationBatch,
  type Route,
  route,
  xmlReply,
} from './cloudfront-wire.ts';
import {
  createFaults,
  createRequestLog,
  type FaultInjector,
  type Hold,
  type RandomFaults,
  type Reply,
  type RequestLog,
  readBody,
  send,
} from './faults.ts';
import { closeServer, listen } from './listen.ts';

export type { AwsAccount } from './cloudfront-sigv4.ts';
export { errorFault, SERVICE_UNAVAILABLE_FAULT, THROTTLING_FAULT } from './cloudfront-wire.ts';

export type CloudFrontOp = 'submit' | 'status' | 'list';

export interface CloudFrontDistribution {
  id: string;
  /** The distribution has a CacheTagConfig: `#tag` paths are accepted. */
  cacheTags?: boolean;
}

export interface CloudFrontSimulatorOptions {
  host?: string;
  port?: number;
  accounts?: AwsAccount[];
  distributions?: CloudFrontDistribution[];
  /** Time from creation to Completed (default 5 s); `finish` ends them sooner. */
  invalidationDurationMs?: number;
  /** In progress at once per distribution (CloudFront's: 3,000 file paths and 15 wildcard paths). */
  inProgressLimit?: { files: number; wildcards: number };
  /** Paths one request may carry before BatchTooLarge (413; the trigger is undocumented: inferred). */
  maxPathsPerRequest?: number;
  /** CreateInvalidation calls per account: a token bucket; over it, 400 Throttling "Rate exceeded". */
  createRate?: { burst: number; perSecond: number };
  now?: () => number;
  /** SigV4's allowed clock skew (AWS: 15 minutes). */
  maxSkewMs?: number;
  randomFaults?: RandomFaults;
}

export interface CloudFrontInvalidation extends InvalidationView {
  distributionId: string;
  createdAt: number;
}

export interface CloudFrontSimulator extends RequestLog<CloudFrontOp> {
  url: string;
  readonly faults: FaultInjector<CloudFrontOp>;
  /** Every invalidation made, oldest first, with its status as of now. */
  readonly invalidations: CloudFrontInvalidation[];
  invalidation(id: string): CloudFrontInvalidation | undefined;
  /** Completes one invalidation now, or every one in progress. */
  finish(id?: string): void;
  /** The duration of every invalidation from now on, running ones' too. */
  setInvalidationDuration(ms: number): void;
  /** What a distribution has in progress now, as the budget counts it. */
  inProgress(distributionId: string): { files: number; wildcards: number };
  /** Every error document the simulator answered with (its own, not injected faults), oldest first. */
  readonly refusals: readonly CloudFrontRefusal[];
  /** Resolves with the nth (1-based, counted since start) refusal of `code`, already made or not. */
  waitForRefusal(code: string, nth?: number): Promise<CloudFrontRefusal>;
  holdNext(op: CloudFrontOp): Hold;
  close(): Promise<void>;
}

export interface CloudFrontRefusal {
  op: CloudFrontOp | 'unknown';
  status: number;
  code: string;
  at: number;
}

export const DEFAULT_CLOUDFRONT_ACCOUNT: AwsAccount = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
};
export const DEFAULT_DISTRIBUTION_ID = 'EDFDVBD632BHDS5';

const ID_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

interface Stored {
  id: string;
  distributionId: string;
  callerReference: string;
  paths: string[];
  createdAt: number;
  finished: boolean;
}

export async function startCloudFrontSimulator(
  options: CloudFrontSimulatorOptions = {},
): Promise<CloudFrontSimulator> {
  const accounts = options.accounts ?? [DEFAULT_CLOUDFRONT_ACCOUNT];
  const distributions = new Map(
    (options.distributions ?? [{ id: DEFAULT_DISTRIBUTION_ID }]).map((d) => [d.id, d] as const),
  );
  const now = options.now ?? Date.now;
  const limit = options.inProgressLimit ?? { files: 3000, wildcards: 15 };
  const maxPathsPerRequest = options.maxPathsPerRequest ?? 3000;
  const maxSkewMs = options.maxSkewMs ?? 15 * 60_000;
  let durationMs = options.invalidationDurationMs ?? 5_000;
  const stored: Stored[] = [];
  const byReference = new Map<string, Stored>();
  const buckets = new Map<string, { tokens: number; at: number }>();
  const log = createRequestLog<CloudFrontOp>();
  const faults = createFaults<CloudFrontOp>(options.randomFaults);
  const refusals: CloudFrontRefusal[] = [];
  const refused = new EventEmitter<{ refusal: [CloudFrontRefusal] }>();
  let base = '';

  const completed = (s: Stored): boolean => s.finished || now() - s.createdAt >= durationMs;
  const view = (s: Stored): CloudFrontInvalidation => ({
    id: s.id,
    distributionId: s.distributionId,
    status: completed(s) ? 'Completed' : 'InProgress',
    createTime: new Date(s.createdAt).toISOString(),
    createdAt: s.createdAt,
    paths: s.paths,
    callerReference: s.callerReference,
  });

  function inProgress(distributionId: string): { files: number; wildcards: number } {
    let files = 0;
    let wildcards = 0;
    for (const s of stored) {
      if (s.distributionId !== distributionId || completed(s)) continue;
      for (const path of s.paths) {
        // Tags are counted as file paths: no quota on tags in progress is documented (inferred).
        if (path.endsWith('*')) wildcards += 1;
        else files += 1;
      }
    }
    return { files, wildcards };
  }

  /** A token bucket per access key, refilled continuously. */
  function takeToken(accessKeyId: string, commit: boolean): boolean {
    const rate = options.createRate;
    if (!rate) return true;
    const at = now();
    const bucket = buckets.get(accessKeyId) ?? { tokens: rate.burst, at };
    const tokens = Math.min(rate.burst, bucket.tokens + ((at - bucket.at) / 1000) * rate.perSecond);
    if (tokens < 1) {
      if (commit) buckets.set(accessKeyId, { tokens, at });
      return false;
    }
    if (commit) buckets.set(accessKeyId, { tokens: tokens - 1, at });
    return true;
  }

  function newId(): string {
    const bytes = randomBytes(13);
    return `I${[...bytes].map((b) => ID_CHARS[b % ID_CHARS.length]).join('')}`;
  }

  function create(
    distributionId: string,
    account: AwsAccount,
    raw: string,
    commit: boolean,
    requestId: string,
  ): Reply {
    const distribution = distributions.get(distributionId) as CloudFrontDistribution;
    if (!takeToken(account.accessKeyId, commit))
      return errorReply(400, 'Throttling', 'Rate exceeded', requestId);
    const batch = parseInvalidationBatch(raw, distribution.cacheTags === true);
    if ('code' in batch) return errorReply(batch.status, batch.code, batch.message, requestId);
    const referenceKey = `${distributionId}\n${batch.callerReference}`;
    const earlier = byReference.get(referenceKey);
    if (earlier) {
      const same =
        earlier.paths.length === batch.paths.length && earlier.paths.every((p, i) => p === batch.paths[i]);
      // Status of both answers undocumented: 201 for the replay, 400 for the conflict (inferred).
      if (!same) {
        return errorReply(
          400,
          'InvalidationBatchAlreadyExists',
          'The CallerReference you attempted to use was already used for a different invalidation batch.',
          requestId,
        );
      }
      return created(earlier, requestId);
    }
    if (batch.paths.length > maxPathsPerRequest)
      return errorReply(413, 'BatchTooLarge', 'Invalidation batch specified is too large.', requestId);
    const running = inProgress(distributionId);
    const wildcards = batch.paths.filter((p) => p.endsWith('*')).length;
    const files = batch.paths.length - wildcards;
    if (running.files + files > limit.files || running.wildcards + wildcards > limit.wildcards) {
      return errorReply(
        400,
        'TooManyInvalidationsInProgress',
        'Processing your request will cause you to exceed the maximum number of in-progress invalidations.',
        requestId,
      );
    }
    const invalidation: Stored = {
      id: newId(),
      distributionId,
      callerReference: batch.callerReference,
      paths: batch.paths,
      createdAt: now(),
      finished: false,
    };
    if (commit) {
      stored.push(invalidation);
      byReference.set(referenceKey, invalidation);
    }
    return created(invalidation, requestId);
  }

  function created(s: Stored, requestId: string): Reply {
    const location = `${base}/${API_VERSION}/distribution/${s.distributionId}/invalidation/${s.id}`;
    return xmlReply(201, invalidationDocument(view(s)), { location, 'x-amzn-requestid': requestId });
  }

  function get(distributionId: string, id: string, requestId: string): Reply {
    const s = stored.find((x) => x.id === id && x.distributionId === distributionId);
    if (!s) {
      return errorReply(404, 'NoSuchInvalidation', 'The specified invalidation does not exist.', requestId);
    }
    return xmlReply(200, invalidationDocument(view(s)), { 'x-amzn-requestid': requestId });
  }

  function list(distributionId: string, search: URLSearchParams, requestId: string): Reply {
    const newestFirst = stored.filter((s) => s.distributionId === distributionId).reverse();
    const marker = search.get('Marker') ?? '';
    const maxItems = Math.min(100, Math.max(1, Number(search.get('MaxItems') ?? '100') || 100));
    const start = marker === '' ? 0 : newestFirst.findIndex((s) => s.id === marker) + 1;
    const page = newestFirst.slice(start, start + maxItems);
    const next = start + maxItems < newestFirst.length ? page.at(-1)?.id : undefined;
    return xmlReply(200, listDocument(page.map(view), marker, maxItems, next), {
      'x-amzn-requestid': requestId,
    });
  }

  function dispatch(r: Route, req: IncomingMessage, url: URL, raw: string, commit: boolean): Reply {
    const requestId = randomUUID();
    const auth = authenticate(req, raw);
    if (!auth.ok) return errorReply(auth.status, auth.code, auth.message, requestId);
    if (r.op === 'unknown') return errorReply(404, 'NotFound', 'Not Found', requestId);
    if (auth.account.distributions && !auth.account.distributions.includes(r.distributionId)) {
      const action =
        r.op === 'submit'
          ? 'CreateInvalidation'
          : r.op === 'status'
            ? 'GetInvalidation'
            : 'ListInvalidations';
      return errorReply(
        403,
        'AccessDenied',
        `User: ${auth.account.accessKeyId} is not authorized to perform: cloudfront:${action} on resource: distribution/${r.distributionId}`,
        requestId,
      );
    }
    if (!distributions.has(r.distributionId))
      return errorReply(404, 'NoSuchDistribution', 'The specified distribution does not exist.', requestId);
    if (r.op === 'submit') return create(r.distributionId, auth.account, raw, commit, requestId);
    if (r.op === 'status') return get(r.distributionId, r.id, requestId);
    return list(r.distributionId, url.searchParams, requestId);
  }

  function authenticate(req: IncomingMessage, raw: string) {
    return verifySigV4(
      { method: req.method ?? 'GET', target: req.url ?? '/', headers: req.headers, body: raw },
      accounts,
      { service: 'cloudfront', region: 'us-east-1', now: now(), maxSkewMs },
    );
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://simulator');
    const r = route(req.method ?? 'GET', url.pathname);
    readBody(req).then(
      (raw) => {
        const entry = {
          op: r.op,
          method: req.method ?? 'GET',
          path: url.pathname,
          authorized: authenticate(req, raw).ok,
          at: now(),
          ...(raw === '' ? {} : { body: bodyOf(raw) }),
        };
        log.record(entry);
        const run = (commit: boolean): Reply => {
          const reply = dispatch(r, req, url, raw, commit);
          const code =
            commit && reply.status >= 400 ? /<Code>([^<]{1,100})<\/Code>/.exec(reply.body)?.[1] : undefined;
          if (code !== undefined) {
            const refusal = { op: r.op, status: reply.status, code, at: now() };
            refusals.push(refusal);
            refused.emit('refusal', refusal);
          }
          return reply;
        };
        if (r.op === 'unknown') send(res, run(false));
        else faults.respond(r.op, res, run);
      },
      () => res.socket?.destroy(),
    );
  }

  const server = createServer(handle);
  const address = await listen(server, options.port ?? 0, options.host ?? '127.0.0.1');
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  base = `http://${host}:${address.port}`;
  let closing: Promise<void> | undefined;

  return {
    url: base,
    requests: log.requests,
    events: log.events,
    waitForRequest: log.waitForRequest,
    faults,
    get invalidations() {
      return stored.map(view);
    },
    invalidation(id) {
      const s = stored.find((x) => x.id === id);
      return s ? view(s) : undefined;
    },
    finish(id) {
      for (const s of stored) if (id === undefined || s.id === id) s.finished = true;
    },
    setInvalidationDuration(ms) {
      durationMs = ms;
    },
    inProgress,
    refusals,
    waitForRefusal(code, nth = 1) {
      return new Promise((resolve) => {
        const check = (): void => {
          const hit = refusals.filter((r) => r.code === code)[nth - 1];
          if (!hit) return;
          refused.off('refusal', check);
          resolve(hit);
        };
        refused.on('refusal', check);
        check();
      });
    },
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

/** The paths and reference a create asked for, for tests to read; the raw text when it does not parse. */
function bodyOf(raw: string): unknown {
  const parsed = parseInvalidationBatch(raw, true);
  return 'code' in parsed ? raw : parsed;
}
