import { createHash, createHmac, randomUUID } from 'node:crypto';

/**
 * Akamai EdgeGrid request signing (EG1-HMAC-SHA256), as Akamai documents it and its Node SDK
 * (`akamai-edgegrid`) computes it. Our own ~40 lines instead of that package: it sends through axios (and adds
 * interceptors to the global axios instance on every construction), while our requests must go through the
 * shared HTTP client that carries the address guard; it prefixes `https://` to any host, so it cannot sign for
 * a plain-HTTP loopback simulator; and at log level info it logs the signing key. Tested against the SDK's own
 * vectors (test/providers/akamai-edgegrid.test.ts).
 */

export interface EdgeGridCredentials {
  clientToken: string;
  clientSecret: string;
  accessToken: string;
}

export interface SignableRequest {
  method: string;
  /** `https` for Akamai itself; whatever the simulator is reached by in tests. */
  scheme: string;
  /** Host as sent in the Host header: with `:port` when there is one. */
  host: string;
  /** Path and query, exactly as requested. */
  pathAndQuery: string;
  /** The exact bytes sent; only POST bodies are hashed. */
  body?: string;
  /** Headers the API asks to sign, in its order, as [name, value]; Fast Purge signs none. */
  signedHeaders?: ReadonlyArray<readonly [string, string]>;
}

export interface SigningOptions {
  /** UTC `yyyyMMddTHH:mm:ss+0000`. */
  timestamp?: string;
  nonce?: string;
  /** `.edgerc` max-body: only this many body bytes are hashed (the SDK's default). */
  maxBodyBytes?: number;
}

export const DEFAULT_MAX_BODY_BYTES = 131_072;

/** `20140321T19:34:21+0000`: ISO 8601 without separators in the date, seconds precision, fixed +0000. */
export function edgeGridTimestamp(date: Date): string {
  const iso = date.toISOString(); // 2014-03-21T19:34:21.000Z
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 19)}+0000`;
}

function hmacBase64(key: string, data: string): string {
  return createHmac('sha256', key).update(data, 'utf8').digest('base64');
}

/** base64(SHA-256(first maxBodyBytes of the body)) for a non-empty POST body, else empty. */
export function contentHash(method: string, body: string | undefined, maxBodyBytes: number): string {
  if (method.toUpperCase() !== 'POST' || body === undefined || body === '') return '';
  const bytes = Buffer.from(body, 'utf8');
  return createHash('sha256')
    .update(bytes.subarray(0, Math.min(bytes.length, maxBodyBytes)))
    .digest('base64');
}

function canonicalHeaders(headers: SignableRequest['signedHeaders']): string {
  return (headers ?? [])
    .map(([name, value]) => `${name.toLowerCase()}:${value.trim().replace(/\s+/g, ' ')}`)
    .join('\t');
}

/** The value of the Authorization header for one request. Sign immediately before sending: it is dated. */
export function signEdgeGrid(
  request: SignableRequest,
  credentials: EdgeGridCredentials,
  options: SigningOptions = {},
): string {
  const timestamp = options.timestamp ?? edgeGridTimestamp(new Date());
  const nonce = options.nonce ?? randomUUID();
  const authHeader =
    `EG1-HMAC-SHA256 client_token=${credentials.clientToken};access_token=${credentials.accessToken};` +
    `timestamp=${timestamp};nonce=${nonce};`;
  const dataToSign = [
    request.method.toUpperCase(),
    request.scheme,
    request.host,
    request.pathAndQuery,
    canonicalHeaders(request.signedHeaders),
    contentHash(request.method, request.body, options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES),
    authHeader,
  ].join('\t');
  // The signing key is the base64 *string* of the first HMAC, used as the key of the second.
  const signingKey = hmacBase64(credentials.clientSecret, timestamp);
  return `${authHeader}signature=${hmacBase64(signingKey, dataToSign)}`;
}
