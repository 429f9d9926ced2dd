import type { PollPolicy } from '../config/policy.ts';
import { describeError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import type { RemoteStatus } from '../providers/provider.ts';
import { nextPollDelay, type Random } from './backoff.ts';
import type { DurationPrior } from './duration-prior.ts';
import type { BatchJobData } from './job.ts';
import { scheduleFirst, scheduleNext } from './poll-schedule.ts';
import { finishedDuration, type PollTrack, startTrack } from './poll-track.ts';

/** A CDN's past task durations (status/poll-durations.ts): read for the schedule, added to when a task ends. */
export interface DurationLearner {
  /** Undefined when they cannot be read: the schedule then does without. */
  prior(): Promise<DurationPrior | undefined>;
  /** Resolves once the duration is written, which may be a little later, together with others. */
  record(durationMs: number): Promise<void>;
  /** Writes what waits to be written now (a worker shutting down), and waits for every write under way. */
  flush(): Promise<void>;
}

/** A poll's wait, and what the job data carries to the next poll. */
export interface PlannedPoll {
  delayMs: number;
  data: Pick<BatchJobData, 'pollTrack'>;
}

/**
 * The poll schedule as the pipeline's steps use it (pipeline/step.ts): the adaptive one (poll-schedule.ts)
 * over the job's track and the CDN's learnt durations, or, with `policy.poll.adaptive: false`, the plain
 * backoff shortened by progress, with nothing learnt or kept.
 */
export interface Polling {
  /**
   * The first poll after the CDN accepted a batch at `submittedAt`; its task started after `sentAt` (the
   * submit's sending), the start its line is drawn from, so that its ends are never predicted too soon.
   */
  first(submittedAt: number, sentAt?: number): Promise<PlannedPoll>;
  /** The next poll after one (the job's `polls + 1`-th) found the task still running at `now`. */
  next(data: BatchJobData, status: RemoteStatus, now: number): Promise<PlannedPoll>;
  /**
   * The task was found done at `now`: its duration is learnt. Never throws; resolves once it is written
   * (with others, a little later: the step does not wait for it).
   */
  finished(data: BatchJobData, now: number): Promise<void>;
}

export interface PollingDeps {
  policy: PollPolicy;
  random: Random;
  durations?: DurationLearner;
  log?: Logger;
}

export function createPolling({ policy, random, durations, log }: PollingDeps): Polling {
  const context = async () => {
    const prior = await durations?.prior();
    return { policy, random, ...(prior ? { prior } : {}) };
  };
  // A job polled before the adaptive schedule existed (or switched on) starts its track where it is.
  const trackOf = (data: BatchJobData): PollTrack =>
    data.pollTrack ?? startTrack(data.submittedAt ?? data.acceptedAt ?? 0);

  if (!policy.adaptive) {
    return {
      first: async () => ({ delayMs: nextPollDelay({ polls: 0, elapsedMs: 0 }, policy, random), data: {} }),
      async next(data, status, now) {
        const elapsedMs = now - (data.submittedAt ?? data.acceptedAt ?? now);
        const progress = status.progress === undefined ? {} : { progress: status.progress };
        return {
          delayMs: nextPollDelay({ polls: data.polls + 1, elapsedMs, ...progress }, policy, random),
          data: {},
        };
      },
      finished: async () => {},
    };
  }
  return {
    async first(submittedAt, sentAt = submittedAt) {
      const { track, plan } = scheduleFirst(sentAt, submittedAt, await context());
      return { delayMs: plan.delayMs, data: { pollTrack: track } };
    },
    async next(data, status, now) {
      const started =
        'startedAt' in status && status.startedAt !== undefined ? { startedAt: status.startedAt } : {};
      const progress = status.progress === undefined ? {} : { progress: status.progress };
      const observation = { at: now, ...progress, ...started };
      const { track, plan } = scheduleNext(trackOf(data), observation, data.polls + 1, await context());
      return { delayMs: plan.delayMs, data: { pollTrack: track } };
    },
    async finished(data, now) {
      if (!durations || !data.pollTrack) return;
      try {
        await durations.record(finishedDuration(data.pollTrack, now));
      } catch (error) {
        log?.warn(
          { err: describeError(error) },
          'cannot record the task duration; the schedule learns from the next',
        );
      }
    },
  };
}

/** The step's polling, or the adaptive schedule without learning for a context that brings none (tests). */
export function pollingOf(ctx: { polling?: Polling; policy: { poll: PollPolicy }; random: Random }): Polling {
  return ctx.polling ?? createPolling({ policy: ctx.policy.poll, random: ctx.random });
}
