import { type Dispatcher, request } from 'undici';
import { isPurgeError, PurgeError } from '../errors.ts';
import type { PurgeStatus } from '../model/status.ts';
import { isSuccess } from '../providers/http.ts';
import { SIGNATURE_HEADER, sign, TIMESTAMP_HEADER } from './signature.ts';

export interface DeliverOptions {
  secret: string | undefined;
  timeoutMs: number;
  nowSeconds: number;
  /** The guarded dispatcher (src/net/guarded-dispatcher.ts): it alone decides where a socket may go. */
  dispatcher: Dispatcher;
}

/** Most of an answer's body read (and dropped) so its connection can be reused; past it, the socket closes. */
const DRAIN_LIMIT_BYTES = 64 * 1024;

/**
 * POSTs a finished purge's status to its callback URL, signed. Resolves with the receiver's 2xx status;
 * throws CALLBACK_URL_FORBIDDEN when the guard refuses the address, CALLBACK_DELIVERY_FAILED (to be
 * retried) for anything else. Only the status of an answer is kept: the caller chose the URL, so its body
 * may be an internal service's response, and none of it may reach logs, job data or errors.
 */
export async function deliverCallback(status: PurgeStatus, options: DeliverOptions): Promise<number> {
  if (!status.callbackUrl) throw new PurgeError('REQUEST_INVALID', `purge ${status.id} has no callback URL`);
  const { callbackUrl, ...payload } = status;
  const body = JSON.stringify(payload);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'purge-worker',
  };
  if (options.secret) {
    headers[TIMESTAMP_HEADER] = String(options.nowSeconds);
    headers[SIGNATURE_HEADER] = sign(options.secret, options.nowSeconds, body);
  }
  let statusCode: number;
  try {
    const response = await request(callbackUrl, {
      method: 'POST',
      headers,
      body,
      dispatcher: options.dispatcher,
      signal: AbortSignal.timeout(options.timeoutMs),
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
    });
    statusCode = response.statusCode;
    await response.body.dump({ limit: DRAIN_LIMIT_BYTES }).catch(() => {});
  } catch (error) {
    throw deliveryError(error, options.timeoutMs);
  }
  if (!isSuccess(statusCode)) {
    const redirect = statusCode >= 300 && statusCode < 400 ? ' (redirects are not followed)' : '';
    throw new PurgeError(
      'CALLBACK_DELIVERY_FAILED',
      `callback receiver answered HTTP ${statusCode}${redirect}`,
      {
        retryable: true,
        httpStatus: statusCode,
      },
    );
  }
  return statusCode;
}

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** A transport failure, named by its code alone (no message of a library that may quote the peer). */
function deliveryError(error: unknown, timeoutMs: number): PurgeError {
  if (isPurgeError(error) && error.code === 'CALLBACK_URL_FORBIDDEN') return error;
  if (isPurgeError(error)) {
    // The guard's lookup at connect time: a name that stopped resolving may resolve again later.
    return new PurgeError('CALLBACK_DELIVERY_FAILED', error.message, { retryable: true });
  }
  const code = (error as { code?: string }).code;
  const name = (error as { name?: string }).name;
  if ((code !== undefined && TIMEOUT_CODES.has(code)) || name === 'TimeoutError' || name === 'AbortError') {
    return new PurgeError(
      'CALLBACK_DELIVERY_FAILED',
      `callback receiver did not answer within ${timeoutMs} ms`,
      {
        retryable: true,
      },
    );
  }
  return new PurgeError(
    'CALLBACK_DELIVERY_FAILED',
    `callback receiver unreachable (${code ?? name ?? 'error'})`,
    {
      retryable: true,
    },
  );
}
