import { AsyncLocalStorage } from 'node:async_hooks';
import { buildQueryString, type HttpHandler, type HttpRequest, HttpResponse } from '@smithy/core/protocols';
import { PurgeError } from '../../errors.ts';
import type { HttpClient, HttpResponse as RawResponse } from '../http.ts';

/**
 * The SDK's transport, replaced: every request the CloudFront client makes goes through the project's
 * HttpClient (its address guard, timeouts and body cap), never through the SDK's own node:http handler.
 * The SDK still builds, signs and parses; this only carries bytes.
 */
export interface ObservedCall {
  /** The last raw answer of the call (headers the SDK's exceptions do not keep, such as Retry-After). */
  response?: RawResponse;
}

/** What each provider call observes of its own requests, so concurrent calls never see each other's. */
export const observedCalls = new AsyncLocalStorage<ObservedCall>();

export function httpClientHandler(http: HttpClient): HttpHandler {
  return {
    async handle(request: HttpRequest, options?: { abortSignal?: unknown }) {
      const method = request.method.toUpperCase();
      if (method !== 'GET' && method !== 'POST') {
        throw new PurgeError('INTERNAL', `CloudFront: the SDK asked for ${method}, which no call here uses`);
      }
      const signal = options?.abortSignal instanceof AbortSignal ? options.abortSignal : undefined;
      const body = bodyText(request.body);
      const response = await http.send({
        method,
        url: urlOf(request),
        headers: { ...request.headers },
        ...(body === undefined ? {} : { body }),
        ...(signal ? { signal } : {}),
      });
      const observed = observedCalls.getStore();
      if (observed) observed.response = response;
      return {
        response: new HttpResponse({
          statusCode: response.status,
          headers: flatHeaders(response.headers),
          // A fresh Uint8Array: the SDK reads it as is (no stream to collect) and may re-type it in place.
          body: new TextEncoder().encode(response.body),
        }),
      };
    },
    updateHttpClientConfig() {},
    httpHandlerConfigs() {
      return {};
    },
  };
}

function urlOf(request: HttpRequest): string {
  const host = request.hostname.includes(':') ? `[${request.hostname}]` : request.hostname;
  const port = request.port === undefined ? '' : `:${request.port}`;
  const query = buildQueryString(request.query ?? {});
  return `${request.protocol}//${host}${port}${request.path}${query ? `?${query}` : ''}`;
}

/** CloudFront's requests carry XML text or nothing; a stream would mean a call this provider never makes. */
function bodyText(body: unknown): string | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return new TextDecoder().decode(body);
  throw new PurgeError('INTERNAL', 'CloudFront: the SDK built a streamed request body, which is not sent');
}

function flatHeaders(headers: RawResponse['headers']): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    flat[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}
