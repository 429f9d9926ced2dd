import { PurgeError } from '../../errors.ts';
import type { PurgeTarget } from '../../model/purge.ts';
import type { RemoteStatus } from '../provider.ts';

/**
 * Pure translation between purge targets and VIMS's wire format. VIMS purges by one regex per call
 * (`pattern`), so URLs and dirs become an anchored, escaped alternation, and long lists are split so no
 * pattern exceeds `maxPatternLength`.
 */
export type PatternScope = 'path' | 'url';

export interface VimsPurgeBody {
  target: string;
  pattern: string;
}

const REGEX_SPECIALS = /[\\^$.*+?()[\]{}|/]/g;

export function escapeRegex(text: string): string {
  return text.replace(REGEX_SPECIALS, '\\$&');
}

/**
 * The part of a URL VIMS is assumed to match against (see `patternScope` in config.ts): with `path`, the
 * request target a client sends for it. That keeps an empty query's `?` (`/a?` is not `/a`, and a cache
 * keys them apart), which `search` drops: it reads '' for an empty query.
 */
export function matchSubject(url: string, scope: PatternScope): string {
  if (scope === 'url') return url;
  const parsed = new URL(url);
  parsed.hash = '';
  const query = parsed.href.indexOf('?');
  return query < 0 ? parsed.pathname : `${parsed.pathname}${parsed.href.slice(query)}`;
}

/** `^(?:(?:<url>|<url>)$|<dir>|<dir>)`: exact match for URLs, prefix match for dirs. */
export function buildPattern(target: PurgeTarget, scope: PatternScope): string {
  if (target.all) return '*';
  if (target.pattern !== undefined) return target.pattern;
  const alternatives: string[] = [];
  const exact = target.urls.map((url) => escapeRegex(matchSubject(url, scope)));
  if (exact.length > 0) alternatives.push(exact.length === 1 ? `${exact[0]}$` : `(?:${exact.join('|')})$`);
  for (const dir of target.dirs) alternatives.push(escapeRegex(matchSubject(dir, scope)));
  if (alternatives.length === 0) {
    throw new PurgeError('REQUEST_INVALID', 'VIMS batch has nothing to purge');
  }
  return alternatives.length === 1 ? `^${alternatives[0]}` : `^(?:${alternatives.join('|')})`;
}

/** Upper bound of buildPattern's length over everything but the items: anchors, groups, `$`. */
export const PATTERN_OVERHEAD = 10;

/**
 * Splits URLs and dirs into batches whose pattern stays within `maxLength`. A pattern or `all` is one batch
 * of its own. A single URL too long for any pattern, or a given pattern over `maxLength`, is refused rather
 * than sent truncated. Each item is escaped once and counted as its length plus one separator, an upper
 * bound of what it adds to the pattern, so splitting stays linear in the number of URLs (a 10,000-URL
 * purge is planned in one pass).
 */
export function splitIntoBatches(target: PurgeTarget, scope: PatternScope, maxLength: number): PurgeTarget[] {
  if (target.all) return [{ urls: [], dirs: [], all: true }];
  const batches: PurgeTarget[] = [];
  if (target.pattern !== undefined) {
    // Sent as given, so it must fit as given: refused at ingest rather than by VIMS on every attempt.
    if (target.pattern.length > maxLength) {
      throw new PurgeError(
        'REQUEST_INVALID',
        `pattern is longer than this VIMS CDN's maxPatternLength (${target.pattern.length} > ${maxLength})`,
      );
    }
    batches.push({ urls: [], dirs: [], pattern: target.pattern });
  }
  let current: PurgeTarget = { urls: [], dirs: [] };
  let length = PATTERN_OVERHEAD;
  const items = [
    ...target.urls.map((value) => ({ kind: 'urls' as const, value })),
    ...target.dirs.map((value) => ({ kind: 'dirs' as const, value })),
  ];
  for (const item of items) {
    const cost = escapeRegex(matchSubject(item.value, scope)).length + 1;
    if (PATTERN_OVERHEAD + cost > maxLength) {
      throw new PurgeError(
        'REQUEST_INVALID',
        `URL is too long for one VIMS pattern (max ${maxLength}): ${item.value}`,
      );
    }
    if (length + cost > maxLength) {
      batches.push(current);
      current = { urls: [], dirs: [] };
      length = PATTERN_OVERHEAD;
    }
    current[item.kind].push(item.value);
    length += cost;
  }
  if (current.urls.length + current.dirs.length > 0) batches.push(current);
  return batches;
}

export function toPurgeBody(batch: PurgeTarget, target: string, scope: PatternScope): VimsPurgeBody {
  return { target, pattern: buildPattern(batch, scope) };
}

const RUNNING_STATES = new Set(['RECEIVED', 'STARTED', 'RETRY', 'PROGRESS']);
const FAILED_STATES = new Set(['FAILURE', 'REVOKED', 'REJECTED']);

export interface VimsTaskData {
  status?: unknown;
  percentage?: unknown;
  output?: unknown;
  /** An HTTP date, to the second: `Wed, 04 Feb 2015 18:06:06 GMT`. */
  start?: unknown;
}

/** Longer than any HTTP date: a `start` past this is not parsed at all. */
const MAX_DATE_LENGTH = 64;

/** The task's `start` (ms), when it is a date; anything else is left out, never an error. */
export function startOf(task: VimsTaskData): number | undefined {
  const { start } = task;
  if (typeof start !== 'string' || start.length > MAX_DATE_LENGTH) return undefined;
  const at = Date.parse(start);
  return Number.isFinite(at) ? at : undefined;
}

/**
 * Celery state -> RemoteStatus. Compared case-insensitively; an unknown state counts as still running
 * (the deadline bounds it) and carries a note so the worker can log it.
 */
export function mapTaskState(task: VimsTaskData): RemoteStatus {
  const state = typeof task.status === 'string' ? task.status.trim().toUpperCase() : '';
  const progress = toPercentage(task.percentage);
  const withProgress = progress === undefined ? {} : { progress };
  if (state === 'SUCCESS') return { state: 'succeeded', progress: 100 };
  if (FAILED_STATES.has(state)) {
    const output =
      typeof task.output === 'string' && task.output.trim() !== '' ? task.output.trim() : undefined;
    return {
      state: 'failed',
      reason: output ? `${state}: ${output}` : `task ended in state ${state}`,
      ...withProgress,
    };
  }
  const startedAt = startOf(task);
  const running = startedAt === undefined ? withProgress : { ...withProgress, startedAt };
  if (state === 'PENDING') return { state: 'pending', ...running };
  if (RUNNING_STATES.has(state)) return { state: 'running', ...running };
  return {
    state: 'running',
    ...running,
    note: `unknown VIMS task state ${JSON.stringify(task.status)}`,
  };
}

function toPercentage(value: unknown): number | undefined {
  const number = typeof value === 'string' ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isFinite(number)) return undefined;
  return Math.min(100, Math.max(0, number));
}
