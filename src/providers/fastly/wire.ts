import { PurgeError } from '../../errors.ts';
import { bodyExcerpt, errorForStatus, type HttpResponse } from '../http.ts';
import type { SubmitResult } from '../provider.ts';

/** Bodies longer than this are not parsed for a reason, only excerpted: an error body is a line of JSON. */
const MAX_ERROR_JSON = 64 * 1024;
const EPOCH_SECONDS = /^\d{1,12}$/;
const COUNT = /^\d{1,9}$/;

function header(response: HttpResponse, name: string): string | undefined {
  const value = response.headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first?.trim();
}

/** Milliseconds from `now` to `Fastly-RateLimit-Reset` (UTC epoch seconds), or undefined if absent/unreadable. */
export function resetAfterMsOf(response: HttpResponse, now: number): number | undefined {
  const reset = header(response, 'fastly-ratelimit-reset');
  if (reset === undefined || !EPOCH_SECONDS.test(reset)) return undefined;
  return Math.max(0, Number(reset) * 1000 - now);
}

/**
 * The window the rate headers describe. Fastly leaves them off some answers (purges exempt from the hourly
 * limit): absent or unreadable is unknown, never zero.
 */
export function rateLimitOf(response: HttpResponse, now: number): SubmitResult['rateLimit'] {
  const remaining = header(response, 'fastly-ratelimit-remaining');
  const resetAfterMs = resetAfterMsOf(response, now);
  if (remaining === undefined || !COUNT.test(remaining) || resetAfterMs === undefined) return undefined;
  return { remaining: Number(remaining), resetAfterMs };
}

/** The reason in a Fastly error body (`{"msg": ..., "detail": ...}`), or an excerpt of whatever came instead. */
export function reasonOf(body: string): string {
  if (body.length <= MAX_ERROR_JSON) {
    try {
      const parsed: unknown = JSON.parse(body);
      if (typeof parsed === 'object' && parsed !== null) {
        const { msg, detail } = parsed as Record<string, unknown>;
        const parts = [msg, detail].filter((part): part is string => typeof part === 'string' && part !== '');
        if (parts.length > 0) return bodyExcerpt(parts.join(': '), 200);
      }
    } catch {
      // Not JSON (a proxy's page): excerpted below.
    }
  }
  return bodyExcerpt(body, 200);
}

/**
 * A non-2xx answer, as every provider reads one (429 and 5xx transient, 401/403 CDN_AUTH, 404 CDN_NOT_FOUND,
 * other 4xx CDN_REJECTED), with Fastly's reason. A 429 waits for Retry-After when sent (not documented for
 * Fastly, honoured anyway), else until `Fastly-RateLimit-Reset`.
 */
export function errorOf(response: HttpResponse, what: string, now: number): PurgeError {
  const error = errorForStatus(response, what, reasonOf(response.body));
  if (response.status !== 429 || error.retryAfterMs !== undefined) return error;
  const retryAfterMs = resetAfterMsOf(response, now);
  if (retryAfterMs === undefined) return error;
  return new PurgeError(error.code, error.message, {
    retryable: true,
    retryAfterMs,
    httpStatus: 429,
  });
}

function parseObject(body: string, what: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    // A 200 that is not Fastly's JSON may be a proxy's page: the purge may not have reached Fastly, and
    // sending it again is harmless, so this is the transient kind of unreadable.
    throw new PurgeError(
      'CDN_BAD_RESPONSE',
      `${what}: 200 without Fastly's JSON (${bodyExcerpt(body, 80)})`,
      {
        retryable: true,
      },
    );
  }
  return parsed as Record<string, unknown>;
}

/** The purge id of a URL or single-key purge (`{"status":"ok","id":"..."}`); none is no reason to refuse it. */
export function purgeIdOf(body: string, what: string): string[] {
  const { id } = parseObject(body, what);
  return typeof id === 'string' && id !== '' ? [id] : [];
}

/** The ids of a batch key purge: a map key -> purge id (`{"k1": "id1", ...}`), not an array. */
export function batchPurgeIdsOf(body: string, what: string): string[] {
  return Object.values(parseObject(body, what)).filter(
    (id): id is string => typeof id === 'string' && id !== '',
  );
}

/** purge_all answers `{"status":"ok"}` and no id. */
export function purgeAllAccepted(body: string, what: string): string[] {
  parseObject(body, what);
  return [];
}
