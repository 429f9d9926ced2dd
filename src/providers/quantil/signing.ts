import { createHmac } from 'node:crypto';

/**
 * QUANTIL authenticates each request by an HMAC of its Date header, so the exact string that is signed must
 * be the one sent: both come from `authHeaders`, built once per request.
 */

/** RFC 1123 in GMT (`Thu, 07 Aug 2014 18:46:21 GMT`), the form the doc's samples use. */
export function rfc1123Date(date: Date): string {
  return date.toUTCString();
}

/** base64(HMAC-SHA1(key = apiKey, data = Date header value)): the Basic-auth password. */
export function signDate(apiKey: string, dateString: string): string {
  return createHmac('sha1', apiKey).update(dateString, 'utf8').digest('base64');
}

export interface AuthHeaders {
  date: string;
  authorization: string;
}

export function authHeaders(user: string, apiKey: string, now: Date): AuthHeaders {
  const date = rfc1123Date(now);
  const credentials = Buffer.from(`${user}:${signDate(apiKey, date)}`, 'utf8').toString('base64');
  return { date, authorization: `Basic ${credentials}` };
}
