/**
 * What the polls of one CDN task have seen of its progress, and what that bounds of its end. Kept in the
 * job data between polls (a few numbers, whatever the number of polls), pure, so the schedule built on it
 * is tested against curves on a virtual clock (test/pipeline/poll-schedule.test.ts, bench/scenarios/polling.ts).
 *
 * Progress is read as a rising line from the task's start, quantised downwards: a CDN reporting whole
 * percentages (VIMS) or 25% steps reports `p` from the moment the line reaches `p` until it reaches the
 * next value. Each poll (time t, value q) then says the line had reached q by t and not yet q + quantum;
 * each change of value says when between two polls the line crossed it. Under the line, each is a bound on
 * the task's duration D, and all of them together (intersected) bound it tightly however coarse the steps.
 */

/** A change of progress: to what, after which poll (the last that read less) and by which (the first that read it). */
export interface ProgressChange {
  to: number;
  after: number;
  by: number;
}

export interface PollTrack {
  /** When the line starts: our submit, or the CDN's own start when it is later (a task queued at the CDN). */
  startedAt: number;
  /** When the last poll answered, and the last progress read (absent: the CDN has reported none). */
  at: number;
  progress?: number;
  /** The last change of progress, and the one before it (for the recent rate). */
  change?: ProgressChange;
  previous?: ProgressChange;
  /** The last poll that read 0% (a task waiting at the CDN, or stalled): its first rise may be sudden. */
  zeroAt?: number;
  /**
   * The largest step progress can be moving in: the greatest common divisor of the values seen (in
   * hundredths). Every value of a quantised line is a multiple of its quantum, so this is never smaller.
   */
  quantum?: number;
  /** The task's duration under the line is in (durationLo, durationHi], ms. */
  durationLo: number;
  durationHi?: number;
  /** Set when the bounds come from the recent rate, the line through the start having stopped holding. */
  recent?: boolean;
  /** The latest end the schedule last aimed at: a poll after it that finds the task running is a miss. */
  aimedAt?: number;
  /** Polls in a row, since progress last moved, that came after the aimed end and found the task running. */
  misses: number;
}

export interface PollObservation {
  at: number;
  progress?: number;
  /** The CDN's own start of the task (VIMS `start`), when it reports one. */
  startedAt?: number;
}

/** A track from when the task started at the soonest (the submit's sending): progress was 0 then. */
export function startTrack(startedAt: number): PollTrack {
  return { startedAt, at: startedAt, durationLo: 0, misses: 0 };
}

const HUNDREDTHS = 100;

function gcd(a: number, b: number): number {
  let x = Math.abs(a);
  let y = Math.abs(b);
  while (y > 0) [x, y] = [y, x % y];
  return x;
}

/** The quantum bound after seeing `value`: the gcd of every value seen, counted in hundredths of a percent. */
function nextQuantum(quantum: number | undefined, value: number): number | undefined {
  const units = Math.round(value * HUNDREDTHS);
  if (units <= 0) return quantum;
  const known = quantum === undefined ? units : gcd(Math.round(quantum * HUNDREDTHS), units);
  return known / HUNDREDTHS;
}

/**
 * A CDN's start is believed only when it falls between our submit and now: earlier is its clock's skew or
 * its one-second rounding (our submit is within a round trip of the true start), later than now is skew.
 */
function plausibleStart(track: PollTrack, startedAt: number | undefined, now: number): number {
  if (startedAt === undefined || !Number.isFinite(startedAt)) return track.startedAt;
  return startedAt > track.startedAt && startedAt < now ? startedAt : track.startedAt;
}

/**
 * The duration bounds one poll gives on its own, from the line through the start. Readings of 0% bound
 * nothing: a CDN shows 0% while a task waits to be picked up (VIMS's PENDING), however far its line is.
 */
function boundsOf(track: PollTrack, at: number): { lo: number; hi?: number } {
  const { startedAt: s, change, progress, quantum } = track;
  let lo = at - s;
  if (change === undefined || progress === undefined || progress <= 0) return { lo };
  // Reached `to` by `by`; below it at `after` (the value read then was at least one quantum lower).
  const hi = (100 * (change.by - s)) / change.to;
  lo = Math.max(lo, (100 * (change.after - s)) / change.to);
  if (quantum !== undefined && progress + quantum < 100)
    lo = Math.max(lo, (100 * (at - s)) / (progress + quantum));
  return { lo, hi };
}

/**
 * The recent rate (percent per ms) between the last two changes, as an interval: each change is known to
 * a window between two polls, so the rate is bounded by the widest and the narrowest gap between them.
 */
function recentRate(track: PollTrack): { lo: number; hi: number } | undefined {
  const { change, previous } = track;
  if (!change || !previous) return undefined;
  const rise = change.to - previous.to;
  const hiGap = change.after - previous.by;
  return { lo: rise / (change.by - previous.after), hi: hiGap > 0 ? rise / hiGap : Number.POSITIVE_INFINITY };
}

/** The duration bounds the recent rate gives, carried on from where progress is now. */
function recentBounds(track: PollTrack): { lo: number; hi: number } | undefined {
  const rate = recentRate(track);
  const { progress, quantum, at, startedAt } = track;
  if (!rate || progress === undefined) return undefined;
  const left = 100 - progress;
  const lo = at + Math.max(0, left - (quantum ?? left)) / rate.hi - startedAt;
  return { lo: Math.max(lo, at - startedAt), hi: at + left / rate.lo - startedAt };
}

/**
 * The line through the start while it holds (its bounds do not cross, and the recent rate agrees with
 * it); else the recent rate's bounds: a CDN that sat at 0% and then rose quickly, or slowed down.
 */
function chooseBounds(
  track: PollTrack,
  line: { lo: number; hi: number } | undefined,
): { lo: number; hi: number; recent?: boolean } | undefined {
  const recent = recentBounds(track);
  if (!line) return recent && { ...recent, recent: true };
  const rate = recentRate(track);
  if (!recent || !rate) return line;
  const agrees = rate.lo <= 100 / line.lo && rate.hi >= 100 / line.hi;
  if (!agrees) return { ...recent, recent: true };
  const lo = Math.max(line.lo, recent.lo);
  const hi = Math.min(line.hi, recent.hi);
  return lo < hi ? { lo, hi } : line;
}

/** The track after one more poll that found the task still running. */
export function observe(track: PollTrack, poll: PollObservation): PollTrack {
  const next = observed(track, poll);
  // Past the latest end aimed at, with no progress since: the line was wrong (a miss).
  const missed = track.aimedAt !== undefined && poll.at >= track.aimedAt && next.change === track.change;
  const { aimedAt: _aimed, ...rest } = next;
  return { ...rest, misses: missed ? track.misses + 1 : next.misses };
}

function observed(track: PollTrack, poll: PollObservation): PollTrack {
  const { at, progress } = poll;
  const startedAt = plausibleStart(track, poll.startedAt, at);
  // A start learnt late moves the line: bounds drawn from the old one no longer hold.
  const base = startedAt === track.startedAt ? track : withBounds({ ...track, startedAt }, at - startedAt, 0);
  // A poll that reads no progress says only that the task runs on; the last value read still stands.
  if (progress === undefined) return { ...base, at, durationLo: Math.max(base.durationLo, at - startedAt) };
  const before = base.progress ?? 0;
  // Progress that goes back (a task the CDN started over, a mean over items re-counted): the line is drawn
  // again, from the last poll that read more (the restart came after it).
  if (progress < before) return observed(startTrack(base.at), { at, progress });
  let next: PollTrack = { ...base, at, progress, ...(progress === 0 ? { zeroAt: at } : {}) };
  if (progress > before) {
    next = {
      ...next,
      change: { to: progress, after: base.at, by: at },
      misses: 0,
      ...(base.change ? { previous: base.change } : {}),
    };
    const quantum = nextQuantum(next.quantum, progress);
    if (quantum !== undefined) next.quantum = quantum;
  }
  const own = boundsOf(next, at);
  let lo = Math.max(next.durationLo, own.lo);
  let hi = Math.min(next.durationHi ?? Number.POSITIVE_INFINITY, own.hi ?? Number.POSITIVE_INFINITY);
  // Bounds that cross: the line does not hold (or the CDN's start moved); this poll's own bounds stand.
  if (lo >= hi) ({ lo, hi = Number.POSITIVE_INFINITY } = own);
  const line = lo < hi && Number.isFinite(hi) ? { lo, hi } : undefined;
  const { recent: _was, ...unmarked } = next;
  const chosen = chooseBounds(unmarked, line);
  if (!chosen) return withBounds(unmarked, at - startedAt, 0);
  const bounded = withBounds(unmarked, chosen.lo, chosen.hi);
  return chosen.recent ? { ...bounded, recent: true } : bounded;
}

function withBounds(track: PollTrack, lo: number, hi: number): PollTrack {
  const { durationHi: _old, ...rest } = track;
  return Number.isFinite(hi) && hi > lo
    ? { ...rest, durationLo: lo, durationHi: hi }
    : { ...rest, durationLo: lo };
}

/** Where the task's end can be (absolute times), once its progress has moved; undefined before. */
export function endBounds(track: PollTrack): { lo: number; hi: number } | undefined {
  if (track.change === undefined || track.durationHi === undefined) return undefined;
  return {
    lo: Math.max(track.at, track.startedAt + track.durationLo),
    hi: track.startedAt + track.durationHi,
  };
}

/**
 * The best guess of a finished task's duration, to learn from: the middle of where its end can have been,
 * between the last poll that found it running (or the track's lower bound) and the poll that found it done.
 */
export function finishedDuration(track: PollTrack, doneAt: number): number {
  const end = endBounds(track);
  const lo = Math.max(track.at, end?.lo ?? track.at);
  const hi = Math.min(doneAt, end?.hi ?? doneAt);
  const mid = lo <= hi ? (lo + hi) / 2 : (track.at + doneAt) / 2;
  return Math.max(0, mid - track.startedAt);
}
