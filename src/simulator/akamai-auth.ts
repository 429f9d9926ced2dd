/**
 * The simulator's EdgeGrid check, written apart from the provider's signer (src/providers/akamai/edgegrid.ts)
 * so a mistake in one is not mirrored by the other: it parses the Authorization header as Akamai's gateway
 * does, and recomputes the signature from what it received (its own scheme, the Host header, the request
 * target, the body bytes up to max-body). The refusal details imitate the gateway's (inferred wording).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export interface EdgeGridClient {
  clientToken: string;
  clientSecret: string;
  accessToken: string;
}

export interface ReceivedRequest {
  method: string;
  scheme: 'http' | 'https';
  host: string;
  /** Path and query as received (`req.url`). */
  target: string;
  authorization: string | undefined;
  body: Buffer;
}

export type AuthCheck = { ok: true; client: EdgeGridClient; nonce: string } | { ok: false; detail: string };

const SCHEME = 'EG1-HMAC-SHA256 ';
/** The fields, in the one order the scheme defines; each value free of `;` and spaces. */
const HEADER =
  /^EG1-HMAC-SHA256 client_token=([^;\s]{1,256});access_token=([^;\s]{1,256});timestamp=(\d{8}T\d{2}:\d{2}:\d{2}\+0000);nonce=([^;\s]{1,256});signature=([A-Za-z0-9+/]{43}=)$/;

function parseTimestamp(text: string): number {
  const iso = `${text.slice(0, 4)}-${text.slice(4, 6)}-${text.slice(6, 8)}T${text.slice(9, 17)}Z`;
  return Date.parse(iso);
}

function sha256Base64(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('base64');
}

function hmac(key: string, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

export interface VerifyOptions {
  clients: readonly EdgeGridClient[];
  now: number;
  maxSkewMs: number;
  maxBodyBytes: number;
  /** Whether a nonce was already used (replay); the caller remembers nonces of accepted requests. */
  seen(nonce: string): boolean;
}

/** Pure: says whether the request is signed right; remembering its nonce is the caller's (on commit). */
export function verifyEdgeGrid(request: ReceivedRequest, options: VerifyOptions): AuthCheck {
  const header = request.authorization;
  if (header === undefined || !header.startsWith(SCHEME)) {
    return { ok: false, detail: 'Invalid authorization header' };
  }
  const match = HEADER.exec(header);
  if (!match) return { ok: false, detail: 'Invalid authorization header' };
  const [, clientToken, accessToken, timestamp, nonce, signature] = match as unknown as string[];
  const client = options.clients.find((c) => c.clientToken === clientToken);
  if (!client) return { ok: false, detail: 'Invalid authorization client token' };
  if (client.accessToken !== accessToken) return { ok: false, detail: 'Invalid authorization access token' };
  const at = parseTimestamp(timestamp as string);
  if (Number.isNaN(at) || Math.abs(options.now - at) > options.maxSkewMs) {
    return { ok: false, detail: 'Invalid timestamp' };
  }
  const signedPart = header.slice(0, header.indexOf('signature='));
  const hashed =
    request.method === 'POST' && request.body.length > 0
      ? sha256Base64(request.body.subarray(0, options.maxBodyBytes))
      : '';
  // Fast Purge asks for no headers to be signed: the canonical headers field is empty.
  const data = [request.method, request.scheme, request.host, request.target, '', hashed, signedPart].join(
    '\t',
  );
  const key = hmac(client.clientSecret, timestamp as string).toString('base64');
  const expected = hmac(key, data);
  const given = Buffer.from(signature as string, 'base64');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, detail: 'The signature does not match' };
  }
  if (options.seen(nonce as string)) return { ok: false, detail: 'Invalid authorization nonce (replayed)' };
  return { ok: true, client, nonce: nonce as string };
}
