import { PurgeError } from '../../errors.ts';
import { bodyExcerpt, errorForStatus, type HttpResponse, readAnswer } from '../http.ts';
import type { SubmitResult } from '../provider.ts';
import { parseRetryAfter } from '../retry-after.ts';
import { type AcceptedCall, AKAMAI_ID } from './mapping.ts';

/**
 * Reading what Fast Purge answers: the 201 acceptance, its `application/problem+json` refusals, and the
 * `X-Ratelimit-*` headers of its token buckets. Every answer is hostile input: only a bounded prefix of a
 * body is parsed, numbers must look like numbers, ids like ids.
 */

/** Akamai's documented "approximately five seconds", when an acceptance gives no estimate. */
export const DEFAULT_ESTIMATE_SECONDS = 5;
/**
 * Longest wait a batch is given before it counts as done, whatever `estimatedSeconds` says: v3 purges take
 * about five seconds, and an absurd estimate must not hold a batch (and its purge) open for hours.
 */
export const MAX_ESTIMATE_MS = 300_000;
/** The 429 advice ("Wait five seconds, then retry once there are enough tokens") when no header says more. */
export const DEFAULT_RATE_LIMIT_WAIT_MS = 5_000;
/** Longest wait a 429 asks for: a drained CP-code bucket refills at 30 a minute, so ten minutes is its worst. */
const MAX_RATE_LIMIT_WAIT_MS = 15 * 60_000;
const MAX_PARSED_BODY_CHARS = 64 * 1024;

export interface Accepted extends AcceptedCall {
  estimatedSeconds: number;
}

export function jsonObjectOf(body: string): Record<string, unknown> | undefined {
  const text = body.trimStart();
  if (!text.startsWith('{') || text.length > MAX_PARSED_BODY_CHARS) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** A 2xx answer: `{httpStatus: 201, estimatedSeconds, purgeId, supportId, detail}`. */
export function readAccepted(response: HttpResponse, what: string): Accepted {
  const body = readAnswer(what, () => {
    const parsed = jsonObjectOf(response.body);
    if (!parsed) throw new Error(`not a JSON object: ${bodyExcerpt(response.body, 120)}`);
    return parsed;
  });
  const { purgeId, supportId, estimatedSeconds } = body;
  if (typeof purgeId !== 'string' || !AKAMAI_ID.test(purgeId)) {
    // Accepted but unaddressable: a retry would purge again and be no better, so it is final.
    throw new PurgeError(
      'CDN_BAD_RESPONSE',
      `${what}: accepted (HTTP ${response.status}) but no usable purgeId in the answer`,
      { retryable: false, httpStatus: response.status },
    );
  }
  const estimate =
    typeof estimatedSeconds === 'number' && Number.isFinite(estimatedSeconds) && estimatedSeconds >= 0
      ? estimatedSeconds
      : DEFAULT_ESTIMATE_SECONDS;
  return {
    purgeId,
    supportId: typeof supportId === 'string' && AKAMAI_ID.test(supportId) ? supportId : purgeId,
    estimatedSeconds: estimate,
  };
}

export function estimateMs(estimatedSeconds: number): number {
  return Math.min(Math.round(estimatedSeconds * 1000), MAX_ESTIMATE_MS);
}

function header(response: HttpResponse, name: string): string | undefined {
  const value = response.headers[name];
  return (Array.isArray(value) ? value[0] : value)?.trim();
}

/** A header that must be a plain non-negative number (Akamai's per-second rates may be fractional). */
function numberHeader(response: HttpResponse, name: string): number | undefined {
  const text = header(response, name);
  if (text === undefined || !/^\d{1,12}(?:\.\d{1,9})?$/.test(text)) return undefined;
  return Number(text);
}

function numberField(body: Record<string, unknown> | undefined, name: string): number | undefined {
  const value = body?.[name];
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/**
 * The request bucket's state after a call (every call takes one request token; object tokens depend on the
 * next call's size, and a call that would overdraw them is refused with numbers of its own, below).
 * `X-Ratelimit-Seconds-To-Refresh-Limit` where sent; otherwise the time one token takes to refill.
 */
export function rateLimitOf(response: HttpResponse): SubmitResult['rateLimit'] {
  const remaining = numberHeader(response, 'x-ratelimit-remaining');
  if (remaining === undefined) return undefined;
  const refresh = numberHeader(response, 'x-ratelimit-seconds-to-refresh-limit');
  const perSecond = numberHeader(response, 'x-ratelimit-limit-per-second');
  const resetAfterMs =
    refresh !== undefined ? refresh * 1000 : perSecond && perSecond > 0 ? 1000 / perSecond : 0;
  return { remaining: Math.floor(remaining), resetAfterMs: Math.ceil(resetAfterMs) };
}

/**
 * How long a 429 asks to wait. Akamai sends no Retry-After (honoured if a proxy does): the wait is what the
 * denied bucket needs to refill, from the answer's own numbers: the objects this request needs beyond those
 * left (`rateLimitCurrentRequestSize` - `rateLimitRemaining`) at `X-Ratelimit-Limit-Per-Second-Objects`, or one
 * request token at `X-Ratelimit-Limit-Per-Second`. Failing those, the documented five seconds.
 */
export function rateLimitWaitMs(response: HttpResponse, body: Record<string, unknown> | undefined): number {
  const retryAfter = parseRetryAfter(response.headers['retry-after']);
  if (retryAfter !== undefined) return Math.min(retryAfter, MAX_RATE_LIMIT_WAIT_MS);
  const waits: number[] = [];
  const size = numberField(body, 'rateLimitCurrentRequestSize');
  const left =
    numberField(body, 'rateLimitRemaining') ?? numberHeader(response, 'x-ratelimit-remaining-objects');
  const objectRate = numberHeader(response, 'x-ratelimit-limit-per-second-objects');
  if (size !== undefined && left !== undefined && objectRate && size > left) {
    waits.push(((size - left) / objectRate) * 1000);
  }
  const requestRate = numberHeader(response, 'x-ratelimit-limit-per-second');
  if (numberHeader(response, 'x-ratelimit-remaining') === 0 && requestRate) waits.push(1000 / requestRate);
  const wait = waits.length > 0 ? Math.ceil(Math.max(...waits)) : DEFAULT_RATE_LIMIT_WAIT_MS;
  return Math.min(wait, MAX_RATE_LIMIT_WAIT_MS);
}

/** One printable line of at most `max` characters from a field an answer sent. */
function clean(value: unknown, max: number): string | undefined {
  if (typeof value !== 'string') return undefined;
  const flat = value.replace(/[\p{Cc}\s]+/gu, ' ').trim();
  if (flat === '') return undefined;
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

/** `title: detail (supportId ...)` of a problem body, or an excerpt of whatever else came. */
export function problemReason(body: Record<string, unknown> | undefined, raw: string): string {
  if (!body) return bodyExcerpt(raw);
  const title = clean(body.title, 120);
  const detail = clean(body.detail, 300);
  const supportId = clean(body.supportId, 128);
  const text = [title, detail].filter((part) => part !== undefined).join(': ');
  return `${text || bodyExcerpt(raw)}${supportId ? ` (supportId ${supportId})` : ''}`;
}

/**
 * A refusal. 401 is the EdgeGrid signature or credentials, 403 the credentials' rights ("unauthorized arl",
 * Fast Purge not on the contract): both permanent CDN_AUTH. 413 says a body passed 50,000 bytes, which our
 * batching never sends: a bug or a misconfigured `maxBodyBytes`, so permanent. 429 waits what the bucket needs;
 * 408 and 5xx (500, 503, 504, 507) are transient; any other 4xx is a permanent refusal with Akamai's reason.
 */
export function errorOf(response: HttpResponse, what: string): PurgeError {
  const body = jsonObjectOf(response.body);
  const reason = problemReason(body, response.body);
  const { status } = response;
  if (status === 429) {
    return new PurgeError('CDN_RATE_LIMITED', `${what}: HTTP 429 — ${reason}`, {
      retryable: true,
      httpStatus: 429,
      retryAfterMs: rateLimitWaitMs(response, body),
    });
  }
  if (status === 413) {
    return new PurgeError(
      'CDN_REJECTED',
      `${what}: HTTP 413 — ${reason} (request body over Akamai's limit)`,
      {
        httpStatus: 413,
      },
    );
  }
  if (status === 401) {
    return new PurgeError('CDN_AUTH', `${what}: HTTP 401 — ${reason} (EdgeGrid credentials or clock)`, {
      httpStatus: 401,
    });
  }
  return errorForStatus(response, what, reason);
}
