/**
 * The provider-agnostic half of a CDN simulator: fault injection, held answers and the request log.
 * Each provider (VIMS now, QUANTIL later) names its own operations and keeps only its protocol.
 */
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** A fully formed HTTP answer; kept as data so faults can delay, cut or replace it. */
export interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export type FaultKind =
  | { kind: 'status'; status: number; body?: string; contentType?: string; retryAfter?: string }
  | { kind: 'stall' }
  | { kind: 'slow'; delayMs: number }
  | { kind: 'truncate' }
  | { kind: 'reset' }
  | { kind: 'html'; status: number };

/**
 * `afterAccept: true` runs the operation for real (a submit creates its task) before the fault shapes the
 * response: the "CDN accepted the purge but the answer was lost" case. Default: the request never reaches
 * the origin, except for `slow`, whose whole point is that it eventually does.
 */
export type Fault = FaultKind & { afterAccept?: boolean };

export interface Hold {
  /** Resolves once the held request has been processed (side effects done), its answer not yet sent. */
  arrived: Promise<void>;
  release(): void;
}

/**
 * Faults at random, on top of any injected ones: each request not already given an injected fault gets one
 * of `faults` (uniformly) with probability `rate`. For a chaos run, where a test's exact script is not the
 * point but a steady rain of every failure is.
 */
export interface RandomFaults {
  /** 0 to 1: the share of requests that meet a fault. */
  rate: number;
  faults: readonly Fault[];
  /** 0 <= x < 1; Math.random unless a run wants to be reproducible. */
  random?: () => number;
}

/** A fault the simulator applied, as counted for a run's report (an injected or a random one). */
export interface AppliedFault {
  op: string;
  kind: FaultKind['kind'];
  /** The operation ran (a submit created its task) and only the answer was spoilt. */
  afterAccept: boolean;
}

/** Every fault the simulator has, each also after accepting where the operation can have run first. */
export const EVERY_FAULT: readonly Fault[] = [
  { kind: 'status', status: 500 },
  { kind: 'status', status: 503, retryAfter: '1' },
  { kind: 'status', status: 429, retryAfter: '1' },
  { kind: 'html', status: 502 },
  { kind: 'stall' },
  { kind: 'slow', delayMs: 300 },
  { kind: 'truncate' },
  { kind: 'reset' },
  { kind: 'status', status: 500, afterAccept: true },
  { kind: 'html', status: 504, afterAccept: true },
  { kind: 'stall', afterAccept: true },
  { kind: 'reset', afterAccept: true },
];

/** The part tests drive; ops are plain strings so every provider simulator can name its own. */
export interface FaultInjector<Op extends string = string> {
  inject(op: Op, fault: Fault, times?: number): void;
  clear(): void;
  pending(op?: Op): number;
  /** Every fault applied so far, in order. */
  readonly applied: readonly AppliedFault[];
}

/** `process(commit)` runs the operation; with `commit` false it must only preview the reply. */
export type Processor = (commit: boolean) => Reply;

export interface Faults<Op extends string = string> extends FaultInjector<Op> {
  holdNext(op: Op): Hold;
  respond(op: Op, res: ServerResponse, process: Processor): void;
  /** Stops pending timers and drops held answers; the server destroys the sockets themselves. */
  dispose(): void;
}

export function jsonReply(status: number, body: unknown, headers: Record<string, string> = {}): Reply {
  return { status, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) };
}

export function send(res: ServerResponse, reply: Reply): void {
  if (res.destroyed || res.writableEnded) return;
  res.writeHead(reply.status, {
    ...reply.headers,
    'content-length': String(Buffer.byteLength(reply.body)),
  });
  res.end(reply.body);
}

export interface RequestLogEntry<Op extends string = string> {
  op: Op | 'unknown';
  method: string;
  path: string;
  /** Whether the credentials were accepted; the credentials themselves are never kept. */
  authorized: boolean;
  body?: unknown;
  at: number;
}

export interface RequestLog<Op extends string = string> {
  readonly requests: readonly RequestLogEntry<Op>[];
  readonly events: EventEmitter<{ request: [RequestLogEntry<Op>] }>;
  /** Resolves with the nth (1-based, counted since start) request of `op`, already arrived or not. */
  waitForRequest(op: Op, nth?: number): Promise<RequestLogEntry<Op>>;
}

export function createRequestLog<Op extends string>(): RequestLog<Op> & {
  record(entry: RequestLogEntry<Op>): void;
} {
  const requests: RequestLogEntry<Op>[] = [];
  const events = new EventEmitter<{ request: [RequestLogEntry<Op>] }>();
  return {
    requests,
    events,
    record(entry) {
      requests.push(entry);
      events.emit('request', entry);
    },
    waitForRequest(op, nth = 1) {
      return new Promise((resolve) => {
        const check = (): void => {
          const hit = requests.filter((r) => r.op === op)[nth - 1];
          if (!hit) return;
          events.off('request', check);
          resolve(hit);
        };
        events.on('request', check);
        check();
      });
    },
  };
}

const MAX_BODY_BYTES = 1024 * 1024;

/** Reads a request body with a cap, since the simulator must survive a misbehaving client. */
export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) req.destroy(new Error('request body too large'));
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export function proxyErrorPage(status: number): string {
  const title = `${status} Error`;
  return `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`;
}

function guessContentType(body: string): string {
  const head = body.trimStart();
  if (head.startsWith('{') || head.startsWith('[')) return 'application/json';
  if (head.startsWith('<')) return head.startsWith('<?xml') ? 'application/xml' : 'text/html';
  return 'text/plain';
}

interface QueuedFault<Op> {
  op: Op;
  fault: Fault;
  remaining: number;
}

interface PendingHold {
  arrive(): void;
  released: Promise<void>;
}

export function createFaults<Op extends string = string>(randomFaults?: RandomFaults): Faults<Op> {
  if (randomFaults && !(randomFaults.rate >= 0 && randomFaults.rate <= 1)) {
    throw new RangeError(`random fault rate must be from 0 to 1, got ${randomFaults.rate}`);
  }
  const random = randomFaults?.random ?? Math.random;
  const applied: AppliedFault[] = [];
  let queue: QueuedFault<Op>[] = [];
  let holds = new Map<Op, PendingHold[]>();
  const timers = new Set<NodeJS.Timeout>();
  let disposed = false;

  function randomFault(): Fault | undefined {
    if (!randomFaults || randomFaults.faults.length === 0 || random() >= randomFaults.rate) return undefined;
    return randomFaults.faults[Math.floor(random() * randomFaults.faults.length)];
  }

  function take(op: Op): Fault | undefined {
    const entry = queue.find((q) => q.op === op);
    const fault = entry?.fault ?? randomFault();
    if (entry) {
      entry.remaining -= 1;
      if (entry.remaining <= 0) queue = queue.filter((q) => q !== entry);
    }
    if (fault) applied.push({ op, kind: fault.kind, afterAccept: fault.afterAccept === true });
    return fault;
  }

  function shape(fault: Fault, res: ServerResponse, process: Processor): void {
    switch (fault.kind) {
      case 'status': {
        const body = fault.body ?? JSON.stringify({ status: 'error', message: `injected ${fault.status}` });
        const headers: Record<string, string> = {
          'content-type': fault.contentType ?? guessContentType(body),
        };
        if (fault.retryAfter !== undefined) headers['retry-after'] = fault.retryAfter;
        send(res, { status: fault.status, headers, body });
        return;
      }
      case 'html':
        send(res, {
          status: fault.status,
          headers: { 'content-type': 'text/html' },
          body: proxyErrorPage(fault.status),
        });
        return;
      case 'stall':
        // Deliberately nothing: the socket stays open until the client gives up or close() destroys it.
        return;
      case 'reset':
        res.socket?.resetAndDestroy();
        return;
      case 'slow': {
        const timer = setTimeout(() => {
          timers.delete(timer);
          // Processed even if the client already timed out: a late origin still purges.
          send(res, process(true));
        }, fault.delayMs);
        timers.add(timer);
        return;
      }
      case 'truncate': {
        const reply = process(false);
        const full = Buffer.from(reply.body);
        // One byte more than the body is promised, so even an empty body (an answer that is all headers)
        // arrives cut short: a client must never read a complete answer for what was never processed.
        res.writeHead(reply.status, { ...reply.headers, 'content-length': String(full.length + 1) });
        res.write(full.subarray(0, Math.floor(full.length / 2)), () => res.socket?.destroy());
        return;
      }
    }
  }

  return {
    inject(op, fault, times = 1) {
      if (!Number.isInteger(times) || times < 1) throw new RangeError(`times must be a positive integer`);
      queue.push({ op, fault, remaining: times });
    },
    clear() {
      queue = [];
      holds = new Map();
    },
    pending(op) {
      return queue.filter((q) => op === undefined || q.op === op).reduce((n, q) => n + q.remaining, 0);
    },
    applied,
    holdNext(op) {
      const arrived = Promise.withResolvers<void>();
      const released = Promise.withResolvers<void>();
      const list = holds.get(op) ?? [];
      list.push({ arrive: arrived.resolve, released: released.promise });
      holds.set(op, list);
      return { arrived: arrived.promise, release: () => released.resolve() };
    },
    respond(op, res, process) {
      const fault = take(op);
      const hold = holds.get(op)?.shift();
      if (hold) {
        // A held request is processed now so a test can act (e.g. kill a worker) between accept and answer.
        const reply = process(true);
        hold.arrive();
        void hold.released.then(() => {
          if (disposed) return;
          if (fault) shape(fault, res, () => reply);
          else send(res, reply);
        });
        return;
      }
      if (!fault) {
        send(res, process(true));
        return;
      }
      if (fault.afterAccept) {
        const reply = process(true);
        shape(fault, res, () => reply);
        return;
      }
      shape(fault, res, process);
    },
    dispose() {
      disposed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      queue = [];
      holds = new Map();
    },
  };
}
