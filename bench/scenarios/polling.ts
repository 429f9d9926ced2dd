import { pollPolicySchema } from '../../src/config/policy.ts';
import { nextPollDelay, type Random } from '../../src/pipeline/backoff.ts';
import { type DurationCounts, priorOf, recordDuration } from '../../src/pipeline/duration-prior.ts';
import { scheduleFirst, scheduleNext } from '../../src/pipeline/poll-schedule.ts';
import { finishedDuration, type PollTrack } from '../../src/pipeline/poll-track.ts';
import {
  drawDuration,
  PROGRESS_CURVES,
  type ProgressCurve,
  shownProgress,
} from '../../src/simulator/progress-curves.ts';
import { atMost, median, type TargetResult } from '../report.ts';

/**
 * Polls and detection lag of our schedule against fixed 1 s polling (and against the schedule it replaced,
 * `policy.poll.adaptive: false`), per progress curve and duration band, over the same tasks. Simulated
 * time: the pure schedule (pipeline/poll-schedule.ts) runs against the simulator's own curve functions
 * (simulator/progress-curves.ts, as the VIMS simulator shows them: whole percentages, 0% while PENDING) on a
 * virtual clock, so a poll
 * costs no time and thousands of minutes-long tasks take a second. Each band's CDN first learns from
 * WARM_UP tasks (as the worker records durations in Redis), then is measured over `tasks` more.
 */
export interface PollingOptions {
  tasks: number;
  seed: number;
}

const BANDS = [
  { id: '2-10 s', minMs: 2_000, maxMs: 10_000 },
  { id: '10-60 s', minMs: 10_000, maxMs: 60_000 },
  { id: '1-5 min', minMs: 60_000, maxMs: 300_000 },
] as const;
const WARM_UP = 50;
const FIXED_MS = 1_000;
const POLICY = pollPolicySchema.parse({});
/** Targets for tasks of 10 s and longer with linear or stepped progress. */
const TARGETS = { pollRatio: 0.5, meanLagMs: 600, p95LagMs: 2_000 };
const TARGETED: readonly ProgressCurve[] = ['linear', 'steps'];

interface Outcome {
  polls: number;
  lagMs: number;
}

interface Figures {
  polls: number;
  meanLagMs: number;
  p95LagMs: number;
}

/** mulberry32: the same tasks every run, and the same for every schedule compared. */
function seeded(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** As the VIMS simulator shows it: whole percentages, 0% while PENDING (the first tenth). */
const progressOf = (curve: ProgressCurve, elapsedMs: number, durationMs: number) =>
  shownProgress(curve, elapsedMs, durationMs, 0);

function fixed(durationMs: number): Outcome {
  const polls = Math.max(1, Math.ceil(durationMs / FIXED_MS));
  return { polls, lagMs: polls * FIXED_MS - durationMs };
}

/** The schedule that preceded the adaptive one: backoff shortened by progress, floored, jittered. */
function previous(curve: ProgressCurve, durationMs: number, random: Random): Outcome {
  let now = nextPollDelay({ polls: 0, elapsedMs: 0 }, POLICY, random);
  let polls = 1;
  while (now < durationMs) {
    const progress = progressOf(curve, now, durationMs);
    now += nextPollDelay(
      { polls, elapsedMs: now, ...(progress === undefined ? {} : { progress }) },
      POLICY,
      random,
    );
    polls += 1;
  }
  return { polls, lagMs: now - durationMs };
}

/** Ours, learning as it goes: `learnt` is the CDN's histogram, updated as the worker updates Redis's. */
function adaptive(
  curve: ProgressCurve,
  durationMs: number,
  learnt: { counts: DurationCounts },
  random: Random,
): Outcome {
  const context = { policy: POLICY, prior: priorOf(learnt.counts), random };
  let { track, plan } = scheduleFirst(0, 0, context);
  let now = plan.delayMs;
  let polls = 1;
  while (now < durationMs) {
    const progress = progressOf(curve, now, durationMs);
    const observation = { at: now, ...(progress === undefined ? {} : { progress }) };
    ({ track, plan } = scheduleNext(track as PollTrack, observation, polls, context));
    now += plan.delayMs;
    polls += 1;
  }
  learnt.counts = recordDuration(learnt.counts, finishedDuration(track, now));
  return { polls, lagMs: now - durationMs };
}

function figures(outcomes: readonly Outcome[]): Figures {
  const lags = outcomes.map((o) => o.lagMs).sort((a, b) => a - b);
  const p95 = lags[Math.min(lags.length - 1, Math.ceil(lags.length * 0.95) - 1)] ?? Number.NaN;
  return {
    polls: outcomes.reduce((sum, o) => sum + o.polls, 0),
    meanLagMs: lags.reduce((sum, lag) => sum + lag, 0) / Math.max(1, lags.length),
    p95LagMs: p95,
  };
}

export interface PollingRow {
  curve: ProgressCurve;
  band: string;
  tasks: number;
  medianTaskMs: number;
  ours: Figures;
  fixed: Figures;
  previous: Figures;
}

export function pollingRows(options: PollingOptions): PollingRow[] {
  const rows: PollingRow[] = [];
  for (const curve of PROGRESS_CURVES) {
    for (const band of BANDS) {
      const random = seeded(options.seed);
      const draw = () => drawDuration({ minMs: band.minMs, maxMs: band.maxMs }, random);
      const learnt = { counts: new Map() as DurationCounts };
      for (let i = 0; i < WARM_UP; i++) adaptive(curve, draw(), learnt, random);
      const durations = Array.from({ length: options.tasks }, draw);
      rows.push({
        curve,
        band: band.id,
        tasks: durations.length,
        medianTaskMs: median(durations),
        ours: figures(durations.map((d) => adaptive(curve, d, learnt, random))),
        fixed: figures(durations.map(fixed)),
        previous: figures(durations.map((d) => previous(curve, d, random))),
      });
    }
  }
  return rows;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

export function renderPolling(rows: readonly PollingRow[]): string {
  const header = [
    'curve',
    'band',
    'polls ÷ fixed',
    'mean lag',
    'p95 lag',
    'fixed: mean / p95',
    'previous: polls ÷ fixed, mean / p95',
  ];
  const lines = rows.map((row) => [
    row.curve,
    row.band,
    `${(row.ours.polls / row.fixed.polls).toFixed(2)}×`,
    seconds(row.ours.meanLagMs),
    seconds(row.ours.p95LagMs),
    `${seconds(row.fixed.meanLagMs)} / ${seconds(row.fixed.p95LagMs)}`,
    `${(row.previous.polls / row.fixed.polls).toFixed(2)}×, ${seconds(row.previous.meanLagMs)} / ${seconds(row.previous.p95LagMs)}`,
  ]);
  const all = [header, ...lines];
  const widths = header.map((_, column) => Math.max(...all.map((line) => (line[column] ?? '').length)));
  const render = (line: string[]) =>
    line
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  return [render(header), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.map(render)].join('\n');
}

/** The targeted rows as bench targets: polls, mean and p95 lag for linear and stepped tasks of 10 s and longer. */
export function pollingTargets(rows: readonly PollingRow[]): TargetResult[] {
  return rows
    .filter((row) => TARGETED.includes(row.curve) && row.band !== '2-10 s')
    .flatMap((row) => {
      const ratio = row.ours.polls / row.fixed.polls;
      const over = `${row.tasks} simulated ${row.curve} tasks of ${row.band}, virtual clock`;
      return [
        {
          id: `polling-${row.curve}-${row.band}-polls`,
          label: `polling ${row.curve} ${row.band}: polls ÷ fixed 1 s`,
          figure: `${ratio.toFixed(2)}×`,
          value: ratio,
          target: `<= ${TARGETS.pollRatio}×`,
          met: atMost(ratio, TARGETS.pollRatio),
          detail: over,
        },
        {
          id: `polling-${row.curve}-${row.band}-mean-lag`,
          label: `polling ${row.curve} ${row.band}: mean detection lag`,
          figure: seconds(row.ours.meanLagMs),
          value: row.ours.meanLagMs,
          target: `<= ${TARGETS.meanLagMs} ms`,
          met: atMost(row.ours.meanLagMs, TARGETS.meanLagMs),
          detail: `${over}; fixed 1 s: ${seconds(row.fixed.meanLagMs)}`,
        },
        {
          id: `polling-${row.curve}-${row.band}-p95-lag`,
          label: `polling ${row.curve} ${row.band}: p95 detection lag`,
          figure: seconds(row.ours.p95LagMs),
          value: row.ours.p95LagMs,
          target: `<= ${TARGETS.p95LagMs} ms`,
          met: atMost(row.ours.p95LagMs, TARGETS.p95LagMs),
          detail: `${over}; fixed 1 s: ${seconds(row.fixed.p95LagMs)}`,
        },
      ];
    });
}
