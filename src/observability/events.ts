import { EventEmitter } from 'node:events';
import type { ErrorCode } from '../errors.ts';
import type { ReasonClass } from '../model/reason-class.ts';

/**
 * What the pipeline tells the outside world. Stages emit; metrics (and anything else) subscribe, so the
 * pipeline never imports prom-client.
 */
export interface PipelineEventMap {
  /** `targets`: how many targets the purge asked of all its CDNs together. */
  'purge:accepted': { purgeId: string; cdns: string[]; targets: number };
  /**
   * With redis.waitReplicas: how many replicas acknowledged an acceptance (a new purge or a repeat) before it
   * was answered; `confirmed` when enough did, else the caller got NOT_REPLICATED.
   */
  'purge:replication': {
    purgeId: string;
    duplicate: boolean;
    confirmed: boolean;
    acknowledged: number;
    required: number;
    problem?: string;
  };
  /** One HTTP call to a CDN: outcome is a status class (2xx, 4xx, 5xx), network_error, timeout or bad_response. */
  'cdn:call': { cdnId: string; op: 'submit' | 'poll'; outcome: string };
  /** `secondsSinceQueued`: since the oldest target the batch carries was accepted. */
  'batch:submitted': { cdnId: string; batchId: string; secondsSinceQueued: number };
  'batch:retry': { cdnId: string; op: 'submit' | 'poll' };
  'reconcile:repaired': { cdnId: string; kind: RepairKind };
  'batch:finished': {
    cdnId: string;
    batchId: string;
    state: 'succeeded' | 'failed' | 'timed_out' | 'stale';
    secondsSinceQueued: number;
    polls: number;
  };
  /** One URL asked of one edge after the CDN reported a batch done, and how its answer was judged. */
  'verify:checked': { cdnId: string; verdict: 'fresh' | 'stale' | 'unverified' };
  /** Stale URLs of a batch sent again (a re-purge). */
  'verify:repurged': { cdnId: string; urls: number };
  /**
   * A batch's verification ended: `secondsToFresh` (from its oldest target's acceptance to the check that
   * found every edge fresh) when fresh.
   */
  'verify:finished': {
    cdnId: string;
    outcome: 'fresh' | 'unverified' | 'stale' | 'skipped';
    secondsToFresh?: number;
  };
  /** A CDN answered 429: its queue is paused for every worker for `pauseMs` (capped at the earliest deadline). */
  'queue:rate-limited': { cdnId: string; pauseMs: number };
  /**
   * One delivery of a completion callback ended: delivered (2xx), retrying (failed, to be tried again),
   * failed (given up: out of attempts, or an address that stays forbidden), skipped (the purge record expired).
   */
  'callback:delivery': { outcome: 'delivered' | 'retrying' | 'failed' | 'skipped' };
  /** The HTTP API answered a request with an error (README: Error codes), for whatever reason. */
  'request:refused': { code: ErrorCode };
  /** A purge whose last target ended: how, and the class of why not (README: Metrics). */
  'purge:finished': {
    purgeId: string;
    state: 'succeeded' | 'failed' | 'timed_out';
    reason: ReasonClass;
    errorCode?: ErrorCode;
  };
}

/**
 * What the reconciler repaired: pending targets with no flush coming, a batch no job will end, one overdue,
 * a due callback nobody scheduled.
 */
export type RepairKind = 'flush_missing' | 'batch_abandoned' | 'batch_overdue' | 'callback_unscheduled';

export interface PipelineEvents {
  emit<K extends keyof PipelineEventMap>(name: K, event: PipelineEventMap[K]): void;
  on<K extends keyof PipelineEventMap>(name: K, listener: (event: PipelineEventMap[K]) => void): void;
}

export function createPipelineEvents(): PipelineEvents {
  const emitter = new EventEmitter();
  return {
    emit: (name, event) => {
      emitter.emit(name, event);
    },
    on: (name, listener) => {
      emitter.on(name, listener);
    },
  };
}

/** The outcome label of a CDN call, from the error (if any) it ended with. */
export function callOutcome(error?: { code?: string; httpStatus?: number | undefined }): string {
  if (!error) return '2xx';
  if (error.httpStatus !== undefined) return `${Math.floor(error.httpStatus / 100)}xx`;
  if (error.code === 'CDN_TIMEOUT') return 'timeout';
  if (error.code === 'CDN_NETWORK') return 'network_error';
  return 'bad_response';
}
