import type { SourceConfigOf } from '../../config/sources.ts';
import { headerOf, hmacOf, MISMATCH, sameSignature } from '../hmac.ts';
import { type SourceScheme, textAt } from '../source.ts';

/**
 * Storyblok (https://www.storyblok.com/docs/concepts/webhooks, signature:
 * https://www.storyblok.com/tp/webhook-secret-with-different-technologies): `webhook-signature` is the
 * hex HMAC-SHA1 of the raw body. Nothing signed bounds a replay, and Storyblok sends no event id, so a
 * redelivery is a purge of its own (harmless: the same URLs again). The event name is the body's `action`
 * (`published`, `unpublished`, `deleted`, `moved`, ...); the content type is what the event is about:
 * `story`, `asset` or `datasource`, by which id the body carries.
 */
const SIGNATURE = 'webhook-signature';

export function storyblokScheme(source: SourceConfigOf<'storyblok'>): SourceScheme {
  return {
    signatureHeader: SIGNATURE,
    replayWindowSeconds: undefined,
    defaultEvents: ['published'],
    verify(request) {
      const signature = headerOf(request.headers, SIGNATURE);
      if (!signature) return { ok: false, reason: `missing ${SIGNATURE} header` };
      const expected = hmacOf('sha1', source.secret, [request.body], 'hex');
      return sameSignature(expected, signature, 'hex') ? { ok: true } : MISMATCH;
    },
    read(_headers, body) {
      return { id: undefined, name: textAt(body, 'action'), contentType: subjectOf(body), document: body };
    },
  };
}

function subjectOf(body: unknown): string | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  if (Object.hasOwn(body, 'story_id')) return 'story';
  if (Object.hasOwn(body, 'asset_id')) return 'asset';
  if (Object.hasOwn(body, 'datasource_slug')) return 'datasource';
  return undefined;
}
