import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { VerifyResult } from '../callbacks/signature.ts';

export type HmacAlgorithm = 'sha1' | 'sha256';
export type DigestEncoding = 'hex' | 'base64' | 'base64url';

/** The HMAC of the parts, in order, as one message: the raw body stays bytes, never re-decoded text. */
export function hmacOf(
  algorithm: HmacAlgorithm,
  secret: string,
  parts: ReadonlyArray<string | Buffer>,
  encoding: DigestEncoding,
): string {
  const mac = createHmac(algorithm, secret);
  for (const part of parts) mac.update(part);
  // Node's base64url is unpadded, as Sanity's signatures are.
  return mac.digest(encoding);
}

/**
 * Compares a computed signature with the one presented in constant time for equal lengths (the length of
 * a digest is no secret). Hex is compared without regard to case: both spellings are the same digest.
 */
export function sameSignature(expected: string, presented: string, encoding: DigestEncoding): boolean {
  const a = Buffer.from(encoding === 'hex' ? expected.toLowerCase() : expected);
  const b = Buffer.from(encoding === 'hex' ? presented.toLowerCase() : presented);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A header's one value; a header sent twice (Node joins most with `, `) is read as sent. */
export function headerOf(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** Digits only, of a sane length: `Number()` would also read `1e3`, ` 12` or `0x1f`. */
export function parseDigits(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d{1,16}$/.test(text)) return undefined;
  return Number(text);
}

/** A signed time further than the tolerance from now, either way, is a replay or a clock gone wrong. */
export function checkAge(signedAtMs: number, nowMs: number, toleranceSeconds: number): VerifyResult {
  if (Math.abs(nowMs - signedAtMs) > toleranceSeconds * 1000) {
    return {
      ok: false,
      reason: `signed timestamp is more than ${toleranceSeconds}s away from now (replayed, or clock skew)`,
    };
  }
  return { ok: true };
}

export const OK: VerifyResult = { ok: true };
export const MISMATCH: VerifyResult = { ok: false, reason: 'signature does not match the request' };
