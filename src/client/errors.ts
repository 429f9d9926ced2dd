import { ERROR_CODES, type ErrorCode, PurgeError } from '../errors.ts';
import type { PurgeState } from '../model/status.ts';
import { parseRetryAfter } from '../providers/retry-after.ts';
import type { PurgeStatus } from './types.ts';

/** An error answer as the API sends it; some codes add fields (`parameter`, NOT_REPLICATED's `id`). */
export interface ApiErrorBody {
  error: ErrorCode;
  message: string;
  parameter?: string;
  [field: string]: unknown;
}

export interface PurgeApiErrorOptions {
  status?: number;
  body?: ApiErrorBody;
  retryable?: boolean;
  retryAfterMs?: number;
  cause?: unknown;
}

/**
 * A call to the API that did not succeed: the API's own refusal (`code` from its answer, `status` its HTTP
 * status), or API_UNREACHABLE / API_BAD_RESPONSE when no readable answer came. `retryable` is true for
 * what may pass (429, 5xx, no answer): retry a purge with the same idempotency key.
 */
export class PurgeApiError extends PurgeError {
  /** The answer's HTTP status; undefined when none came. */
  readonly status: number | undefined;
  readonly body: ApiErrorBody | undefined;

  constructor(code: ErrorCode, message: string, options: PurgeApiErrorOptions = {}) {
    super(code, message, {
      retryable: options.retryable ?? false,
      ...(options.status === undefined ? {} : { httpStatus: options.status }),
      ...(options.retryAfterMs === undefined ? {} : { retryAfterMs: options.retryAfterMs }),
      ...(typeof options.body?.parameter === 'string' ? { parameter: options.body.parameter } : {}),
      ...(options.cause === undefined ? {} : { cause: options.cause }),
    });
    this.name = 'PurgeApiError';
    this.status = options.status;
    this.body = options.body;
  }
}

/** waitFor gave up: the purge goes on, `lastState` is where it stood (undefined if no read answered). */
export class PurgeWaitTimeoutError extends PurgeError {
  readonly purgeId: string;
  readonly timeoutMs: number;
  readonly lastState: PurgeState | undefined;
  readonly lastStatus: PurgeStatus | undefined;

  constructor(purgeId: string, timeoutMs: number, last: PurgeStatus | undefined, cause?: unknown) {
    const where = last ? `still ${last.state}` : 'its status never read';
    super('WAIT_TIMEOUT', `gave up waiting after ${timeoutMs} ms: purge ${purgeId} is ${where}`, {
      ...(cause === undefined ? {} : { cause }),
    });
    this.name = 'PurgeWaitTimeoutError';
    this.purgeId = purgeId;
    this.timeoutMs = timeoutMs;
    this.lastState = last?.state;
    this.lastStatus = last;
  }
}

function isApiErrorBody(value: unknown): value is ApiErrorBody {
  if (typeof value !== 'object' || value === null) return false;
  const { error, message } = value as Record<string, unknown>;
  return typeof error === 'string' && Object.hasOwn(ERROR_CODES, error) && typeof message === 'string';
}

/**
 * Any non-2xx answer. Only a body of the documented shape with a code we know carries that code; anything
 * else (a proxy's HTML page, a redirect) is API_BAD_RESPONSE, its body left out: it is not ours to echo.
 */
export function errorForAnswer(
  where: string,
  status: number,
  headers: Record<string, string | string[] | undefined>,
  body: unknown,
): PurgeApiError {
  const retryable = status === 429 || status >= 500;
  const retryAfterMs = parseRetryAfter(headers['retry-after']);
  const common = { status, retryable, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
  if (!isApiErrorBody(body))
    return new PurgeApiError('API_BAD_RESPONSE', `${where}: HTTP ${status}, not an API error answer`, common);
  return new PurgeApiError(body.error, body.message, { ...common, body });
}

/** A 2xx whose body is not what the API sends there. */
export function badAnswer(where: string, status: number, what: string): PurgeApiError {
  return new PurgeApiError('API_BAD_RESPONSE', `${where}: HTTP ${status}, ${what}`, { status });
}
