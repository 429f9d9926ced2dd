import type { IncomingHttpHeaders } from 'node:http';
import type { GenericSignature, SourceConfigOf, ValueLocator } from '../../config/sources.ts';
import { checkAge, headerOf, hmacOf, MISMATCH, parseDigits, sameSignature } from '../hmac.ts';
import type { ReceivedRequest, SourceScheme } from '../source.ts';
import { readField } from '../url-template.ts';

/**
 * Any other sender that signs with an HMAC: the header, algorithm, encoding and prefix are configured, and
 * so is a timestamp header with how it joins the body in the signed text (`{timestamp}.{body}` by default).
 * The event's id, name and content type come from a header or a body field each, when configured.
 */
export function genericScheme(source: SourceConfigOf<'generic'>): SourceScheme {
  const { signature } = source;
  return {
    signatureHeader: signature.header,
    replayWindowSeconds: signature.timestamp ? 2 * signature.timestamp.toleranceSeconds : undefined,
    defaultEvents: undefined,
    verify(request, nowMs) {
      const presented = headerOf(request.headers, signature.header);
      if (!presented) return { ok: false, reason: `missing ${signature.header} header` };
      if (!presented.startsWith(signature.prefix)) {
        return { ok: false, reason: `${signature.header} does not start with "${signature.prefix}"` };
      }
      const signed = signedParts(signature, request, nowMs);
      if (!signed.ok) return signed;
      const expected = hmacOf(signature.algorithm, source.secret, signed.parts, signature.encoding);
      const digest = presented.slice(signature.prefix.length);
      return sameSignature(expected, digest, signature.encoding) ? { ok: true } : MISMATCH;
    },
    read(headers, body) {
      return {
        id: valueAt(source.eventId, headers, body),
        name: valueAt(source.event, headers, body),
        contentType: valueAt(source.contentType, headers, body),
        document: body,
      };
    },
  };
}

type SignedParts = { ok: true; parts: Array<string | Buffer> } | { ok: false; reason: string };

function signedParts(signature: GenericSignature, request: ReceivedRequest, nowMs: number): SignedParts {
  const { timestamp } = signature;
  if (!timestamp) return { ok: true, parts: [request.body] };
  const sent = headerOf(request.headers, timestamp.header);
  const value = parseDigits(sent);
  if (sent === undefined || value === undefined) {
    return { ok: false, reason: `missing or malformed ${timestamp.header} header (unix ${timestamp.unit})` };
  }
  const age = checkAge(
    timestamp.unit === 'seconds' ? value * 1000 : value,
    nowMs,
    timestamp.toleranceSeconds,
  );
  if (!age.ok) return age;
  // The timestamp as sent: the sender signed its own spelling of it, not a number re-spelled by us.
  const [beforeBody = '', afterBody = ''] = timestamp.signedPayload.split('{body}');
  const fill = (text: string) => text.replace('{timestamp}', sent);
  return { ok: true, parts: [fill(beforeBody), request.body, fill(afterBody)] };
}

function valueAt(
  locator: ValueLocator | undefined,
  headers: IncomingHttpHeaders,
  body: unknown,
): string | undefined {
  if (!locator) return undefined;
  if (locator.header !== undefined) return headerOf(headers, locator.header);
  const value = readField(body, (locator.field ?? '').split('.'));
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return typeof value === 'string' ? value : undefined;
}
