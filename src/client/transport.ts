import { PurgeError } from '../errors.ts';
import { createHttpClient, type HttpResponse } from '../providers/http.ts';
import { badAnswer, errorForAnswer, PurgeApiError } from './errors.ts';
import type { PurgeClientOptions } from './types.ts';

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

export interface ApiCall {
  method: 'GET' | 'POST';
  /** The path and query, e.g. `/v1/purges?limit=5`. */
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal | undefined;
}

export interface ApiAnswer {
  status: number;
  body: unknown;
}

export interface ApiTransport {
  /** A 2xx answer's status and JSON body; anything else rejects with a PurgeApiError. */
  call(call: ApiCall): Promise<ApiAnswer>;
  close(): Promise<void>;
}

/**
 * JSON over the providers' HTTP client (bounded timeouts and answer size, no redirects followed, so the
 * token never goes anywhere but `baseUrl`). The token lives in this closure only: no option, property or
 * error message carries it.
 */
export function createApiTransport(options: PurgeClientOptions): ApiTransport {
  const base = baseUrlOf(options.baseUrl);
  const { token } = options;
  if (typeof token !== 'string' || token === '' || /[^\x21-\x7e]/.test(token))
    throw new TypeError('token must be a non-empty string of visible ASCII characters');
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const http = createHttpClient({
    connectTimeoutMs: timeoutMs,
    headersTimeoutMs: timeoutMs,
    bodyTimeoutMs: timeoutMs,
    totalTimeoutMs: timeoutMs,
    maxResponseBytes: options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
  });

  return {
    async call({ method, path, body, headers = {}, signal }) {
      const where = `${method} ${path.split('?')[0]}`;
      let response: HttpResponse;
      try {
        response = await http.send({
          method,
          url: `${base}${path}`,
          headers: {
            accept: 'application/json',
            authorization: `Bearer ${token}`,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
            ...headers,
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          ...(signal ? { signal } : {}),
        });
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        throw transportFailure(where, error);
      }
      const parsed = parseJson(response.body);
      if (response.status < 200 || response.status > 299)
        throw errorForAnswer(where, response.status, response.headers, parsed);
      if (parsed === undefined) throw badAnswer(where, response.status, 'the body is not JSON');
      return { status: response.status, body: parsed };
    },
    close: () => http.close(),
  };
}

function baseUrlOf(value: string | URL): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TypeError('baseUrl must be an absolute http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new TypeError('baseUrl must be an absolute http(s) URL');
  if (url.username || url.password) throw new TypeError('baseUrl must not carry credentials: pass token');
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** No answer to read: the API unreachable or too slow (transient), or one cut short or over the size cap. */
function transportFailure(where: string, error: unknown): PurgeApiError {
  const reason = error instanceof Error ? error.message : String(error);
  if (error instanceof PurgeError && error.code === 'CDN_BAD_RESPONSE')
    return new PurgeApiError('API_BAD_RESPONSE', `${where}: answer unreadable (${reason})`, {
      retryable: error.retryable,
      cause: error,
    });
  return new PurgeApiError('API_UNREACHABLE', `purge-worker API ${reason}`, {
    retryable: true,
    cause: error,
  });
}
