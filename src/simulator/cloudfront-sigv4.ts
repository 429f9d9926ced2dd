/**
 * AWS Signature Version 4, checked the way the service checks it: the canonical request rebuilt from what
 * arrived on the wire, the string to sign, the signing key derived from the secret, and the signature
 * compared. Written from the documented algorithm with node:crypto only, independently of the SDK's signer,
 * so a mistake in one cannot hide in both.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export interface AwsAccount {
  accessKeyId: string;
  secretAccessKey: string;
  /** Temporary credentials: requests must carry it as x-amz-security-token. */
  sessionToken?: string;
  /** Distributions this identity may act on (IAM, in short); unset: all of them. */
  distributions?: readonly string[];
}

export interface SignedRequest {
  method: string;
  /** The request target as it arrived: path and query, still percent-encoded. */
  target: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface SigV4Expectation {
  service: string;
  region: string;
  now: number;
  /** AWS refuses a request dated further than 15 minutes from its clock. */
  maxSkewMs: number;
}

export type SigV4Result =
  | { ok: true; account: AwsAccount }
  | { ok: false; status: number; code: string; message: string };

const ALGORITHM = 'AWS4-HMAC-SHA256';
const AUTH_HEADER =
  /^AWS4-HMAC-SHA256 Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$/;
const AMZ_DATE = /^(\d{8})T\d{6}Z$/;

const refuse = (code: string, message: string, status = 403): SigV4Result => ({
  ok: false,
  status,
  code,
  message,
});

export function verifySigV4(
  request: SignedRequest,
  accounts: readonly AwsAccount[],
  expected: SigV4Expectation,
): SigV4Result {
  const authorization = single(request.headers.authorization);
  if (authorization === undefined)
    return refuse('MissingAuthenticationToken', 'Missing Authentication Token');
  const parsed = AUTH_HEADER.exec(authorization);
  if (!parsed) {
    return refuse(
      'IncompleteSignature',
      `Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' (${ALGORITHM})`,
    );
  }
  const [, credential = '', signedHeaderList = '', signature = ''] = parsed;
  const scopeParts = credential.split('/');
  if (scopeParts.length !== 5)
    return refuse('IncompleteSignature', 'Credential is not key/date/region/service/aws4_request');
  const [accessKeyId, scopeDate, scopeRegion, scopeService, terminator] = scopeParts as [
    string,
    string,
    string,
    string,
    string,
  ];
  const account = accounts.find((a) => a.accessKeyId === accessKeyId);
  if (!account)
    return refuse('InvalidClientTokenId', 'The security token included in the request is invalid.');
  const token = single(request.headers['x-amz-security-token']);
  if (account.sessionToken !== undefined && token !== account.sessionToken)
    return refuse('InvalidClientTokenId', 'The security token included in the request is invalid.');
  const amzDate = single(request.headers['x-amz-date']);
  const dateMatch = amzDate === undefined ? null : AMZ_DATE.exec(amzDate);
  if (amzDate === undefined || !dateMatch)
    return refuse('IncompleteSignature', 'Missing or malformed X-Amz-Date');
  if (scopeDate !== dateMatch[1] || terminator !== 'aws4_request')
    return refuse('SignatureDoesNotMatch', `Credential should be scoped to a valid date: ${scopeDate}`);
  if (scopeRegion !== expected.region)
    return refuse(
      'SignatureDoesNotMatch',
      `Credential should be scoped to a valid region, not '${scopeRegion}'.`,
    );
  if (scopeService !== expected.service)
    return refuse(
      'SignatureDoesNotMatch',
      `Credential should be scoped to correct service: '${expected.service}'.`,
    );
  const signedAt = Date.parse(
    `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
  );
  if (Number.isNaN(signedAt) || Math.abs(signedAt - expected.now) > expected.maxSkewMs)
    return refuse(
      'SignatureDoesNotMatch',
      `Signature expired: ${amzDate} is too far from the server's time.`,
    );
  const signedHeaders = signedHeaderList.split(';');
  if (!signedHeaders.includes('host'))
    return refuse('SignatureDoesNotMatch', "'Host' must be a signed header");
  const canonical = canonicalRequest(request, signedHeaders);
  if (canonical === undefined)
    return refuse('SignatureDoesNotMatch', 'A signed header is missing from the request');
  const scope = `${scopeDate}/${scopeRegion}/${scopeService}/aws4_request`;
  const stringToSign = [ALGORITHM, amzDate, scope, sha256Hex(canonical)].join('\n');
  const key = signingKey(account.secretAccessKey, scopeDate, scopeRegion, scopeService);
  const computed = createHmac('sha256', key).update(stringToSign).digest();
  if (!timingSafeEqual(computed, Buffer.from(signature, 'hex'))) {
    return refuse(
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
    );
  }
  return { ok: true, account };
}

/** The documented canonical request; undefined when a header it signs did not arrive. */
export function canonicalRequest(
  request: SignedRequest,
  signedHeaders: readonly string[],
): string | undefined {
  const queryAt = request.target.indexOf('?');
  const path = queryAt < 0 ? request.target : request.target.slice(0, queryAt);
  const query = queryAt < 0 ? '' : request.target.slice(queryAt + 1);
  const lines: string[] = [];
  for (const name of signedHeaders) {
    const value = request.headers[name];
    if (value === undefined) return undefined;
    const text = Array.isArray(value) ? value.join(',') : value;
    lines.push(`${name}:${text.trim().replace(/ +/g, ' ')}\n`);
  }
  return [
    request.method.toUpperCase(),
    canonicalUri(path),
    canonicalQuery(query),
    lines.join(''),
    signedHeaders.join(';'),
    sha256Hex(request.body),
  ].join('\n');
}

/** Every service but S3 encodes each path segment twice: once on the wire (as it arrived), once here. */
function canonicalUri(path: string): string {
  if (path === '') return '/';
  return path
    .split('/')
    .map((segment) => uriEncode(segment))
    .join('/');
}

/** Parameters decoded, then each name and value encoded (RFC 3986 unreserved kept), sorted by name. */
function canonicalQuery(query: string): string {
  if (query === '') return '';
  return query
    .split('&')
    .filter((pair) => pair !== '')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq < 0 ? pair : pair.slice(0, eq);
      const value = eq < 0 ? '' : pair.slice(eq + 1);
      return [uriEncode(safeDecode(name)), uriEncode(safeDecode(value))] as const;
    })
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
}

function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const kDate = createHmac('sha256', `AWS4${secret}`).update(date).digest();
  const kRegion = createHmac('sha256', kDate).update(region).digest();
  const kService = createHmac('sha256', kRegion).update(service).digest();
  return createHmac('sha256', kService).update('aws4_request').digest();
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

function single(value: string | string[] | undefined): string | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined || first === '' ? undefined : first;
}
