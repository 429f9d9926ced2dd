import type { Queue } from 'bullmq';
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import type { Provider } from '../providers/provider.ts';
import type { RedisClient } from '../queue/connection.ts';
import type { QuotaLedger } from '../status/quota.ts';
import { packageVersion, registerBuildInfo } from './build-info.ts';
import type { PipelineEvents } from './events.ts';
import { registerQueueGauges } from './queue-gauges.ts';
import { registerQuotaGauges } from './quota-gauges.ts';

export interface Metrics {
  registry: Registry;
  /** Prometheus text exposition of everything this process knows. */
  render(): Promise<string>;
}

export interface MetricsDeps {
  events: PipelineEvents;
  queues: () => Iterable<Queue>;
  /** The connection the queues use, for the gauges BullMQ has no getter for. */
  redis: RedisClient;
  providers: ReadonlyMap<string, Provider>;
  quota: Pick<QuotaLedger, 'used'>;
  now?: () => number;
  /** Defaults to package.json's, read now. */
  version?: string;
}

const DURATION_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];

/**
 * Prometheus metrics on a registry of our own (never the global one, so tests and embedders can run
 * several side by side). Counters follow pipeline events from the moment this is called (so create it
 * before serving anything); queue and quota gauges are read from Redis at scrape time, so every process
 * that can reach Redis reports the same.
 */
export function createMetrics(deps: MetricsDeps): Metrics {
  const { events } = deps;
  const now = deps.now ?? Date.now;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'purge_worker_' });
  registerBuildInfo(registry, deps.version ?? packageVersion());

  const accepted = new Counter({
    name: 'purge_worker_purges_accepted_total',
    help: 'Purges accepted',
    registers: [registry],
  });
  const replication = new Counter({
    name: 'purge_worker_replica_confirmations_total',
    help: 'With redis.waitReplicas: acceptances (new purges and repeats) by whether enough replicas acknowledged them in time (confirmed) or not (not_replicated: answered 503 NOT_REPLICATED, the purge still accepted on the primary)',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const finished = new Counter({
    name: 'purge_worker_batches_finished_total',
    help: 'CDN batches that reached a terminal state',
    labelNames: ['cdn', 'state'],
    registers: [registry],
  });
  const purgesFinished = new Counter({
    name: 'purge_worker_purges_finished_total',
    help: 'Purges whose last target ended, by state and reason class: none (succeeded), quota, cdn_refused, cdn_failed, timed_out, other',
    labelNames: ['state', 'reason'],
    registers: [registry],
  });
  const reconciled = new Counter({
    name: 'purge_worker_reconciled_total',
    help: 'Repairs the reconciler made: flush_missing (pending targets with no flush coming), batch_abandoned (a batch whose job ended without ending it), batch_overdue (a batch far past its deadline whose job is not running), callback_unscheduled (a due callback nobody scheduled)',
    labelNames: ['cdn', 'kind'],
    registers: [registry],
  });
  const calls = new Counter({
    name: 'purge_worker_cdn_requests_total',
    help: 'HTTP calls to CDNs by operation and outcome (status class, network_error, timeout, bad_response)',
    labelNames: ['cdn', 'op', 'outcome'],
    registers: [registry],
  });
  const retries = new Counter({
    name: 'purge_worker_retries_total',
    help: 'Submits and polls that failed transiently and will be tried again',
    labelNames: ['cdn', 'op'],
    registers: [registry],
  });
  const timeToSubmit = new Histogram({
    name: 'purge_worker_time_to_submit_seconds',
    help: 'From enqueue to the CDN accepting the purge',
    labelNames: ['cdn'],
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  const timeToComplete = new Histogram({
    name: 'purge_worker_time_to_completion_seconds',
    help: 'From enqueue to a terminal state',
    labelNames: ['cdn', 'state'],
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  const polls = new Histogram({
    name: 'purge_worker_polls_per_batch',
    help: 'Status polls a batch needed before reaching a terminal state',
    labelNames: ['cdn'],
    buckets: [0, 1, 2, 3, 5, 8, 13, 21, 34, 55],
    registers: [registry],
  });

  const verifyChecks = new Counter({
    name: 'purge_worker_verify_checks_total',
    help: 'URLs asked of an edge after the CDN reported a batch done (cdns[].verify), by verdict: fresh, stale, unverified (the answer could not decide: no Age, an error, a timeout)',
    labelNames: ['cdn', 'verdict'],
    registers: [registry],
  });
  const verifications = new Counter({
    name: 'purge_worker_verifications_total',
    help: 'Batches whose edge verification ended, by outcome: fresh (every check fresh), unverified (none stale, some undecided), stale (edges kept the old copy after every re-purge: the batch ended stale), skipped (nothing to check)',
    labelNames: ['cdn', 'outcome'],
    registers: [registry],
  });
  const repurges = new Counter({
    name: 'purge_worker_verify_repurges_total',
    help: 'Re-purges sent for URLs an edge still served stale',
    labelNames: ['cdn'],
    registers: [registry],
  });
  const timeToFresh = new Histogram({
    name: 'purge_worker_time_to_fresh_seconds',
    help: "From a batch's oldest target being accepted to the check that found every edge fresh",
    labelNames: ['cdn'],
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });

  const refused = new Counter({
    name: 'purge_worker_requests_refused_total',
    help: 'HTTP API requests answered with an error, by its code (README: Error codes)',
    labelNames: ['code'],
    registers: [registry],
  });
  const rateLimitPauses = new Counter({
    name: 'purge_worker_rate_limit_pauses_total',
    help: "Times a CDN answered 429 and its queue was paused for every worker (for the CDN's Retry-After)",
    labelNames: ['cdn'],
    registers: [registry],
  });
  const callbacks = new Counter({
    name: 'purge_worker_callbacks_total',
    help: 'Completion callback deliveries by outcome: delivered, retrying (failed, tried again later), failed (given up), skipped (purge record expired)',
    labelNames: ['outcome'],
    registers: [registry],
  });
  events.on('request:refused', (e) => refused.inc({ code: e.code }));
  events.on('queue:rate-limited', (e) => rateLimitPauses.inc({ cdn: e.cdnId }));
  events.on('callback:delivery', (e) => callbacks.inc({ outcome: e.outcome }));

  events.on('verify:checked', (e) => verifyChecks.inc({ cdn: e.cdnId, verdict: e.verdict }));
  events.on('verify:repurged', (e) => repurges.inc({ cdn: e.cdnId }));
  events.on('verify:finished', (e) => {
    verifications.inc({ cdn: e.cdnId, outcome: e.outcome });
    if (e.secondsToFresh !== undefined) timeToFresh.observe({ cdn: e.cdnId }, e.secondsToFresh);
  });
  events.on('purge:accepted', () => accepted.inc());
  events.on('purge:finished', (e) => purgesFinished.inc({ state: e.state, reason: e.reason }));
  events.on('purge:replication', (e) =>
    replication.inc({ outcome: e.confirmed ? 'confirmed' : 'not_replicated' }),
  );
  events.on('cdn:call', (e) => calls.inc({ cdn: e.cdnId, op: e.op, outcome: e.outcome }));
  events.on('batch:retry', (e) => retries.inc({ cdn: e.cdnId, op: e.op }));
  events.on('reconcile:repaired', (e) => reconciled.inc({ cdn: e.cdnId, kind: e.kind }));
  events.on('batch:submitted', (e) => timeToSubmit.observe({ cdn: e.cdnId }, e.secondsSinceQueued));
  events.on('batch:finished', (e) => {
    finished.inc({ cdn: e.cdnId, state: e.state });
    timeToComplete.observe({ cdn: e.cdnId, state: e.state }, e.secondsSinceQueued);
    polls.observe({ cdn: e.cdnId }, e.polls);
  });

  registerQueueGauges({ registry, queues: deps.queues, redis: deps.redis, now });
  registerQuotaGauges({ registry, providers: deps.providers, quota: deps.quota, now });

  return { registry, render: () => registry.metrics() };
}
