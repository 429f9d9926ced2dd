import { describe, expect, it } from 'vitest';
import { type PollPolicy, pollPolicySchema } from '../../src/config/policy.ts';
import { type DurationCounts, priorOf, recordDuration } from '../../src/pipeline/duration-prior.ts';
import {
  END_WINDOW_MS,
  type PollAim,
  planPoll,
  scheduleFirst,
  scheduleNext,
} from '../../src/pipeline/poll-schedule.ts';
import { observe, type PollTrack, startTrack } from '../../src/pipeline/poll-track.ts';
import { type ProgressCurve, reportedProgress } from '../../src/simulator/progress-curves.ts';

const POLICY = pollPolicySchema.parse({});
const middle = () => 0.5;

interface Run {
  /** When each poll was made, from the submit. */
  polls: number[];
  aims: PollAim[];
  lagMs: number;
  tracks: PollTrack[];
}

/** Polls one task to its end on a virtual clock, reading progress as VIMS shows it (whole percentages). */
function run(
  curve: ProgressCurve | ((elapsedMs: number) => number | undefined),
  durationMs: number,
  options: { policy?: PollPolicy; counts?: DurationCounts; random?: () => number; startedAt?: number } = {},
): Run {
  const progress =
    typeof curve === 'function' ? curve : (at: number) => reportedProgress(curve, at, durationMs, 0);
  const context = {
    policy: options.policy ?? POLICY,
    random: options.random ?? middle,
    ...(options.counts ? { prior: priorOf(options.counts) } : {}),
  };
  let { track, plan } = scheduleFirst(0, 0, context);
  const result: Run = { polls: [], aims: [plan.aim], lagMs: 0, tracks: [] };
  let now = plan.delayMs;
  while (now < durationMs) {
    result.polls.push(now);
    const value = progress(now);
    const observation = {
      at: now,
      ...(value === undefined ? {} : { progress: value }),
      ...(options.startedAt === undefined ? {} : { startedAt: options.startedAt }),
    };
    ({ track, plan } = scheduleNext(track, observation, result.polls.length, context));
    result.tracks.push(track);
    result.aims.push(plan.aim);
    now += plan.delayMs;
    if (result.polls.length > 10_000) throw new Error('never ended');
  }
  result.polls.push(now);
  result.lagMs = now - durationMs;
  return result;
}

/** A CDN's history: `count` tasks spread evenly between the two durations. */
function history(fromMs: number, toMs: number, count = 40): DurationCounts {
  let counts: DurationCounts = new Map();
  for (let i = 0; i < count; i++)
    counts = recordDuration(counts, fromMs + ((toMs - fromMs) * i) / (count - 1));
  return counts;
}

describe('the adaptive poll schedule, linear progress (whole percentages)', () => {
  it('finds a 30 s task done within a second of its end, in a handful of polls', () => {
    const { polls, lagMs, aims } = run('linear', 30_000);
    expect(lagMs).toBeLessThanOrEqual(END_WINDOW_MS);
    expect(polls.length).toBeLessThanOrEqual(6); // fixed 1 s polling: 30
    expect(aims.at(-1)).toBe('end');
  });

  it('narrows the end to under a second from two or three readings of the line', () => {
    const { tracks } = run('linear', 45_000);
    const last = tracks.at(-1) as PollTrack;
    expect((last.durationHi ?? Number.POSITIVE_INFINITY) - last.durationLo).toBeLessThanOrEqual(
      END_WINDOW_MS,
    );
    expect(last.durationLo).toBeLessThan(45_000);
    expect(last.durationHi).toBeGreaterThanOrEqual(45_000);
    expect(last.quantum).toBeGreaterThanOrEqual(1); // the gcd of the values read: never below the true step
  });

  it('never lands late for its jitter: jitter only brings polls that narrow the end forward, never the aimed one', () => {
    for (const random of [() => 0, () => 0.5, () => 1]) {
      expect(run('linear', 30_000, { random }).lagMs).toBeLessThanOrEqual(END_WINDOW_MS);
    }
    const { tracks } = run('linear', 30_000);
    const aimed = tracks.at(-1) as PollTrack;
    const plan = (random: () => number) =>
      planPoll({ track: aimed, now: aimed.at, polls: 5, policy: POLICY, random });
    expect(plan(() => 0)).toMatchObject({ aim: 'end' });
    expect(plan(() => 1).delayMs).toBe(plan(() => 0).delayMs);
  });

  it('draws the line from the CDN’s own start when the task started after the submit (queued at the CDN)', () => {
    // The task starts 20 s after the submit and runs 30 s: a line from the submit would predict ~1.7x later.
    const queued = (at: number) => (at < 20_000 ? 0 : reportedProgress('linear', at - 20_000, 30_000, 0));
    const { lagMs, polls } = run(queued, 50_000, { startedAt: 20_000 });
    expect(lagMs).toBeLessThanOrEqual(END_WINDOW_MS);
    expect(polls.length).toBeLessThanOrEqual(10);
  });

  it('keeps within the policy bounds: test-sized intervals stay test-sized', () => {
    const policy = pollPolicySchema.parse({ initialIntervalMs: 20, maxIntervalMs: 100, jitter: 0 });
    const { polls } = run('linear', 1_500, { policy });
    const gaps = polls.map((at, i) => at - (polls[i - 1] ?? 0));
    for (const gap of gaps) {
      expect(gap).toBeGreaterThanOrEqual(20);
      expect(gap).toBeLessThanOrEqual(100);
    }
  });
});

describe('the adaptive poll schedule, progress in 25% steps', () => {
  it('finds a 40 s task done within a second, with a third of fixed polling’s polls', () => {
    const { polls, lagMs } = run('steps', 40_000);
    expect(lagMs).toBeLessThanOrEqual(END_WINDOW_MS);
    expect(polls.length).toBeLessThanOrEqual(14); // fixed 1 s polling: 40
  });

  it('bounds when each step came between two polls, and narrows it by polling where the next step is due', () => {
    const { tracks } = run('steps', 40_000);
    const at75 = tracks.find((track) => track.progress === 75) as PollTrack;
    expect(at75.quantum).toBe(25);
    // The 75% step came at 30 s: the polls around it are at most a few seconds apart.
    expect(at75.change?.after).toBeLessThan(30_000);
    expect(at75.change?.by).toBeGreaterThanOrEqual(30_000);
    expect((at75.change?.by ?? 0) - (at75.change?.after ?? 0)).toBeLessThanOrEqual(3_000);
  });

  it('walks an end it cannot narrow further one window at a time, never letting it go by unseen for longer', () => {
    for (const duration of [12_000, 27_500, 61_000, 240_000]) {
      const { lagMs } = run('steps', duration);
      expect(lagMs).toBeLessThanOrEqual(END_WINDOW_MS);
    }
  });
});

describe('the adaptive poll schedule, stalled at 0% then rising', () => {
  it('looks again soon after the first rise, rather than where the line from the start would put the end', () => {
    const { tracks, polls, lagMs } = run('stalled', 30_000, { counts: history(20_000, 40_000) });
    const firstRise = tracks.findIndex((track) => (track.progress ?? 0) > 0);
    const change = tracks[firstRise]?.change;
    const gap = (polls[firstRise + 1] ?? 0) - (polls[firstRise] ?? 0);
    expect(gap).toBeLessThanOrEqual(((change?.by ?? 0) - (change?.after ?? 0)) / 2 + 1);
    expect(lagMs).toBeLessThanOrEqual(END_WINDOW_MS);
  });

  it('follows the recent rate once the rise contradicts the line from the start', () => {
    const { tracks } = run('stalled', 30_000, { counts: history(20_000, 40_000) });
    const rising = tracks.filter((track) => track.previous !== undefined);
    const last = rising.at(-1) as PollTrack;
    // The line from the start would say ~2x the elapsed time; the recent rate says the end is near.
    expect(last.durationHi).toBeLessThanOrEqual(31_000);
  });
});

describe('the adaptive poll schedule, no progress reported', () => {
  it('backs off as before when it knows nothing of the CDN, jitter only bringing polls forward', () => {
    const { polls } = run('none', 20_000, { random: () => 0 });
    expect(polls.slice(0, 4)).toEqual([2_000, 5_000, 9_500, 16_250]);
    const jittered = run('none', 20_000, { random: () => 1 });
    for (const [i, at] of jittered.polls.entries()) expect(at).toBeLessThanOrEqual(polls[i] ?? 0);
  });

  it('does not poll a CDN whose tasks take 4 minutes every 2 s at the start', () => {
    const cold = run('none', 240_000, { random: () => 0 });
    const { polls, lagMs } = run('none', 240_000, { counts: history(200_000, 280_000), random: () => 0 });
    // As long a wait as the policy allows (maxIntervalMs), where it knew nothing: 2 s, then 3 s, 4.5 s...
    expect(cold.polls[0]).toBe(2_000);
    expect(polls[0]).toBe(POLICY.maxIntervalMs);
    expect(polls.filter((at) => at < 200_000).length).toBeLessThanOrEqual(8);
    expect(cold.polls.filter((at) => at < 200_000).length).toBeGreaterThanOrEqual(11);
    expect(lagMs).toBeLessThanOrEqual(0.05 * 240_000);
  });

  it('polls more often where this CDN’s tasks end, never more often than half the initial interval', () => {
    const { polls } = run('none', 30_000, { counts: history(25_000, 35_000) });
    const gaps = polls.slice(1).map((at, i) => at - (polls[i] ?? 0));
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(POLICY.initialIntervalMs / 2 - 1);
    expect(polls.filter((at) => at >= 25_000).length).toBeGreaterThanOrEqual(3);
  });
});

describe('the adaptive poll schedule, predictions that were early', () => {
  it('looks again shortly after a miss, then backs off while the task sits at 99%', () => {
    const stuck = (at: number) => Math.min(99, Math.floor(at / 100));
    const { polls, aims } = run(stuck, 60_000);
    expect(aims).toContain('missed');
    const misses = polls.filter((at) => at > 10_000);
    const gaps = misses.slice(1).map((at, i) => at - (misses[i] ?? 0));
    expect(gaps[0]).toBeLessThan(1_000);
    expect(gaps.at(-1)).toBeGreaterThan(gaps[0] ?? 0);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(POLICY.maxIntervalMs);
  });

  it('draws the line again from the last higher reading when progress goes back (the CDN started over)', () => {
    const restarted = (at: number) => (at < 8_000 ? Math.floor(at / 200) : Math.floor((at - 8_000) / 400));
    const { tracks, polls, lagMs } = run(restarted, 48_000);
    const after = tracks.find((track) => track.at >= 8_000) as PollTrack;
    const before = polls.filter((at) => at < 8_000).at(-1);
    expect(after.startedAt).toBe(before);
    expect(lagMs).toBeLessThanOrEqual(END_WINDOW_MS);
  });
});

describe('the poll track', () => {
  it('believes a CDN start only between the submit and now', () => {
    const track = startTrack(1_000);
    expect(observe(track, { at: 5_000, progress: 10, startedAt: 3_000 }).startedAt).toBe(3_000);
    // Before our submit: the CDN's clock or its one-second rounding.
    expect(observe(track, { at: 5_000, progress: 10, startedAt: 400 }).startedAt).toBe(1_000);
    expect(observe(track, { at: 5_000, progress: 10, startedAt: 9_000 }).startedAt).toBe(1_000);
  });

  it('keeps the last value read through a poll that reads none, so the next reading is no change', () => {
    let track = observe(startTrack(0), { at: 2_000, progress: 20 });
    track = observe(track, { at: 4_000 });
    expect(track.progress).toBe(20);
    track = observe(track, { at: 6_000, progress: 20 });
    expect(track.change).toEqual({ to: 20, after: 0, by: 2_000 });
  });

  it('bounds a step’s time by the polls either side of it', () => {
    let track = observe(startTrack(0), { at: 9_000, progress: 25 });
    track = observe(track, { at: 14_000, progress: 25 });
    track = observe(track, { at: 21_000, progress: 50 });
    // 50% came between 14 s and 21 s: over 28 s; 25% by 9 s already said at most 36 s.
    expect(track.change).toEqual({ to: 50, after: 14_000, by: 21_000 });
    expect(track.durationLo).toBeCloseTo(28_000);
    expect(track.durationHi).toBeCloseTo(36_000);
  });
});
