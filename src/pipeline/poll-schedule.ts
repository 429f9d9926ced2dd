import type { PollPolicy } from '../config/policy.ts';
import { exponentialDelay, type Random } from './backoff.ts';
import type { DurationPrior } from './duration-prior.ts';
import { MIN_SAMPLES } from './duration-prior.ts';
import { endBounds, observe, type PollObservation, type PollTrack, startTrack } from './poll-track.ts';

/**
 * When to poll a CDN task next, from what its progress bounds of its end (poll-track.ts) or, while it says
 * nothing, from how long this CDN's tasks take (duration-prior.ts). Pure.
 *
 * - `end`: the end is known to within END_WINDOW_MS: poll at its latest moment, so one poll finds it done.
 *   A wider end is walked through END_WINDOW_MS at a time, so no end is noticed later than that.
 * - `refine`: the end is not known well enough yet and a poll before it can still tell more: poll when it
 *   tells the most (the moment whose answer leaves the narrowest expected duration interval), not sooner.
 * - `missed`: polled after the latest end and the task ran on (the line does not hold): look again
 *   shortly after, each miss in a row backing off.
 * - `prior`: no progress yet: the first poll when a few of this CDN's tasks have ended, then more often
 *   where its tasks tend to end, never more often than half the initial interval.
 * - `backoff`: no progress and no history: the exponential backoff.
 */
export type PollAim = 'end' | 'refine' | 'missed' | 'prior' | 'backoff';

export interface PollPlan {
  delayMs: number;
  aim: PollAim;
  /** The latest end aimed at (`end`): a poll after it that finds the task running counts a miss. */
  aimedAt?: number;
}

export interface ScheduleInput {
  /** The track after the latest poll (or as started, before the first). */
  track: PollTrack;
  now: number;
  /** Polls made so far. */
  polls: number;
  policy: PollPolicy;
  prior?: DurationPrior;
  random: Random;
}

/** An end known this closely is aimed at directly: its lag is at most this, half of it on average. */
export const END_WINDOW_MS = 1_000;
/** Moments a refining poll is chosen among, and most crossings of progress counted for each. */
const CANDIDATES = 24;
const MAX_CROSSINGS = 200;
/** Blind polls: the first at half the time by which this share of the CDN's tasks ended, then at it. */
const PRIOR_FIRST = 0.02;
/** Then each at the sooner of: the time by which this share of the tasks still running end, */
const PRIOR_HAZARD = 0.2;
/** and this share of the time the task has run so far. */
const PRIOR_RELATIVE = 0.05;

/** The shortest wait the schedule plans: policy.poll.minIntervalMs, never above the initial or max interval. */
export function minimumGap(policy: PollPolicy): number {
  return Math.min(policy.minIntervalMs, policy.initialIntervalMs, policy.maxIntervalMs);
}

/** Jitter that only brings a poll forward, by at most `share` of its wait: never a later poll than planned. */
function earlier(delayMs: number, share: number, random: Random): number {
  return Math.round(delayMs * (1 - share * random()));
}

export function planPoll(input: ScheduleInput): PollPlan {
  const { track, policy } = input;
  const floor = minimumGap(policy);
  const bound = (ms: number) => Math.round(Math.min(policy.maxIntervalMs, Math.max(floor, ms)));
  const plan = progressPlan(input, floor) ?? blindPlan(input, floor);
  if (track.misses <= 0) return { ...plan, delayMs: bound(plan.delayMs) };
  const missGap = floor * policy.backoffCoefficient ** track.misses;
  return { ...plan, aim: 'missed', delayMs: bound(Math.max(plan.delayMs, missGap)) };
}

function progressPlan(input: ScheduleInput, floor: number): PollPlan | undefined {
  const { track } = input;
  const end = endBounds(track);
  if (!end) return undefined;
  const plan = aimAt(end, input, floor);
  // A first rise after polls that read 0% may be a stall ending rather than the line from the start:
  // look again soon, while it rises, so a second change tells its rate.
  const { change, previous, zeroAt } = track;
  if (change === undefined || previous !== undefined || zeroAt === undefined) return plan;
  if (track.at !== change.by) return plan; // looked again once already: it is not rising fast
  const hedge = Math.max(floor, (change.by - change.after) / 2);
  return plan.delayMs <= hedge ? plan : { delayMs: hedge, aim: 'refine' };
}

function aimAt(end: { lo: number; hi: number }, input: ScheduleInput, floor: number): PollPlan {
  const { track, now, policy, random } = input;
  const latest = Math.max(end.hi, now + floor);
  if (end.hi - end.lo <= END_WINDOW_MS) return { delayMs: latest - now, aim: 'end', aimedAt: latest };
  const refine = refineAt(track, end, now, floor, policy.maxIntervalMs);
  if (refine !== undefined) {
    const delayMs = earlier(refine - now, policy.jitter / 4, random);
    return { delayMs: Math.max(floor, delayMs), aim: 'refine' };
  }
  const step = Math.min(end.hi, Math.max(end.lo, now) + END_WINDOW_MS);
  return { delayMs: step - now, aim: 'end', aimedAt: end.hi };
}

/**
 * The moment before the earliest end at which a poll is worth most: the one that leaves the fewest polls
 * expected after it (the duration taken as evenly spread within its bounds); undefined when no poll before
 * it can tell anything (the next value progress can show is 100%, or there is no room before the earliest
 * end).
 */
function refineAt(
  track: PollTrack,
  end: { lo: number; hi: number },
  now: number,
  floor: number,
  maxIntervalMs: number,
): number | undefined {
  const { progress = 0, quantum, startedAt, durationLo } = track;
  // Bounds from the recent rate say where the end is, not where progress crosses what: only walk them.
  if (quantum === undefined || progress + quantum >= 100 || track.recent) return undefined;
  // Nothing can change before the next value is due at the soonest: no poll before that tells anything.
  const nextDue = startedAt + (durationLo * (progress + quantum)) / 100;
  if (nextDue >= end.lo) return undefined;
  const first = Math.max(now + floor, nextDue);
  const last = Math.min(end.lo, now + maxIntervalMs);
  if (last <= first) return first;
  let best: { at: number; cost: number } | undefined;
  for (let i = 0; i < CANDIDATES; i++) {
    const at = first + ((last - first) * i) / (CANDIDATES - 1);
    const cost = expectedCost(track, at);
    // Ties go to the sooner moment: the same knowledge, earlier.
    if (!best || cost < best.cost * 0.99) best = { at, cost };
  }
  return best?.at;
}

/**
 * Polls expected after one at `at`. Its answer, the value progress shows then, splits the duration's
 * bounds: showing v means a duration between 100 × elapsed / (v + quantum) and 100 × elapsed / v. A part
 * whose value is the last before done can only be walked through, END_WINDOW_MS a poll; any other can be
 * narrowed further, about halved a poll.
 */
function expectedCost(track: PollTrack, at: number): number {
  const { durationLo: lo, durationHi: hi = lo, progress = 0, quantum = 100, startedAt } = track;
  if (hi <= lo) return 0;
  const elapsed = at - startedAt;
  const firstStep = Math.max(1, Math.ceil(((100 * elapsed) / hi - progress) / quantum));
  const lastStep = Math.min(
    Math.floor(((100 * elapsed) / lo - progress) / quantum),
    Math.ceil((100 - progress) / quantum) - 1,
  );
  const stride = Math.max(1, Math.ceil((lastStep - firstStep + 1) / MAX_CROSSINGS));
  // From the longest durations down: the part above the first split shows `progress` still.
  let top = hi;
  let shown = progress;
  let sum = 0;
  const part = (bottom: number, value: number) => {
    const width = top - bottom;
    const walked = value + quantum >= 100;
    sum += width * (walked ? width / END_WINDOW_MS : Math.sqrt((2 * width) / END_WINDOW_MS));
  };
  for (let k = firstStep; k <= lastStep; k += stride) {
    const value = progress + k * quantum;
    const split = (100 * elapsed) / value;
    if (split <= lo || split >= top) continue;
    part(split, shown);
    top = split;
    shown = value;
  }
  part(lo, shown);
  return sum / (hi - lo);
}

function blindPlan(input: ScheduleInput, floor: number): PollPlan {
  const { track, now, policy, prior, random, polls } = input;
  const elapsed = now - track.startedAt;
  if (!prior || prior.samples < MIN_SAMPLES) {
    const delayMs = earlier(exponentialDelay(polls, policy), policy.jitter, random);
    return { delayMs, aim: 'backoff' };
  }
  const blindFloor = Math.max(floor, policy.initialIntervalMs / 2);
  const first = prior.quantileAfter(0, PRIOR_FIRST) ?? 0;
  let target: number;
  if (polls === 0 && elapsed < first / 2) target = first / 2;
  else if (elapsed + blindFloor < first) target = first;
  else {
    const hazard = prior.quantileAfter(elapsed, PRIOR_HAZARD) ?? Number.POSITIVE_INFINITY;
    target = elapsed + Math.max(blindFloor, Math.min(PRIOR_RELATIVE * elapsed, hazard - elapsed));
  }
  // Blind polls are where a burst's batches line up (submitted together, polled together): spread them.
  const delayMs = earlier(Math.max(floor, target - elapsed), policy.jitter / 2, random);
  return { delayMs, aim: 'prior' };
}

export interface ScheduleContext {
  policy: PollPolicy;
  prior?: DurationPrior;
  random: Random;
}

/** A track and the poll planned from it: what the job data carries to the next poll. */
export interface Scheduled {
  track: PollTrack;
  plan: PollPlan;
}

function scheduled(track: PollTrack, plan: PollPlan): Scheduled {
  const { aimedAt: _old, ...rest } = track;
  return { track: plan.aimedAt === undefined ? rest : { ...rest, aimedAt: plan.aimedAt }, plan };
}

/** The first poll of a task the CDN accepted at `now`, having started it after `startedAt`. */
export function scheduleFirst(startedAt: number, now: number, context: ScheduleContext): Scheduled {
  const track = startTrack(startedAt);
  return scheduled(track, planPoll({ ...context, track, now, polls: 0 }));
}

/** The next poll, after poll number `polls` found the task still running. */
export function scheduleNext(
  track: PollTrack,
  poll: PollObservation,
  polls: number,
  context: ScheduleContext,
): Scheduled {
  const next = observe(track, poll);
  return scheduled(next, planPoll({ ...context, track: next, now: poll.at, polls }));
}
