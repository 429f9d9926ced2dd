import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { pendingKey } from '../../src/status/keys.ts';
import { atLeast, atMost, type TargetResult } from '../report.ts';
import { type CoalescingRig, startCoalescingRig } from './coalescing-rig.ts';
import { type BenchContext, paced } from './common.ts';
import { isFlat, type Point, type Trend, trend } from './flatness.ts';
import type { ForkedWorkers } from './forked-workers.ts';
import { type LoopDelayProbe, startLoopDelayProbe } from './loop-delay-probe.ts';
import { usedMemory } from './memory.ts';
import { BENCH_POLICY, BENCH_WORKER, CDN_ID } from './rig.ts';
import { SOAK_MIX, soakMix } from './soak-mix.ts';
import { renderSeries, type SoakSample } from './soak-series.ts';

export interface SoakOptions {
  seconds: number;
  perSecond: number;
}

export interface SoakReport {
  targets: TargetResult[];
  /** The series, a line per minute (or per tenth of a shorter run), as printed. */
  table: string;
  samples: SoakSample[];
  sampleSeconds: number;
  settleSeconds: number;
  recordTtlSeconds: number;
  mix: Record<string, number>;
}

const SAMPLE_SECONDS = 5;
/**
 * The schema's shortest record TTL. With the default (7 days) every purge's record, plan and batches stay
 * in Redis for a week, so Redis memory rises for a week at any steady rate and a 10-minute run could not
 * tell that from a leak. At 60 s, what is retained by design is bounded after a minute (the idempotency
 * window and completed jobs' age are set to the same 60 s; BullMQ's event streams are capped), so anything
 * still growing after that is growing without a bound. The report converts the steady figure back to what
 * the default TTL retains.
 */
const RECORD_TTL_SECONDS = 60;
const DEFAULT_RECORD_TTL_SECONDS = 7 * 86_400;
/** Left out of the judgement: the TTL's first minute fills Redis by design, and V8 sizes its heap. */
const SETTLE_SECONDS = 2 * RECORD_TTL_SECONDS;
/** Judged over at least this long after settling (a dozen samples a half). */
const MIN_JUDGED_SECONDS = 60;

/**
 * How much higher the later half may be. At 200 purges/s for 10 minutes the halves' centres are 4 minutes
 * apart: +3% of a worker's ~175 MiB is 5 MiB, so a leak of 1.3 MiB/min (some 110 B per purge) fails.
 */
const RSS_GROWTH = 0.03;
/**
 * +5% of the ~28 MiB the soak holds is 1.4 MiB over 4 minutes: a leak of some 30 B per purge fails. Wider
 * than RSS's because Redis reclaims expired keys by sampling, leaving up to a tenth of them until a later
 * cycle, so what the last TTL's records hold wobbles by a few percent. (BullMQ's event streams, trimmed
 * near 10,000 entries a queue, are full within the first minute: the series' `events` column.)
 */
const REDIS_GROWTH = 0.05;
/**
 * Loop delay is at the mercy of the machine's other processes (two cores, shared): judged on the worker's
 * p99 beyond an idle probe process's in the same window (what the machine alone adds), halves compared by
 * their median window, allowed +50%, or +5 ms when that is more. A loop that slows as something
 * accumulates still fails; a neighbour's build that starts halfway mostly does not.
 */
const LOOP_DELAY_GROWTH = 0.5;
const LOOP_DELAY_SLACK_MS = 5;
/** The load's end to every target sent and every batch ended: the window, a 200 ms task and its polls. */
const CATCH_UP_LIMIT_SECONDS = 10;
const CATCH_UP_TIMEOUT_MS = 120_000;
/** The producer keeps the rate asked for (open loop: if it falls short, the soak was lighter than asked). */
const RATE_KEPT = 0.98;

/** Realistic but short: VIMS finishes in 50 ms, QUANTIL in 200 ms, polled from 20 ms up to every 100 ms. */
const TASK_DURATION_MS = { vims: 50, quantil: 200 };
const SOAK_CONFIG = {
  statusTtlSeconds: RECORD_TTL_SECONDS,
  api: { host: '127.0.0.1', port: 0, idempotencyWindowSeconds: RECORD_TTL_SECONDS },
  worker: { ...BENCH_WORKER, keepCompleted: { ageSeconds: RECORD_TTL_SECONDS, count: 10_000 } },
  policy: {
    ...BENCH_POLICY,
    poll: {
      initialIntervalMs: 20,
      backoffCoefficient: 1.5,
      maxIntervalMs: 100,
      jitter: 0.2,
      deadlineMs: 120_000,
    },
  },
};

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
const percent = (growth: number) => `${growth >= 0 ? '+' : ''}${(growth * 100).toFixed(1)}%`;

/** Reads the worker process, Redis and the backlog at once; a failed job stops the soak. */
async function readSample(
  rig: CoalescingRig,
  workers: ForkedWorkers,
  probe: LoopDelayProbe,
  at: number,
  counters: { accepted: number; submits: number; polls: number },
): Promise<SoakSample> {
  // Together, so both loop delay windows end at the same moment.
  const [worker, probed] = await Promise.all([workers.sample(), probe.sample()]);
  const prefix = rig.runtime.config.redis.prefix;
  let pendingTargets = 0;
  for (const kind of rig.cdns) pendingTargets += await rig.redis.zcard(pendingKey(prefix, CDN_ID[kind]));
  const jobs = { waiting: 0, delayed: 0, active: 0 };
  let eventEntries = 0;
  for (const queue of rig.queues) {
    eventEntries += await rig.redis.xlen(`${queue.qualifiedName}:events`);
    const counts = await queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active', 'failed');
    if ((counts.failed ?? 0) > 0) {
      const [job] = await queue.getFailed(0, 0);
      throw new Error(`${queue.name}: job ${job?.id} failed: ${job?.failedReason}`);
    }
    jobs.waiting += (counts.waiting ?? 0) + (counts.prioritized ?? 0);
    jobs.delayed += counts.delayed ?? 0;
    jobs.active += counts.active ?? 0;
  }
  return {
    at,
    accepted: counters.accepted,
    rss: worker.rss,
    heapUsed: worker.heapUsed,
    loopDelayP99: worker.loopDelay.p99,
    loopDelayMax: worker.loopDelay.max,
    probeLoopDelayP99: probed.p99,
    redisUsedMemory: await usedMemory(rig.redis),
    redisKeys: await rig.redis.dbsize(),
    eventEntries,
    pendingTargets,
    jobsWaiting: jobs.waiting,
    jobsDelayed: jobs.delayed,
    jobsActive: jobs.active,
    submits: counters.submits,
    polls: counters.polls,
    loadAverage: loadavg()[0] ?? Number.NaN,
  };
}

/** Samples every SAMPLE_SECONDS from `startedAt` until stopped; a failed read stops it, kept for the caller. */
function startSampler(read: (at: number) => Promise<SoakSample>, startedAt: number) {
  const samples: SoakSample[] = [];
  let stopped = false;
  let failure: unknown;
  const running = (async () => {
    for (let next = 1; !stopped; next++) {
      const dueAt = startedAt + next * SAMPLE_SECONDS * 1000;
      // In short steps, so stopping does not wait out a whole interval.
      while (!stopped && performance.now() < dueAt) await sleep(Math.min(250, dueAt - performance.now()));
      if (stopped) break;
      try {
        samples.push(await read((performance.now() - startedAt) / 1000));
      } catch (error) {
        failure = error;
        return;
      }
    }
  })();
  return {
    samples,
    failure: () => failure,
    async stop() {
      stopped = true;
      await running;
      if (failure !== undefined) throw failure;
    },
  };
}

/**
 * Seconds from `loadEndedAt` until no target is pending on any CDN and no CDN job is left to run (a failed
 * job throws); NaN if that has not happened within CATCH_UP_TIMEOUT_MS: a run that fell behind still reports.
 */
async function timeToCatchUp(rig: CoalescingRig, loadEndedAt: number): Promise<number> {
  const prefix = rig.runtime.config.redis.prefix;
  const caughtUp = async () => {
    for (const kind of rig.cdns) {
      if ((await rig.redis.zcard(pendingKey(prefix, CDN_ID[kind]))) > 0) return false;
    }
    return rig.idle();
  };
  const giveUpAt = performance.now() + CATCH_UP_TIMEOUT_MS;
  while (!(await caughtUp())) {
    if (performance.now() > giveUpAt) return Number.NaN;
    await sleep(10);
  }
  return (performance.now() - loadEndedAt) / 1000;
}

function series(samples: readonly SoakSample[], pick: (sample: SoakSample) => number): Point[] {
  return samples.map((sample) => ({ at: sample.at, value: pick(sample) }));
}

function movement(result: Trend, unit: (value: number) => string, perMinute: (value: number) => string) {
  return (
    `later half ${unit(result.second)} vs earlier ${unit(result.first)} (${result.centre}s), ` +
    `slope ${perMinute(result.slopePerMinute)}/min over ${result.points} samples`
  );
}

/**
 * A steady `perSecond` of purges in a realistic mix (soak-mix.ts) for `seconds`, against the simulator,
 * workers (warmed up) in their own process with the service's Node flags: samples every few seconds the
 * worker process's RSS, heap and event-loop delay (and an idle probe's), Redis used_memory and the backlog.
 * After the first two record TTLs (settling), the rest of the load is split in halves: RSS and Redis memory
 * are flat if the later half's mean is at most a few percent above the earlier half's, event-loop delay if
 * the median window's p99 beyond the probe's is (flatness.ts). Then the load stops, and the backlog must
 * clear within seconds.
 */
export async function soak(ctx: BenchContext, options: SoakOptions): Promise<SoakReport> {
  const rig = await startCoalescingRig(ctx, { taskDurationMs: TASK_DURATION_MS, config: SOAK_CONFIG });
  let closeProbe = async () => {};
  try {
    const redisEmpty = await usedMemory(rig.redis);
    const { workers } = await rig.warmWorkers();
    const live = { before: (await workers.memory()).heapLive, after: Number.NaN };
    const probe = await startLoopDelayProbe();
    closeProbe = () => probe.stop();
    // The loop delay histograms start afresh: the warm-up is not the soak's.
    await Promise.all([workers.sample(), probe.sample()]);
    const counters = { accepted: 0, submits: 0, polls: 0 };
    const countCalls = (entry: { op: string }) => {
      if (entry.op === 'submit') counters.submits += 1;
      else if (entry.op === 'status') counters.polls += 1;
    };
    rig.simulator.vims.events.on('request', countCalls);
    rig.simulator.quantil.events.on('request', countCalls);

    const mix = soakMix();
    const startedAt = performance.now();
    const sampler = startSampler((at) => readSample(rig, workers, probe, at, counters), startedAt);
    let loadSeconds: number;
    let achievedPerSecond: number;
    let catchUpSeconds = Number.NaN;
    try {
      const total = options.seconds * options.perSecond;
      ({ achievedPerSecond } = await paced(total, options.perSecond, 64, async () => {
        const failure = sampler.failure();
        if (failure !== undefined) throw failure;
        await rig.runtime.producer.enqueuePurge(mix.next());
        counters.accepted += 1;
      }));
      loadSeconds = (performance.now() - startedAt) / 1000;
      catchUpSeconds = await timeToCatchUp(rig, startedAt + loadSeconds * 1000);
    } catch (error) {
      // The load's own failure is the one to report (it may be the sampler's, rethrown by the load).
      await sampler.stop().catch(() => {});
      throw error;
    }
    await sampler.stop();
    live.after = (await workers.memory()).heapLive;
    rig.simulator.vims.events.off('request', countCalls);
    rig.simulator.quantil.events.off('request', countCalls);

    const samples = sampler.samples;
    const judged = samples.filter((sample) => sample.at > SETTLE_SECONDS && sample.at <= loadSeconds);
    const judgeable = loadSeconds >= SETTLE_SECONDS + MIN_JUDGED_SECONDS;
    // Too short to settle: the trend over the whole load is still shown, unjudged.
    const over = judgeable ? judged : samples.filter((sample) => sample.at <= loadSeconds);
    const scope = judgeable
      ? `${SETTLE_SECONDS}–${loadSeconds.toFixed(0)} s of the load`
      : `not judged: ${loadSeconds.toFixed(0)} s is shorter than ${SETTLE_SECONDS} s settling + ${MIN_JUDGED_SECONDS} s`;
    const rss = trend(series(over, (sample) => sample.rss));
    const heap = trend(series(over, (sample) => sample.heapUsed));
    const delay = trend(
      series(over, (sample) => sample.loopDelayP99),
      'median',
    );
    const probed = trend(
      series(over, (sample) => sample.probeLoopDelayP99),
      'median',
    );
    const excess = trend(
      series(over, (sample) => sample.loopDelayP99 - sample.probeLoopDelayP99),
      'median',
    );
    const redis = trend(series(over, (sample) => sample.redisUsedMemory));
    const judge = (flat: boolean): { met?: boolean } => (judgeable ? { met: flat } : {});
    const worstDelay = Math.max(...samples.map((sample) => sample.loopDelayMax));
    const ms = (value: number) => `${value.toFixed(1)} ms`;
    const mibPerMinute = (bytes: number) => `${bytes >= 0 ? '+' : ''}${(bytes / 1024 / 1024).toFixed(2)} MiB`;

    // What one purge leaves in Redis for its TTL (everything above the empty server, an upper bound: streams,
    // completed jobs and connections are in it too), and so what the default TTL would hold at this rate.
    const retainedPerPurge = (redis.second - redisEmpty) / (achievedPerSecond * RECORD_TTL_SECONDS);
    const atDefaultTtl = retainedPerPurge * achievedPerSecond * DEFAULT_RECORD_TTL_SECONDS;
    const maxPending = Math.max(0, ...samples.map((sample) => sample.pendingTargets));
    const maxJobs = Math.max(
      0,
      ...samples.map((sample) => sample.jobsWaiting + sample.jobsDelayed + sample.jobsActive),
    );
    const last = samples.at(-1);
    const lineSeconds = Math.max(
      SAMPLE_SECONDS,
      Math.ceil(options.seconds / 10 / SAMPLE_SECONDS) * SAMPLE_SECONDS,
    );
    const load = `${options.seconds} s at ${options.perSecond}/s asked`;
    const targets: TargetResult[] = [
      {
        id: 'soak-rate',
        label: 'soak: purges accepted per second',
        figure: `${achievedPerSecond.toFixed(0)}/s`,
        value: achievedPerSecond,
        target: `>= ${(options.perSecond * RATE_KEPT).toFixed(0)}/s`,
        met: atLeast(achievedPerSecond, options.perSecond * RATE_KEPT),
        detail:
          `${counters.accepted} purges in ${loadSeconds.toFixed(0)} s (${load}), mix: ` +
          SOAK_MIX.map(({ kind }) => `${kind} ${mix.counts[kind]}`).join(', ') +
          `; ${last?.submits ?? 0} submits, ${last?.polls ?? 0} polls`,
      },
      {
        id: 'soak-catch-up',
        label: 'soak: load stopped → everything sent and ended',
        figure: Number.isFinite(catchUpSeconds)
          ? `${catchUpSeconds.toFixed(1)} s`
          : `> ${CATCH_UP_TIMEOUT_MS / 1000} s`,
        value: catchUpSeconds,
        target: `<= ${CATCH_UP_LIMIT_SECONDS} s`,
        met: atMost(catchUpSeconds, CATCH_UP_LIMIT_SECONDS),
        detail: `the backlog during the load: at most ${maxPending} targets pending, ${maxJobs} CDN jobs not done`,
      },
      {
        id: 'soak-rss',
        label: 'soak: worker RSS, later half vs earlier',
        figure: percent(rss.growth),
        value: rss.growth,
        target: `<= +${RSS_GROWTH * 100}%`,
        ...judge(isFlat(rss, RSS_GROWTH)),
        detail:
          `${scope}: ${movement(rss, mib, mibPerMinute)}; heap used ${mib(heap.first)} → ${mib(heap.second)}; ` +
          `live heap after gc() ${mib(live.before)} before the load, ${mib(live.after)} after`,
      },
      {
        id: 'soak-loop-delay',
        label: "soak: worker event-loop delay p99 beyond an idle probe's, later half vs earlier",
        figure: `${ms(excess.first)} → ${ms(excess.second)}`,
        value: excess.second - excess.first,
        target: `<= +${LOOP_DELAY_GROWTH * 100}% or +${LOOP_DELAY_SLACK_MS} ms`,
        ...judge(isFlat(excess, LOOP_DELAY_GROWTH, LOOP_DELAY_SLACK_MS)),
        detail:
          `${scope}: p99 per ${SAMPLE_SECONDS} s window, the worker's beyond the probe's ` +
          `${movement(excess, ms, (value) => value.toFixed(2))}; the worker's own ${ms(delay.first)} → ` +
          `${ms(delay.second)}, the probe's ${ms(probed.first)} → ${ms(probed.second)}; ` +
          `worst single delay of the run ${ms(worstDelay)}`,
      },
      {
        id: 'soak-redis',
        label: 'soak: Redis used_memory, later half vs earlier',
        figure: percent(redis.growth),
        value: redis.growth,
        target: `<= +${REDIS_GROWTH * 100}%`,
        ...judge(isFlat(redis, REDIS_GROWTH)),
        detail:
          `${scope}, record TTL ${RECORD_TTL_SECONDS} s: ${movement(redis, mib, mibPerMinute)}; ` +
          `${mib(redisEmpty)} before the warm-up` +
          (judgeable
            ? `; ${retainedPerPurge.toFixed(0)} B per purge of the last ${RECORD_TTL_SECONDS} s, so about ` +
              `${(atDefaultTtl / 1024 ** 3).toFixed(0)} GiB at this rate with the default 7-day TTL`
            : ''),
      },
    ];
    return {
      targets,
      table: renderSeries(samples, SAMPLE_SECONDS, lineSeconds, loadSeconds),
      sampleSeconds: SAMPLE_SECONDS,
      samples,
      settleSeconds: SETTLE_SECONDS,
      recordTtlSeconds: RECORD_TTL_SECONDS,
      mix: { ...mix.counts },
    };
  } finally {
    await closeProbe();
    await rig.close();
  }
}
