import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * One HMAC scheme for both directions: the CMS signs its publish webhooks to us, we sign completion
 * callbacks to callers. Signed text is `<unix seconds>.<raw body>`, so a captured request cannot be
 * replayed with another timestamp, and the timestamp bounds replays of the same one.
 */
export const SIGNATURE_HEADER = 'x-purge-signature';
export const TIMESTAMP_HEADER = 'x-purge-timestamp';

/** `timestamp` as it is sent: a verifier signs the header's own text, never a number re-spelled from it. */
export function sign(secret: string, timestamp: number | string, rawBody: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest('hex')}`;
}

export type VerifyResult = { ok: true } | { ok: false; reason: string };

export function verify(
  secret: string,
  headers: { timestamp: string | undefined; signature: string | undefined },
  rawBody: string,
  nowSeconds: number,
  toleranceSeconds: number,
): VerifyResult {
  if (!headers.timestamp || !/^\d{1,12}$/.test(headers.timestamp)) {
    return { ok: false, reason: `missing or malformed ${TIMESTAMP_HEADER} header (unix seconds)` };
  }
  if (!headers.signature) return { ok: false, reason: `missing ${SIGNATURE_HEADER} header` };
  const timestamp = Number(headers.timestamp);
  if (Math.abs(nowSeconds - timestamp) > toleranceSeconds) {
    return {
      ok: false,
      reason: `timestamp is more than ${toleranceSeconds}s away from now (replayed or clock skew)`,
    };
  }
  // Over the text as sent: `0123` is 123 seconds, but the sender signed `0123.`, not `123.`.
  const expected = Buffer.from(sign(secret, headers.timestamp, rawBody));
  const given = Buffer.from(headers.signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    return { ok: false, reason: 'signature does not match the body' };
  }
  return { ok: true };
}

/** Compares a presented secret with every accepted one in constant time (hashing evens out lengths). */
export function matchesAny(presented: string, accepted: readonly string[]): boolean {
  return indexOfMatch(presented, accepted) >= 0;
}

/**
 * Which accepted secret was presented (-1 for none). Every candidate is compared, whatever matched, so the
 * time taken tells nothing about which one (or whether any) did.
 */
export function indexOfMatch(presented: string, accepted: readonly string[]): number {
  const digest = (value: string) => createHmac('sha256', 'purge-worker-token').update(value).digest();
  const given = digest(presented);
  let found = -1;
  accepted.forEach((candidate, index) => {
    if (timingSafeEqual(given, digest(candidate)) && found < 0) found = index;
  });
  return found;
}
