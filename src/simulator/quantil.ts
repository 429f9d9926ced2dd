import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PurgeProgress, PurgeReceiver } from './edges/purges.ts';
import { quantilDirScope, quantilFileScope } from './edges/scope.ts';
import type { FaultInjector, Hold, RandomFaults, Reply, RequestLog, RequestLogEntry } from './faults.ts';
import { createFaults, createRequestLog, readBody, send } from './faults.ts';
import { drawDuration, type ProgressCurve, shownProgress, WAITING_SHARE } from './progress-curves.ts';
import {
  type AuthResult,
  createdDocument,
  errorReply,
  listDocument,
  parsePurgeUrls,
  type QuantilAccount,
  type Route,
  route,
  type StatusCasing,
  type StatusItemView,
  statusDocument,
  utcDay,
  verifyAuth,
  xmlReply,
} from './quantil-wire.ts';

export type { QuantilAccount, StatusCasing } from './quantil-wire.ts';
export type QuantilOp = 'submit' | 'status' | 'list';
export type QuantilOutcome = 'success' | 'failure';
/** Any other string is accepted by setItemStatus too, to exercise a client's unknown-status handling. */
export type QuantilItemStatus = 'wait' | 'run' | QuantilOutcome;

export interface QuantilOptions {
  accounts?: QuantilAccount[];
  /** Every purge's duration, or the shortest when `taskDurationMaxMs` spreads them. */
  taskDurationMs?: number;
  /** Durations drawn per purge, evenly in log-space from `taskDurationMs` to this. */
  taskDurationMaxMs?: number;
  /** How a running item reports its `rate` (simulator/progress-curves.ts); default `linear`. */
  progressCurve?: ProgressCurve;
  /** What task durations are drawn with. */
  random?: () => number;
  now?: () => number;
  /** A Date header further than this from `now` is refused with 401, as the real API refuses skewed clocks. */
  maxSkewMs?: number;
  outcome?: (path: string) => QuantilOutcome;
  statusCasing?: StatusCasing;
  /** Per account per UTC day; the documented limits are 5000 file URLs and 500 directories. */
  dailyQuota?: { files: number; dirs: number };
  /** Where a create answer carries the purge id: undocumented, so every variant a client may meet. */
  idIn?: 'location' | 'body' | 'both' | 'none';
  createStatus?: 200 | 201 | 202;
  /** Faults at random on every operation, besides any a test injects. */
  randomFaults?: RandomFaults;
  /** The caches each accepted purge is handed to (every one of them: QUANTIL purges name no host). */
  edges?: PurgeReceiver;
}

/** `status` is lower case here; the casing option applies to the wire only. */
export type QuantilItemView = StatusItemView;

export interface QuantilPurgeView {
  id: string;
  user: string;
  createdAt: number;
  items: QuantilItemView[];
}

export interface QuantilSimulator extends RequestLog<QuantilOp> {
  /** Snapshots computed at read time from the clock. */
  readonly purges: QuantilPurgeView[];
  readonly faults: FaultInjector<QuantilOp>;
  purge(id: string): QuantilPurgeView | undefined;
  holdNext(op: QuantilOp): Hold;
  /** Pins one item's status (null unpins); `success`/`failure` report rate 100. */
  setItemStatus(purgeId: string, path: string, status: QuantilItemStatus | (string & {}) | null): void;
  /** Makes status requests for `purgeId` (known or not) answer exactly `xmlText`; null stops it. */
  serveVerbatim(purgeId: string, xmlText: string | null): void;
  /** Every purge's duration from now on, running ones' too, so a test can finish or stretch in-flight purges. */
  setTaskDuration(ms: number): void;
  quotaUsed(user: string): { files: number; dirs: number };
  ownsPath(pathname: string): boolean;
  handle(req: IncomingMessage, res: ServerResponse): void;
  dispose(): void;
}

export const DEFAULT_QUANTIL_ACCOUNT: QuantilAccount = { user: 'demo', apiKey: 'demo-key' };
const FIRST_REQUEST_ID = 1_128_692;

type Item = { path: string; isdir: boolean; outcome: QuantilOutcome };
type Purge = { id: string; user: string; createdAt: number; items: Item[]; durationMs: number };

export function createQuantilSimulator(options: QuantilOptions = {}): QuantilSimulator {
  const accounts = options.accounts ?? [DEFAULT_QUANTIL_ACCOUNT];
  const now = options.now ?? Date.now;
  const maxSkewMs = options.maxSkewMs ?? 15 * 60_000;
  const outcome = options.outcome ?? (() => 'success');
  const casing = options.statusCasing ?? 'mixed';
  const quota = options.dailyQuota ?? { files: 5000, dirs: 500 };
  const idIn = options.idIn ?? 'location';
  const createStatus = options.createStatus ?? 202;
  const spread = { minMs: options.taskDurationMs ?? 3000, maxMs: options.taskDurationMaxMs };
  const curve = options.progressCurve ?? 'linear';
  const random = options.random ?? Math.random;
  let setDuration: number | undefined;
  let nextRequestId = FIRST_REQUEST_ID;
  const purges = new Map<string, Purge>();
  const pinned = new Map<string, Map<string, string>>();
  const verbatim = new Map<string, string>();
  const usage = new Map<string, { day: string; files: number; dirs: number }>();
  const log = createRequestLog<QuantilOp>();
  const faults = createFaults<QuantilOp>(options.randomFaults);

  function used(user: string): { files: number; dirs: number } {
    const day = utcDay(now());
    const entry = usage.get(user);
    return entry?.day === day ? { files: entry.files, dirs: entry.dirs } : { files: 0, dirs: 0 };
  }

  function itemView(purge: Purge, { path, isdir, outcome: end }: Item): QuantilItemView {
    const elapsed = now() - purge.createdAt;
    const durationMs = setDuration ?? purge.durationMs;
    const progress = shownProgress(curve, elapsed, durationMs, 1) ?? null;
    const pin = pinned.get(purge.id)?.get(path);
    if (pin !== undefined) {
      const terminal = pin === 'success' || pin === 'failure';
      return { path, isdir, status: pin, rate: terminal ? 100 : pin === 'wait' ? 0 : progress };
    }
    if (elapsed >= durationMs) return { path, isdir, status: end, rate: 100 };
    // Like a queue before cache servers pick the job up: the first tenth of the run is `wait`.
    if (elapsed < durationMs * WAITING_SHARE) return { path, isdir, status: 'wait', rate: progress };
    return { path, isdir, status: 'run', rate: progress };
  }

  function view(purge: Purge): QuantilPurgeView {
    const items = purge.items.map((item) => itemView(purge, item));
    return { id: purge.id, user: purge.user, createdAt: purge.createdAt, items };
  }

  /** An item's progress as the caches read it: `rate` is the share of cache servers updated (the doc's). */
  function progressOf(purge: Purge, item: Item): PurgeProgress {
    const { status: shown, rate } = itemView(purge, item);
    const status = shown.toLowerCase();
    if (status === 'success') return { state: 'succeeded' };
    if (status === 'failure') return { state: 'failed' };
    return { state: 'running', percent: rate ?? 0 };
  }

  function handToEdges(purge: Purge): void {
    const parts = purge.items.map((item) => ({
      ...(item.isdir ? quantilDirScope(item.path) : quantilFileScope(item.path)),
      progress: () => progressOf(purge, item),
    }));
    options.edges?.receive({ id: `quantil:${purge.id}`, parts });
  }

  function submit(user: string, raw: string, host: string | undefined, commit: boolean): Reply {
    const parsed = parsePurgeUrls(raw);
    if ('error' in parsed) return errorReply(400, 'BadRequest', parsed.error);
    const today = used(user);
    const files = today.files + parsed.fileUrls.length;
    const dirs = today.dirs + parsed.dirUrls.length;
    if (files > quota.files || dirs > quota.dirs) {
      const message =
        `daily purge quota exceeded for ${user}: ${files}/${quota.files} file urls, ` +
        `${dirs}/${quota.dirs} dir urls requested today`;
      return errorReply(403, 'QuotaExceeded', message);
    }
    const id = randomUUID();
    if (commit) {
      usage.set(user, { day: utcDay(now()), files, dirs });
      const items = [
        ...parsed.fileUrls.map((path) => ({ path, isdir: false, outcome: outcome(path) })),
        ...parsed.dirUrls.map((path) => ({ path, isdir: true, outcome: outcome(path) })),
      ];
      const purge = {
        id,
        user,
        createdAt: now(),
        items,
        durationMs: setDuration ?? drawDuration(spread, random),
      };
      purges.set(id, purge);
      handToEdges(purge);
    }
    const headers: Record<string, string> = {};
    if (idIn === 'location' || idIn === 'both')
      headers.location = `${host ? `http://${host}` : ''}/api/purge/${id}`;
    const body = idIn === 'body' || idIn === 'both' ? createdDocument(id) : '';
    return xmlReply(createStatus, body, headers);
  }

  function status(user: string, id: string): Reply {
    const text = verbatim.get(id);
    if (text !== undefined) return xmlReply(200, text);
    const purge = purges.get(id);
    if (!purge || purge.user !== user) return errorReply(404, 'NotFound', `purge ${id} not found`);
    const requestDate = new Date(purge.createdAt).toUTCString();
    return xmlReply(200, statusDocument(requestDate, view(purge).items, casing));
  }

  function list(user: string, search: URLSearchParams): Reply {
    const from = Date.parse(search.get('datefrom') ?? '');
    const to = Date.parse(search.get('dateto') ?? '');
    const entries = [...purges.values()]
      .filter((p) => p.user === user)
      .filter((p) => (Number.isNaN(from) || p.createdAt >= from) && (Number.isNaN(to) || p.createdAt <= to))
      .map((p) => ({ id: p.id, requestDate: new Date(p.createdAt).toUTCString() }));
    return xmlReply(200, listDocument(entries));
  }

  function dispatch(r: Route, req: IncomingMessage, url: URL, raw: string, commit: boolean): Reply {
    const auth = authenticate(req);
    if (!auth.ok) return errorReply(401, 'Unauthorized', auth.reason);
    if (!/xml|\*\/\*/.test(req.headers.accept ?? ''))
      return errorReply(406, 'NotAcceptable', 'Accept must allow application/xml');
    if (r.op === 'submit') {
      if (!/xml/.test(req.headers['content-type'] ?? ''))
        return errorReply(415, 'UnsupportedMediaType', 'Content-Type must be application/xml');
      return submit(auth.user, raw, req.headers.host, commit);
    }
    if (r.op === 'status') return status(auth.user, r.id);
    if (r.op === 'list') return list(auth.user, url.searchParams);
    return errorReply(404, 'NotFound', 'not found');
  }

  function authenticate(req: IncomingMessage): AuthResult {
    return verifyAuth(req.headers, accounts, now(), maxSkewMs);
  }

  function withRequestId(reply: Reply): Reply {
    const requestId = String(nextRequestId++);
    return { ...reply, headers: { ...reply.headers, 'x-cnc-request-id': requestId } };
  }

  function record(r: Route, req: IncomingMessage, pathname: string, raw: string): RequestLogEntry<QuantilOp> {
    const entry: RequestLogEntry<QuantilOp> = {
      op: r.op,
      method: req.method ?? 'GET',
      path: pathname,
      authorized: authenticate(req).ok,
      at: now(),
    };
    if (raw !== '') {
      const parsed = parsePurgeUrls(raw);
      entry.body = 'error' in parsed ? raw : parsed;
    }
    log.record(entry);
    return entry;
  }

  return {
    requests: log.requests,
    events: log.events,
    get purges() {
      return [...purges.values()].map(view);
    },
    faults,
    purge(id) {
      const purge = purges.get(id);
      return purge ? view(purge) : undefined;
    },
    holdNext: (op) => faults.holdNext(op),
    waitForRequest: log.waitForRequest,
    setItemStatus(purgeId, path, itemStatus) {
      const purge = purges.get(purgeId);
      if (!purge) throw new Error(`unknown QUANTIL purge ${purgeId}`);
      if (!purge.items.some((item) => item.path === path)) throw new Error(`purge ${purgeId} has no ${path}`);
      const pins = pinned.get(purgeId) ?? new Map<string, string>();
      if (itemStatus === null) pins.delete(path);
      else pins.set(path, itemStatus);
      pinned.set(purgeId, pins);
    },
    serveVerbatim(purgeId, xmlText) {
      if (xmlText === null) verbatim.delete(purgeId);
      else verbatim.set(purgeId, xmlText);
    },
    setTaskDuration(ms) {
      setDuration = ms;
    },
    quotaUsed: used,
    ownsPath: (pathname) => /^\/api\/purge(\/|$)/.test(pathname),
    handle(req, res) {
      const url = new URL(req.url ?? '/', 'http://simulator');
      const r = route(req.method ?? 'GET', url.pathname);
      readBody(req).then(
        (raw) => {
          record(r, req, url.pathname, raw);
          const run = (commit: boolean): Reply => withRequestId(dispatch(r, req, url, raw, commit));
          if (r.op === 'unknown') send(res, run(false));
          else faults.respond(r.op, res, run);
        },
        () => res.socket?.destroy(),
      );
    },
    dispose: () => faults.dispose(),
  };
}
