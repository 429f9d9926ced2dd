import { PurgeError } from '../errors.ts';
import type { PurgeState } from './status.ts';
import { parseTimeBound, TIME_BOUND_FORMS } from './time-bound.ts';

export const PURGE_STATES: readonly PurgeState[] = ['queued', 'running', 'succeeded', 'failed', 'timed_out'];

/** Which purges to list, newest first: every filter optional, each applied to what it names. */
export interface ListQuery {
  /** Any of these states (the state GET /v1/purges/:id answers). */
  states?: PurgeState[];
  /** Sent to any of these CDNs. */
  cdns?: string[];
  /** Accepted at or after (epoch ms). */
  since?: number;
  /** Accepted at or before (epoch ms). */
  until?: number;
  /** Text that one of its URLs, dirs or its pattern contains. */
  text?: string;
  limit: number;
  /** Where the previous page stopped. */
  cursor?: ListCursor;
}

/** The last index entry a page looked at: the next page starts after it. */
export interface ListCursor {
  createdAt: number;
  id: string;
}

export const DEFAULT_LIST_LIMIT = 50;
export const MAX_LIST_LIMIT = 200;
const MAX_TEXT_LENGTH = 2048;
const MAX_CURSOR_LENGTH = 256;
const PARAMETERS = ['state', 'cdn', 'since', 'until', 'url', 'limit', 'cursor'] as const;
type Parameter = (typeof PARAMETERS)[number];

/** `[A-Za-z0-9_-]`: the purge ids and CDN ids a cursor or filter may name. */
const ID = /^[A-Za-z0-9_-]{1,128}$/;

export interface ListQueryContext {
  now: number;
  /** The configured CDN ids: a filter naming another is a typo, refused. */
  cdns: ReadonlySet<string>;
}

/**
 * Reads a list query from what a query string (or the CLI) gave, refusing anything it does not know or
 * cannot read with 400 REQUEST_INVALID naming the parameter (`parameter` in the answer, and in the message).
 */
export function parseListQuery(raw: Readonly<Record<string, unknown>>, context: ListQueryContext): ListQuery {
  for (const name of Object.keys(raw)) {
    if (!(PARAMETERS as readonly string[]).includes(name))
      throw invalid(name, `unknown parameter (known: ${PARAMETERS.join(', ')})`);
  }
  const value = (name: Parameter) => single(raw, name);
  const query: ListQuery = { limit: DEFAULT_LIST_LIMIT };

  const state = value('state');
  if (state !== undefined) query.states = listOf('state', state, PURGE_STATES);
  const cdn = value('cdn');
  if (cdn !== undefined) query.cdns = listOf('cdn', cdn, [...context.cdns]);
  const since = value('since');
  if (since !== undefined) query.since = timeBound('since', since, context.now);
  const until = value('until');
  if (until !== undefined) query.until = timeBound('until', until, context.now);
  if (query.since !== undefined && query.until !== undefined && query.since > query.until)
    throw invalid('since', 'is later than until');
  const text = value('url');
  if (text !== undefined) {
    if (text.length === 0 || text.length > MAX_TEXT_LENGTH)
      throw invalid('url', `must be 1 to ${MAX_TEXT_LENGTH} characters`);
    query.text = text;
  }
  const limit = value('limit');
  if (limit !== undefined) {
    const n = /^\d{1,4}$/.test(limit) ? Number(limit) : Number.NaN;
    if (!(n >= 1 && n <= MAX_LIST_LIMIT))
      throw invalid('limit', `must be a whole number from 1 to ${MAX_LIST_LIMIT}`);
    query.limit = n;
  }
  const cursor = value('cursor');
  if (cursor !== undefined) query.cursor = decodeCursor(cursor);
  return query;
}

/** Opaque to callers: base64url of the last entry looked at. */
export function encodeCursor(cursor: ListCursor): string {
  return Buffer.from(JSON.stringify([cursor.createdAt, cursor.id])).toString('base64url');
}

export function decodeCursor(text: string): ListCursor {
  const refuse = () => invalid('cursor', 'is not a cursor this API gave (pass nextCursor as it came)');
  if (text.length === 0 || text.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(text)) throw refuse();
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw refuse();
  }
  if (!Array.isArray(decoded) || decoded.length !== 2) throw refuse();
  const [createdAt, id] = decoded as unknown[];
  if (!Number.isSafeInteger(createdAt) || (createdAt as number) < 0) throw refuse();
  if (typeof id !== 'string' || !ID.test(id)) throw refuse();
  return { createdAt: createdAt as number, id };
}

/** A refusal naming the parameter, both in the message and as `parameter`. */
export function invalid(parameter: string, problem: string): PurgeError {
  return new PurgeError('REQUEST_INVALID', `${parameter}: ${problem}`, { parameter });
}

function single(raw: Readonly<Record<string, unknown>>, name: Parameter): string | undefined {
  const value = raw[name];
  if (value === undefined) return undefined;
  if (Array.isArray(value)) throw invalid(name, 'given more than once (separate values with commas)');
  if (typeof value !== 'string') throw invalid(name, 'must be text');
  return value;
}

function listOf<T extends string>(name: Parameter, value: string, allowed: readonly T[]): T[] {
  if (value.length > 1024) throw invalid(name, 'is too long');
  const items = value.split(',');
  const unknown = items.filter((item) => !(allowed as readonly string[]).includes(item));
  if (unknown.length > 0) {
    const shown = unknown.slice(0, 3).map((item) => JSON.stringify(item.slice(0, 64)));
    throw invalid(name, `${shown.join(', ')} is not one of ${allowed.join(', ')}`);
  }
  return [...new Set(items as T[])];
}

function timeBound(name: Parameter, value: string, now: number): number {
  const ms = parseTimeBound(value, now);
  if (ms === undefined)
    throw invalid(name, `${JSON.stringify(value.slice(0, 64))} is not ${TIME_BOUND_FORMS}`);
  return ms;
}
