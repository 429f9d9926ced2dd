import type { SourceConfigOf } from '../../config/sources.ts';
import { checkAge, headerOf, hmacOf, MISMATCH, sameSignature } from '../hmac.ts';
import { type SourceScheme, textAt } from '../source.ts';

/**
 * Sanity's GROQ-powered webhooks (https://www.sanity.io/docs/webhooks), signed as the official
 * @sanity/webhook toolkit checks them: `sanity-webhook-signature: t=<unix ms>,v1=<signature>`, the signature
 * an HMAC-SHA256 of `<t>.<raw body>`, base64url without padding. The toolkit itself bounds no age; we refuse
 * a `t` further than `toleranceSeconds` from now. The event id is the `idempotency-key` header Sanity sends
 * with each delivery, its name `sanity-operation` (`create`, `update`, `delete`), its content type the
 * body's `_type` (the whole document is the body when the webhook has no projection).
 */
const SIGNATURE = 'sanity-webhook-signature';
// @sanity/webhook's MINIMUM_TIMESTAMP: anything earlier is not a millisecond timestamp.
const EARLIEST_TIMESTAMP_MS = 1_609_459_200_000;

export function sanityScheme(source: SourceConfigOf<'sanity'>): SourceScheme {
  return {
    signatureHeader: SIGNATURE,
    replayWindowSeconds: 2 * source.toleranceSeconds,
    defaultEvents: ['create', 'update', 'delete'],
    verify(request, nowMs) {
      const header = headerOf(request.headers, SIGNATURE)?.trim();
      const parsed = header === undefined ? undefined : parseSignatureHeader(header);
      if (!parsed) return { ok: false, reason: `missing or malformed ${SIGNATURE} header (t=<ms>,v1=<sig>)` };
      if (parsed.timestampMs < EARLIEST_TIMESTAMP_MS) {
        return { ok: false, reason: `${SIGNATURE} timestamp is not in unix milliseconds` };
      }
      const age = checkAge(parsed.timestampMs, nowMs, source.toleranceSeconds);
      if (!age.ok) return age;
      const expected = hmacOf('sha256', source.secret, [`${parsed.timestamp}.`, request.body], 'base64url');
      return sameSignature(expected, parsed.signature, 'base64url') ? { ok: true } : MISMATCH;
    },
    read(headers, body) {
      return {
        id: headerOf(headers, 'idempotency-key'),
        name: headerOf(headers, 'sanity-operation'),
        contentType: textAt(body, '_type'),
        document: body,
      };
    },
  };
}

/**
 * `t=<digits>,v1=<signature>`, exactly: the toolkit compares the whole header with the one it re-encodes as
 * `t=${Number(t)},v1=...`, so a space after the comma or a leading zero never verifies there either.
 */
function parseSignatureHeader(header: string) {
  const comma = header.indexOf(',');
  if (!header.startsWith('t=') || comma < 0) return undefined;
  const timestamp = header.slice(2, comma);
  const rest = header.slice(comma + 1);
  if (!/^[1-9]\d{0,15}$/.test(timestamp) || !rest.startsWith('v1=')) return undefined;
  const signature = rest.slice(3);
  if (signature.length === 0 || signature.includes(',') || signature.includes(' ')) return undefined;
  return { timestamp, timestampMs: Number(timestamp), signature };
}
