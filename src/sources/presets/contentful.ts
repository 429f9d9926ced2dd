import type { IncomingHttpHeaders } from 'node:http';
import { escape as escapeQuery } from 'node:querystring';
import type { SourceConfigOf } from '../../config/sources.ts';
import { checkAge, headerOf, hmacOf, MISMATCH, parseDigits, sameSignature } from '../hmac.ts';
import type { ReceivedRequest, SourceScheme } from '../source.ts';
import { readField } from '../url-template.ts';

/**
 * Contentful's webhook request verification
 * (https://www.contentful.com/developers/docs/webhooks/request-verification/), as `verifyRequest` of
 * @contentful/node-apps-toolkit computes it: HMAC-SHA256, hex, over
 * `<METHOD>\n<path>\n<key:value;...>\n<body>`, where the headers are the ones `x-contentful-signed-headers`
 * names (keys lower-cased, values trimmed), sorted by key, with `x-contentful-signed-headers` and
 * `x-contentful-timestamp` (unix ms) always among them. The event id is `x-contentful-idempotency-key`
 * (https://www.contentful.com/developers/changelog/idempotency-key-headers-for-webhook-requests/), its name
 * the action that ends `x-contentful-topic` (`ContentManagement.Entry.publish` -> `publish`).
 */
const SIGNATURE = 'x-contentful-signature';
const SIGNED_HEADERS = 'x-contentful-signed-headers';
const TIMESTAMP = 'x-contentful-timestamp';
// The toolkit refuses timestamps before 2020 as not being milliseconds.
const EARLIEST_TIMESTAMP_MS = 1_577_836_800_000;

export function contentfulScheme(source: SourceConfigOf<'contentful'>): SourceScheme {
  return {
    signatureHeader: SIGNATURE,
    replayWindowSeconds: 2 * source.toleranceSeconds,
    defaultEvents: ['publish'],
    verify(request, nowMs) {
      const signature = headerOf(request.headers, SIGNATURE);
      const timestamp = parseDigits(headerOf(request.headers, TIMESTAMP));
      const signedHeaders = headerOf(request.headers, SIGNED_HEADERS);
      if (signature?.length !== 64) {
        return { ok: false, reason: `missing or malformed ${SIGNATURE} header` };
      }
      if (timestamp === undefined || timestamp <= EARLIEST_TIMESTAMP_MS) {
        return { ok: false, reason: `missing or malformed ${TIMESTAMP} header (unix milliseconds)` };
      }
      if (!signedHeaders) return { ok: false, reason: `missing ${SIGNED_HEADERS} header` };
      const age = checkAge(timestamp, nowMs, source.toleranceSeconds);
      if (!age.ok) return age;
      const canonical = canonicalRequest(request, signedHeaders.split(','), timestamp);
      if (canonical === undefined) return MISMATCH;
      const expected = hmacOf('sha256', source.secret, [canonical, request.body], 'hex');
      return sameSignature(expected, signature, 'hex') ? { ok: true } : MISMATCH;
    },
    read(headers, body) {
      return {
        id: headerOf(headers, 'x-contentful-idempotency-key'),
        name: actionOf(headers),
        contentType: contentTypeOf(body),
        document: body,
      };
    },
  };
}

/** Everything the signature covers before the body, ending in the newline that precedes it. */
function canonicalRequest(
  request: ReceivedRequest,
  signedHeaderNames: readonly string[],
  timestamp: number,
): string | undefined {
  const picked = new Map<string, string>();
  for (const [key, value] of Object.entries(request.headers)) {
    const name = key.toLowerCase().trim();
    if (value !== undefined && signedHeaderNames.includes(name)) {
      picked.set(name, (Array.isArray(value) ? value.join(', ') : value).trim());
    }
  }
  picked.set(TIMESTAMP, String(timestamp));
  const names = [...picked.keys(), SIGNED_HEADERS].filter((name, i, all) => all.indexOf(name) === i);
  names.sort(byKey);
  picked.set(SIGNED_HEADERS, names.join(','));
  const headerText = names.map((name) => `${name}:${picked.get(name)}`).join(';');
  const path = normalizedPath(request.url);
  return path === undefined ? undefined : `${request.method}\n${path}\n${headerText}\n`;
}

/** The toolkit's order: plain string comparison of the lower-cased keys. */
function byKey(a: string, b: string): number {
  return a > b ? 1 : -1;
}

/** The toolkit's `getNormalizedEncodedURI`: the query escaped, then the whole URI-encoded. */
function normalizedPath(url: string): string | undefined {
  const [pathname = '', search] = url.split('?');
  const escaped = search ? escapeQuery(search) : '';
  try {
    return encodeURI(escaped ? `${pathname}?${escaped}` : pathname);
  } catch {
    return undefined;
  }
}

function actionOf(headers: IncomingHttpHeaders): string | undefined {
  const topic = headerOf(headers, 'x-contentful-topic');
  return topic?.slice(topic.lastIndexOf('.') + 1) || undefined;
}

/** An entry's content type id; for anything else (an Asset), its `sys.type`. */
function contentTypeOf(body: unknown): string | undefined {
  const id = readField(body, ['sys', 'contentType', 'sys', 'id']);
  if (typeof id === 'string') return id;
  const type = readField(body, ['sys', 'type']);
  return typeof type === 'string' ? type : undefined;
}
