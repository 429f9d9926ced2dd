import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EdgeAddress } from './edges/fleet.ts';
import type { PurgeProgress, PurgeReceiver } from './edges/purges.ts';
import { vimsPatternScope } from './edges/scope.ts';
import type { FaultInjector, Hold, RandomFaults, Reply, RequestLog, RequestLogEntry } from './faults.ts';
import { createFaults, createRequestLog, jsonReply, readBody, send } from './faults.ts';
import { drawDuration, type ProgressCurve, shownProgress, WAITING_SHARE } from './progress-curves.ts';

export type VimsOp = 'submit' | 'status' | 'list';
export const CELERY_RUNNING_STATES = ['PENDING', 'RECEIVED', 'STARTED', 'RETRY', 'PROGRESS'] as const;
export const CELERY_FINAL_STATES = ['SUCCESS', 'FAILURE', 'REVOKED', 'REJECTED'] as const;
/** Any other string is accepted by setTaskState too, to exercise a client's unknown-state handling. */
export type CeleryState = (typeof CELERY_RUNNING_STATES)[number] | (typeof CELERY_FINAL_STATES)[number];

/**
 * `port` is the simulator's own addition to the listing (an edge on a free loopback port; real CDN hosts
 * serve on 80/443, so the documented entry has an IP only). `edgeId` ties the host to a simulated edge
 * that this CDN's purges reach; it is never listed.
 */
export type VimsHost = { vmId: number; name: string; ip: string; port?: number; edgeId?: string };
export type VimsService = { id: number; description: string; hosts: VimsHost[] };
export type PurgeRequest = { cdnId: number; target: string; pattern: string };
export type Outcome = 'SUCCESS' | 'FAILURE';

export interface VimsOptions {
  tokens?: string[];
  services?: VimsService[];
  /** Every task's duration, or the shortest when `taskDurationMaxMs` spreads them. */
  taskDurationMs?: number;
  /** Durations drawn per task, evenly in log-space from `taskDurationMs` to this. */
  taskDurationMaxMs?: number;
  /** How a running task reports its `percentage` (simulator/progress-curves.ts); default `linear`. */
  progressCurve?: ProgressCurve;
  /** What task durations are drawn with. */
  random?: () => number;
  now?: () => number;
  outcome?: (task: PurgeRequest) => Outcome;
  taskPaths?: Array<'tasks' | 'task'>;
  firstTaskId?: number;
  failureOutput?: string;
  /** Faults at random on every operation, besides any a test injects. */
  randomFaults?: RandomFaults;
  /** The caches each accepted task is handed to; hosts with an `edgeId` are the ones it reaches. */
  edges?: PurgeReceiver;
}

export interface VimsTaskView extends PurgeRequest {
  id: number;
  createdAt: number;
  state: string;
  /** null: the task reports no progress (`progressCurve: 'none'`). */
  percentage: number | null;
  durationMs: number;
  end: number | null;
  output: string | null;
}

export type VimsRequestLogEntry = RequestLogEntry<VimsOp>;

export interface VimsSimulator extends RequestLog<VimsOp> {
  /** Snapshots computed at read time from the clock. */
  readonly tasks: VimsTaskView[];
  /** What the services listing shows. */
  readonly services: readonly VimsService[];
  readonly faults: FaultInjector<VimsOp>;
  task(id: number): VimsTaskView | undefined;
  holdNext(op: VimsOp): Hold;
  /** Pins a task to a state (null unpins); terminal states get `end` = now and a default output. */
  setTaskState(taskId: number, state: CeleryState | (string & {}) | null, output?: string): void;
  /** Every task's duration from now on, running tasks' too, so a test can finish or stretch in-flight purges. */
  setTaskDuration(ms: number): void;
  ownsPath(pathname: string): boolean;
  handle(req: IncomingMessage, res: ServerResponse): void;
  dispose(): void;
}

export const DEFAULT_VIMS_TOKEN = 'sk_live_demo';
export const DEFAULT_VIMS_SERVICES: VimsService[] = [
  {
    id: 101,
    description: 'Demo CDN',
    hosts: [
      { vmId: 201, name: 'cdn-edge-1.example.net', ip: '192.0.2.11' },
      { vmId: 202, name: 'cdn-edge-2.example.net', ip: '192.0.2.12' },
    ],
  },
];

/** The simulator's edges as one service's CDN_HOSTs, vm ids from 201 as in the default listing. */
export function edgeServices(edges: readonly EdgeAddress[]): VimsService[] {
  const hosts = edges.map(({ id, ip, port }, i) => ({
    vmId: 201 + i,
    name: `${id}.localhost`,
    ip,
    port,
    edgeId: id,
  }));
  return [{ id: 101, description: 'Demo CDN', hosts }];
}

const TERMINAL = new Set<string>(CELERY_FINAL_STATES);
const DEFAULT_OUTPUTS: Record<string, string> = {
  REVOKED: 'TaskRevokedError: revoked',
  REJECTED: 'Rejected',
};

type Task = PurgeRequest & {
  id: number;
  createdAt: number;
  remoteId: string;
  outcome: Outcome;
  durationMs: number;
};

type Route = { op: 'list' | 'unknown' } | { op: 'submit'; cdnId: number } | { op: 'status'; id: string };

// JSON never parses to undefined, so it doubles as the failure value.
function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

function isValidPattern(pattern: unknown): pattern is string {
  if (typeof pattern !== 'string' || pattern === '') return false;
  if (pattern === '*') return true;
  try {
    new RegExp(pattern);
    return true;
  } catch {
    return false;
  }
}

function serviceJson({ id, description, hosts }: VimsService): unknown {
  const company = { id: 1, name: 'Demo company' };
  const subServices = hosts.map(({ vmId, name, ip, port }) => {
    const networking = [{ id: 20_000 + vmId, ip, ...(port === undefined ? {} : { port }) }];
    const vm = { company: { id: 1, name: '' }, id: vmId, name, networking };
    return { description: '', id: 10_000 + vmId, type: { id: 2, name: 'CDN_HOST' }, vm };
  });
  const empty = { bundle: {}, configs: [], meta_service: {}, monitored_urls: [], properties: [], stats: [] };
  const type = { id: 1, name: 'CDN' };
  return {
    active: true,
    ...empty,
    company,
    description,
    id,
    name: null,
    sub_services: subServices,
    tasks: [],
    type,
    vm: {},
  };
}

export function createVimsSimulator(options: VimsOptions = {}): VimsSimulator {
  const tokens = options.tokens ?? [DEFAULT_VIMS_TOKEN];
  const services = options.services ?? DEFAULT_VIMS_SERVICES;
  const now = options.now ?? Date.now;
  const outcome = options.outcome ?? (() => 'SUCCESS');
  const taskPaths = new Set(options.taskPaths ?? ['tasks', 'task']);
  const failureOutput = options.failureOutput ?? "Command failed: ['output']";
  const spread = { minMs: options.taskDurationMs ?? 3000, maxMs: options.taskDurationMaxMs };
  const curve = options.progressCurve ?? 'linear';
  const random = options.random ?? Math.random;
  let setDuration: number | undefined;
  let nextTaskId = options.firstTaskId ?? 5001;
  const tasks = new Map<number, Task>();
  const overrides = new Map<number, { state: string; at: number; output: string | undefined }>();
  const log = createRequestLog<VimsOp>();
  const faults = createFaults<VimsOp>(options.randomFaults);

  function view(task: Task): VimsTaskView {
    const { id, cdnId, target, pattern, createdAt } = task;
    const durationMs = setDuration ?? task.durationMs;
    const base = { id, cdnId, target, pattern, createdAt, durationMs };
    const elapsed = now() - createdAt;
    const progress = shownProgress(curve, elapsed, durationMs, 0) ?? null;
    const pinned = overrides.get(id);
    if (pinned) {
      const { state, at } = pinned;
      const failed = TERMINAL.has(state) && state !== 'SUCCESS';
      const output = pinned.output ?? (failed ? (DEFAULT_OUTPUTS[state] ?? failureOutput) : null);
      const percentage = state === 'SUCCESS' ? 100 : progress;
      return { ...base, state, percentage, end: TERMINAL.has(state) ? at : null, output };
    }
    if (elapsed >= durationMs) {
      const output = task.outcome === 'FAILURE' ? failureOutput : null;
      return { ...base, state: task.outcome, percentage: 100, end: createdAt + durationMs, output };
    }
    // Celery reports PENDING until a worker picks the task up: the first tenth of the run.
    if (elapsed < durationMs * WAITING_SHARE)
      return { ...base, state: 'PENDING', percentage: progress, end: null, output: null };
    return { ...base, state: 'STARTED', percentage: progress, end: null, output: null };
  }

  /** A task's progress as its caches read it: its own state and percentage, read when they settle. */
  function progressOf(task: Task): PurgeProgress {
    const { state, percentage } = view(task);
    if (state === 'SUCCESS') return { state: 'succeeded' };
    if (TERMINAL.has(state)) return { state: 'failed' };
    return { state: 'running', percent: percentage ?? 0 };
  }

  function handToEdges(task: Task, service: VimsService): void {
    const hosts =
      task.target === 'all' ? service.hosts : service.hosts.filter((h) => String(h.vmId) === task.target);
    const edgeIds = hosts.flatMap((h) => (h.edgeId === undefined ? [] : [h.edgeId]));
    if (!options.edges || edgeIds.length === 0) return;
    const part = { ...vimsPatternScope(task.pattern), progress: () => progressOf(task) };
    options.edges.receive({ id: `vims:${task.id}`, edgeIds, parts: [part] });
  }

  function route(method: string, pathname: string): Route {
    if (/^\/api\/services\/cdn\/?$/.test(pathname))
      return method === 'GET' ? { op: 'list' } : { op: 'unknown' };
    const purge = /^\/api\/services\/cdn\/(\d+)\/purge\/?$/.exec(pathname);
    if (purge?.[1] !== undefined && method === 'POST') return { op: 'submit', cdnId: Number(purge[1]) };
    const status = /^\/api\/(tasks|task)\/([^/]+)\/?$/.exec(pathname);
    const kind = status?.[1];
    if (status?.[2] !== undefined && (kind === 'tasks' || kind === 'task') && method === 'GET') {
      // A disabled path behaves as an unknown route so a client's fallback between the two is testable.
      return taskPaths.has(kind) ? { op: 'status', id: status[2] } : { op: 'unknown' };
    }
    return { op: 'unknown' };
  }

  function failed(reason: string): Reply {
    return jsonReply(400, { message: `failed creation : ${reason}`, status: 'error' });
  }

  function submit(cdnId: number, raw: string, commit: boolean): Reply {
    const service = services.find((s) => s.id === cdnId);
    if (!service) return failed('cdn not found');
    const body = parseJson(raw);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return failed('invalid json');
    const { target: rawTarget, pattern } = body as Record<string, unknown>;
    // The doc shows vm ids quoted; a client sending a bare number is accepted the same way.
    const target =
      typeof rawTarget === 'number' && Number.isInteger(rawTarget) ? String(rawTarget) : rawTarget;
    const known = target === 'all' || service.hosts.some((h) => String(h.vmId) === target);
    if (typeof target !== 'string' || !known) return failed('unknown target');
    if (!isValidPattern(pattern)) return failed('invalid pattern');
    const id = nextTaskId;
    if (commit) {
      nextTaskId += 1;
      const request = { cdnId, target, pattern };
      const durationMs = setDuration ?? drawDuration(spread, random);
      const task = {
        ...request,
        id,
        createdAt: now(),
        remoteId: randomUUID(),
        outcome: outcome(request),
        durationMs,
      };
      tasks.set(id, task);
      handToEdges(task, service);
    }
    return jsonReply(200, { message: 'purge running', status: 'ok', task_id: id });
  }

  function status(rawId: string): Reply {
    const task = /^\d+$/.test(rawId) ? tasks.get(Number(rawId)) : undefined;
    if (!task) return jsonReply(404, { status: 'error', message: 'task not found' });
    const v = view(task);
    const service = services.find((s) => s.id === task.cdnId);
    const data = {
      comment: null,
      end: v.end === null ? null : new Date(v.end).toUTCString(),
      hn: {},
      id: task.id,
      name: `CDN purge ${task.pattern} on ${task.target}`,
      output: v.output,
      percentage: v.percentage,
      service: { description: service?.description ?? '', id: task.cdnId, name: null },
      start: new Date(task.createdAt).toUTCString(),
      status: v.state,
      task_remote_id: task.remoteId,
      task_type: 'celery',
      user: { email: 'purge-bot@example.com', id: 42 },
      vims_task_type: 'cdn_purge',
      vm: {},
    };
    return jsonReply(200, { data, message: 'bundle found', status: 'ok' });
  }

  function dispatch(r: Route, raw: string, commit: boolean): Reply {
    if (r.op === 'list') {
      return jsonReply(200, {
        count: services.length,
        data: services.map(serviceJson),
        message: 'found',
        status: 'ok',
      });
    }
    if (r.op === 'submit') return submit(r.cdnId, raw, commit);
    if (r.op === 'status') return status(r.id);
    return jsonReply(404, { status: 'error', message: 'not found' });
  }

  function record(r: Route, req: IncomingMessage, pathname: string, raw: string): VimsRequestLogEntry {
    const header = req.headers.authorization;
    const entry: VimsRequestLogEntry = {
      op: r.op,
      method: req.method ?? 'GET',
      path: pathname,
      authorized: header !== undefined && tokens.includes(header),
      at: now(),
    };
    if (raw !== '') entry.body = parseJson(raw) ?? raw;
    log.record(entry);
    return entry;
  }

  return {
    requests: log.requests,
    events: log.events,
    get tasks() {
      return [...tasks.values()].map(view);
    },
    services,
    faults,
    task(id) {
      const task = tasks.get(id);
      return task ? view(task) : undefined;
    },
    holdNext: (op) => faults.holdNext(op),
    waitForRequest: log.waitForRequest,
    setTaskState(taskId, state, output) {
      if (!tasks.has(taskId)) throw new Error(`unknown VIMS task ${taskId}`);
      if (state === null) overrides.delete(taskId);
      else overrides.set(taskId, { state, at: now(), output });
    },
    setTaskDuration(ms) {
      setDuration = ms;
    },
    ownsPath: (pathname) => /^\/api\/(services\/cdn|tasks?)(\/|$)/.test(pathname),
    handle(req, res) {
      const pathname = new URL(req.url ?? '/', 'http://simulator').pathname;
      const r = route(req.method ?? 'GET', pathname);
      readBody(req).then(
        (raw) => {
          const entry = record(r, req, pathname, raw);
          const run = (commit: boolean): Reply =>
            entry.authorized
              ? dispatch(r, raw, commit)
              : jsonReply(401, { status: 'error', message: 'invalid token' });
          if (r.op === 'unknown') send(res, dispatch(r, raw, false));
          else faults.respond(r.op, res, run);
        },
        () => res.socket?.destroy(),
      );
    },
    dispose: () => faults.dispose(),
  };
}
