import { Agent, request, errors as undiciErrors } from 'undici';
import { PurgeError } from '../errors.ts';
import { parseRetryAfter } from './retry-after.ts';

export interface HttpRequest {
  /** PURGE and BAN: Varnish's purge VCL answers those methods. */
  method: 'GET' | 'POST' | 'PURGE' | 'BAN';
  url: string;
  headers: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** The one HTTP client providers share: explicit timeouts, a body size cap, and no retries of its own. */
export interface HttpClient {
  send(req: HttpRequest): Promise<HttpResponse>;
  close(): Promise<void>;
}

/** The timeouts and size cap of one client (config's `policy.http` has this shape). */
export interface HttpClientOptions {
  connectTimeoutMs: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  totalTimeoutMs: number;
  maxResponseBytes: number;
}

export function createHttpClient(policy: HttpClientOptions): HttpClient {
  const agent = new Agent({
    connect: { timeout: policy.connectTimeoutMs },
    headersTimeout: policy.headersTimeoutMs,
    bodyTimeout: policy.bodyTimeoutMs,
  });
  return {
    async send(req) {
      const signal = req.signal
        ? AbortSignal.any([req.signal, AbortSignal.timeout(policy.totalTimeoutMs)])
        : AbortSignal.timeout(policy.totalTimeoutMs);
      try {
        const response = await request(req.url, {
          method: req.method,
          headers: req.headers,
          body: req.body ?? null,
          signal,
          dispatcher: agent,
        });
        const body = await readCapped(response.body, policy.maxResponseBytes);
        return { status: response.statusCode, headers: response.headers, body };
      } catch (error) {
        throw toTransportError(error, req);
      }
    },
    async close() {
      await agent.close();
    },
  };
}

async function readCapped(
  body: AsyncIterable<Buffer> & { destroy(): void },
  maxBytes: number,
): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += chunk.length;
    if (total > maxBytes) {
      body.destroy();
      throw new PurgeError('CDN_BAD_RESPONSE', `response body exceeds ${maxBytes} bytes`, {
        retryable: true,
      });
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** Maps whatever undici or the network threw onto our vocabulary; every transport failure is transient. */
export function toTransportError(error: unknown, req: Pick<HttpRequest, 'method' | 'url'>): PurgeError {
  if (error instanceof PurgeError) return error;
  const where = `${req.method} ${new URL(req.url).pathname}`;
  const code = (error as { code?: string }).code;
  const name = (error as { name?: string }).name;
  if ((code !== undefined && TIMEOUT_CODES.has(code)) || name === 'TimeoutError' || name === 'AbortError') {
    return new PurgeError('CDN_TIMEOUT', `${where}: timed out (${code ?? name})`, {
      retryable: true,
      cause: error,
    });
  }
  if (error instanceof undiciErrors.ResponseContentLengthMismatchError) {
    return new PurgeError('CDN_BAD_RESPONSE', `${where}: truncated response body`, {
      retryable: true,
      cause: error,
    });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new PurgeError('CDN_NETWORK', `${where}: ${code ? `${code} ` : ''}${message}`, {
    retryable: true,
    cause: error,
  });
}

/**
 * Classifies a non-2xx answer. 408/429/5xx are transient (Retry-After honoured); 401/403 are credential
 * problems and 404 an unknown resource, both permanent; any other 4xx is a refusal whose body is the reason.
 */
export function errorForStatus(response: HttpResponse, what: string, reason: string): PurgeError {
  const { status } = response;
  const retryAfterMs = parseRetryAfter(response.headers['retry-after']);
  const detail = `${what}: HTTP ${status}${reason ? ` — ${reason}` : ''}`;
  const options = retryAfterMs === undefined ? { httpStatus: status } : { httpStatus: status, retryAfterMs };
  if (status === 429) return new PurgeError('CDN_RATE_LIMITED', detail, { ...options, retryable: true });
  if (status === 408 || status >= 500)
    return new PurgeError('CDN_UNAVAILABLE', detail, { ...options, retryable: true });
  if (status === 401 || status === 403) return new PurgeError('CDN_AUTH', detail, options);
  if (status === 404) return new PurgeError('CDN_NOT_FOUND', detail, options);
  return new PurgeError('CDN_REJECTED', detail, options);
}

/**
 * Reads a CDN's 2xx answer with `read`. What it throws that is not already one of ours (a parser's or a
 * mapping's own exception) comes from the answer itself, which reads the same on every try: a permanent
 * CDN_BAD_RESPONSE, never a plain Error the pipeline would take for a transient one and submit again for.
 */
export function readAnswer<T>(what: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof PurgeError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new PurgeError('CDN_BAD_RESPONSE', `${what}: cannot read the response (${reason})`, {
      retryable: false,
      cause: error,
    });
  }
}

/**
 * How much of a body an excerpt looks at. Only a bounded prefix is ever scanned: a CDN error body may be
 * the whole 1 MiB the client reads, and the excerpt is a couple of hundred characters anyway.
 */
const EXCERPT_SCAN_CHARS = 16 * 1024;

/** A short, single-line excerpt of a body that is not the documented format (HTML from a proxy, say). */
export function bodyExcerpt(body: string, max = 200): string {
  const flat = stripTags(body.slice(0, EXCERPT_SCAN_CHARS)).replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

/**
 * What `replace(/<[^>]*>/g, ' ')` does, in one pass. That regex rescans to the end of the text from every
 * `<` that has no `>` after it, so a body of `<`s cost seconds (quadratic) and stalled every job's lock; here
 * a `<` without a `>` after it ends the stripping, since no later `<` can find one either.
 */
function stripTags(text: string): string {
  let out = '';
  let from = 0;
  for (;;) {
    const open = text.indexOf('<', from);
    if (open === -1) break;
    const close = text.indexOf('>', open + 1);
    if (close === -1) break;
    out += `${text.slice(from, open)} `;
    from = close + 1;
  }
  return out + text.slice(from);
}

export function isSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}
