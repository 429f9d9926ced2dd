import { PurgeError } from '../../errors.ts';
import { bodyExcerpt } from '../http.ts';
import { parseRetryAfter } from '../retry-after.ts';
import type { ObservedCall } from './request-handler.ts';

/**
 * What the SDK throws for a CloudFront answer, as one of ours. CloudFront names its errors in the XML
 * `Code` (the SDK's `name`): they are classified by name first, since Throttling and
 * TooManyInvalidationsInProgress are HTTP 400 like a malformed request, and by HTTP status only after.
 */
export interface ErrorContext {
  /** `CreateInvalidation`, `GetInvalidation I2J0I21PCUYOIK`, ...: the message's prefix. */
  what: string;
  busyRetryAfterMs: number;
  throttleRetryAfterMs: number;
  observed: ObservedCall;
}

const THROTTLING = new Set([
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'SlowDown',
]);
const AUTH = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'MissingAuthenticationToken',
  'ExpiredToken',
  'RequestExpired',
  'UnrecognizedClientException',
]);
/** Fixed only by changing the request or the configuration: resending it as is fails the same way. */
const REFUSED = new Set([
  'BatchTooLarge',
  'InconsistentQuantities',
  'InvalidArgument',
  'MissingBody',
  'InvalidationBatchAlreadyExists',
  'IllegalUpdate',
]);
const UNAVAILABLE = new Set([
  'ServiceUnavailable',
  'InternalError',
  'InternalFailure',
  'InternalServerError',
]);

interface SdkError {
  name?: unknown;
  message?: unknown;
  $fault?: unknown;
  $metadata?: { httpStatusCode?: unknown; requestId?: unknown };
}

export function toPurgeError(error: unknown, context: ErrorContext): PurgeError {
  if (error instanceof PurgeError) return error;
  const sdk = (error ?? {}) as SdkError;
  const name = typeof sdk.name === 'string' ? sdk.name : 'Error';
  const rawStatus = sdk.$metadata?.httpStatusCode ?? context.observed.response?.status;
  const status = typeof rawStatus === 'number' ? rawStatus : undefined;
  const requestId = typeof sdk.$metadata?.requestId === 'string' ? sdk.$metadata.requestId : undefined;
  const body = context.observed.response?.body ?? '';
  // Not CloudFront's ErrorResponse (a proxy's HTML page, a bare 503): the SDK's name and message then only
  // say it could not parse it, so the body's own words are the reason.
  const foreign = status !== undefined && status >= 300 && !body.includes('<ErrorResponse');
  const reason = foreign
    ? bodyExcerpt(body, 120)
    : oneLine(typeof sdk.message === 'string' ? sdk.message : String(error));
  const label = foreign ? '' : `${name}${status === undefined ? '' : ' '}`;
  const detail =
    `CloudFront ${context.what}: ${label}${status === undefined ? '' : `(HTTP ${status})`}` +
    `${reason && reason !== name ? ` — ${reason}` : ''}${requestId ? ` [request ${requestId}]` : ''}`;
  const withStatus = status === undefined ? {} : { httpStatus: status };
  const retryAfterMs = parseRetryAfter(context.observed.response?.headers['retry-after']);
  const base = { ...withStatus, cause: error };

  if (name === 'TooManyInvalidationsInProgress') {
    // Transient in substance: the budget frees as earlier invalidations complete, in minutes, not seconds.
    return new PurgeError('CDN_BUSY', detail, {
      ...base,
      retryable: true,
      retryAfterMs: retryAfterMs ?? context.busyRetryAfterMs,
    });
  }
  if (THROTTLING.has(name) || status === 429) {
    return new PurgeError('CDN_RATE_LIMITED', detail, {
      ...base,
      retryable: true,
      retryAfterMs: retryAfterMs ?? context.throttleRetryAfterMs,
    });
  }
  if (AUTH.has(name)) return new PurgeError('CDN_AUTH', detail, base);
  if (name === 'NoSuchInvalidation') return new PurgeError('CDN_NOT_FOUND', detail, base);
  if (name === 'NoSuchDistribution') {
    // Not CDN_NOT_FOUND: that one a poll takes for "not visible yet" within a grace; this is the config.
    return new PurgeError('CDN_REJECTED', `${detail} (check distributionId)`, base);
  }
  if (REFUSED.has(name)) return new PurgeError('CDN_REJECTED', detail, base);
  const transient = { ...base, retryable: true, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
  if (UNAVAILABLE.has(name)) return new PurgeError('CDN_UNAVAILABLE', detail, transient);
  if (status !== undefined) return byStatus(status, detail, base, transient);
  // No answer status at all: the SDK failed before or after the wire (a body it could not parse).
  return new PurgeError('CDN_BAD_RESPONSE', detail, { ...base, retryable: false });
}

function byStatus(
  status: number,
  detail: string,
  base: { httpStatus?: number; cause: unknown },
  transient: { retryable: boolean; retryAfterMs?: number; httpStatus?: number; cause: unknown },
): PurgeError {
  if (status === 408 || status >= 500) return new PurgeError('CDN_UNAVAILABLE', detail, transient);
  if (status === 401 || status === 403) return new PurgeError('CDN_AUTH', detail, base);
  if (status === 404) return new PurgeError('CDN_NOT_FOUND', detail, base);
  if (status >= 200 && status < 300) {
    // A 2xx the SDK could not read reads the same on every try: permanent, like readAnswer's.
    return new PurgeError('CDN_BAD_RESPONSE', detail, { ...base, retryable: false });
  }
  return new PurgeError('CDN_REJECTED', detail, base);
}

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 300 ? `${flat.slice(0, 300)}…` : flat;
}
