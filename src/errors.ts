/**
 * The project's one error vocabulary. Every failure that crosses a module boundary is a PurgeError with a
 * stable code, so callers branch on `code`/`retryable` instead of parsing messages, and README can list them.
 */
export const ERROR_CODES = {
  CONFIG_INVALID: 'the configuration file is missing, unreadable or fails validation',
  REQUEST_INVALID:
    'a purge request is malformed (no targets, bad URL, bad regex, unknown CDN, unrouted host)',
  CALLBACK_URL_FORBIDDEN:
    'a callbackUrl host is, or resolves to, an address that is not public (loopback, private, link-local, unique-local, unspecified, multicast, …) and callbacks.allowHosts does not allow it',
  CALLBACK_CHECK_BUSY:
    'a callbackUrl host name could not be checked now: the most host lookups allowed at once (callbacks.maxIngestLookups) are already running; nothing was enqueued, retry later',
  KIND_UNSUPPORTED: 'a CDN does not support the requested purge kind (urls, dirs, pattern, all, tags)',
  IDEMPOTENCY_KEY_REUSED:
    'the idempotency key was already used, by the same client, for a different request; nothing was written',
  QUOTA_EXCEEDED: "the purge would exceed a CDN account's daily quota; nothing was enqueued",
  BACKLOG_FULL:
    "a bulk purge while that CDN's backlog of bulk targets is full (cdns[].maxBulkBacklog); nothing was enqueued, retry after Retry-After (urgent and normal purges are never refused so)",
  UNAUTHORIZED: 'missing or wrong bearer token',
  SIGNATURE_INVALID: 'a webhook signature is missing, stale or does not match the body',
  TEMPLATE_FIELD_MISSING:
    "a webhook source's URL template names a field the event does not have (or has empty, or not as a string or number); nothing was enqueued",
  DASHBOARD_ACTION_FORBIDDEN:
    'the dashboard does not allow this action (read-only, or a change that would leave a purge unfinished)',
  NOT_FOUND: 'no such purge (unknown id, or its status has expired)',
  NOTHING_TO_REPLAY:
    "a replay without all found nothing to send again: none of the purge's CDN calls failed or timed out (yet); nothing was enqueued",
  INVALID_JSON: 'the request body is not valid JSON',
  PAYLOAD_TOO_LARGE: 'the request body or its URL list is over the configured limit',
  UNSUPPORTED_MEDIA_TYPE: 'the request body is not application/json',
  REDIS_UNAVAILABLE: 'Redis did not answer; nothing was enqueued, retry later',
  NOT_REPLICATED:
    'the purge is accepted on the Redis primary, but fewer replicas than redis.waitReplicas asks acknowledged it in time; retry with the same idempotency key, which maps to this purge and enqueues nothing twice',
  INTERNAL: 'an unexpected error; see the service log',
  API_UNREACHABLE:
    'HTTP client (purge-worker/client): the purge-worker API could not be reached, or did not answer within the client timeout; a purge sent may or may not be accepted: retry with the same idempotency key',
  API_BAD_RESPONSE:
    'HTTP client (purge-worker/client): the API answered something it never sends (not JSON, over the size cap, an unknown error code, a redirect)',
  WAIT_TIMEOUT:
    'HTTP client (purge-worker/client): waiting for a purge to end gave up after its timeout; the purge goes on (no worker running is the usual cause)',
  CDN_NETWORK: 'the CDN could not be reached (connection refused or reset, DNS) — transient',
  CDN_TIMEOUT: 'the CDN did not answer within the configured timeouts — transient',
  CDN_RATE_LIMITED: 'the CDN answered 429 — transient, honours Retry-After',
  CDN_BUSY:
    "the CDN already has as much in progress as it allows (CloudFront's TooManyInvalidationsInProgress) — transient: the batch waits for earlier ones to finish, without counting an attempt",
  CDN_UNAVAILABLE: 'the CDN answered 408 or 5xx — transient',
  CDN_BAD_RESPONSE:
    'the CDN answered 2xx with a body that could not be read (truncated, not the documented format) — transient; a body the parser refuses (deep nesting, a `__proto__` tag) or an accepted purge without an id — permanent',
  CDN_REJECTED: 'the CDN refused the request (4xx other than 408/429); its body is the reason — permanent',
  CDN_AUTH: 'the CDN refused the credentials (401/403) — permanent',
  CALLBACK_DELIVERY_FAILED:
    'a completion callback receiver could not be reached, timed out, or answered other than 2xx (a redirect too: none is followed; only the status is kept) — retried',
  CDN_NOT_FOUND:
    'the CDN does not know the task or resource (404) — permanent, except within policy.poll.notFoundGraceMs of the submit',
  BATCH_ABANDONED:
    "the batch's job ended, failed or vanished without ending the batch (a crash at the wrong moment); the reconciler ended it failed",
  CDN_TASK_FAILED: 'the CDN ran the purge and reported it failed; its reason is the message — final',
  DEADLINE_EXCEEDED:
    'the batch did not finish before its deadline (policy.poll.deadlineMs); it ended timed_out',
  STALE_AT_EDGE:
    'the CDN reported the purge done, but edges still served a copy older than it after every re-purge allowed (cdns[].verify.maxRepurges); the batch ended stale, naming the edges and URLs — final',
  REPURGE_FAILED:
    'the second purge cdns[].verify.repeatAfterMs asks for did not succeed; its reason is the message — final',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface PurgeErrorOptions {
  retryable?: boolean;
  retryAfterMs?: number;
  httpStatus?: number;
  /** The request parameter a refusal is about (a query string's `since`), named in the API's answer. */
  parameter?: string;
  cause?: unknown;
}

export class PurgeError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  readonly httpStatus: number | undefined;
  readonly parameter: string | undefined;

  constructor(code: ErrorCode, message: string, options: PurgeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PurgeError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.retryAfterMs = options.retryAfterMs;
    this.httpStatus = options.httpStatus;
    this.parameter = options.parameter;
  }
}

export function isPurgeError(error: unknown): error is PurgeError {
  return error instanceof PurgeError;
}

/** Anything that is not one of ours (a bug, a Redis hiccup) is treated as transient: retrying is the safe default. */
export function isRetryable(error: unknown): boolean {
  return isPurgeError(error) ? error.retryable : true;
}

/** The stable code to store and log beside an error's message; a stranger to our vocabulary is INTERNAL. */
export function errorCodeOf(error: unknown): ErrorCode {
  return isPurgeError(error) ? error.code : 'INTERNAL';
}

export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
