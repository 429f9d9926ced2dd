import type { SourceConfig } from '../../config/sources.ts';
import { errorResponses } from './error-responses.ts';

/** The OpenAPI parts of the webhooks: POST /v1/events/publish (routes/events.ts) and each source (sources.ts). */
const json = (schema: unknown, examples: Record<string, unknown>) => ({
  content: { 'application/json': { schema, examples } },
});
const example = (summary: string, value: unknown) => ({ summary, value });

export const publishEventDoc = {
  operationId: 'publishEvent',
  tags: ['Webhooks'],
  summary: 'The CMS publish webhook',
  description:
    'Our own body, signed with `api.webhook.secret`: `X-Purge-Timestamp` (unix seconds, within `toleranceSeconds` of now) and `X-Purge-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">`, checked over the raw bytes before the body is parsed. The event id is the idempotency key: a redelivery answers the first purge with `"duplicate": true`.',
  security: [{ publishSignature: [], publishTimestamp: [] }],
  response: {
    202: {
      description: 'accepted (or, with `duplicate`, a redelivered event)',
      ...json(
        { $ref: 'PublishAccepted#' },
        {
          accepted: example('a new event', {
            id: '6f1c2a',
            cdns: ['vims-main'],
            eventId: 'article-42-published',
          }),
          duplicate: example('redelivered', {
            id: '6f1c2a',
            cdns: ['vims-main'],
            eventId: 'article-42-published',
            duplicate: true,
          }),
        },
      ),
    },
    ...errorResponses([
      'REQUEST_INVALID',
      'INVALID_JSON',
      'KIND_UNSUPPORTED',
      'CALLBACK_URL_FORBIDDEN',
      'SIGNATURE_INVALID',
      'IDEMPOTENCY_KEY_REUSED',
      'PAYLOAD_TOO_LARGE',
      'UNSUPPORTED_MEDIA_TYPE',
      'QUOTA_EXCEEDED',
      'BACKLOG_FULL',
      'REDIS_UNAVAILABLE',
      'NOT_REPLICATED',
      'CALLBACK_CHECK_BUSY',
    ]),
  },
} as const;

/** How each preset signs, as README's sources table says: the text of the source's security scheme. */
const SIGNING: Record<SourceConfig['preset'], string> = {
  contentful:
    'Contentful request verification: hex HMAC-SHA256 of `METHOD\\npath\\nkey:value;...\\nbody` over the headers `X-Contentful-Signed-Headers` lists (`X-Contentful-Timestamp`, unix ms, among them).',
  sanity: '`t=<unix ms>,v1=<unpadded base64url HMAC-SHA256 of "<t>.<body>">`, as @sanity/webhook checks it.',
  storyblok: 'hex HMAC-SHA1 of the body.',
  generic:
    'as configured (`signature`: header, algorithm, encoding, prefix, and optionally a signed timestamp).',
};

/** The security scheme of one source: its CMS's signature header. */
export function sourceSecurityScheme(source: SourceConfig, header: string) {
  return {
    type: 'apiKey' as const,
    in: 'header' as const,
    name: header,
    description: `Source \`${source.name}\` (${source.preset}): ${SIGNING[source.preset]}`,
  };
}

export const sourceSchemeName = (source: SourceConfig) => `source-${source.name}`;

export const sourceBodySchema = {
  description:
    "The CMS's own webhook payload, as it sends it: `application/json` or an `application/*+json` (Contentful's `application/vnd.contentful.management.v1+json`). Its templates turn it into URLs and dirs.",
} as const;

export function sourceEventDoc(source: SourceConfig) {
  return {
    operationId: `sourceEvent-${source.name}`,
    tags: ['Webhooks'],
    summary: `CMS webhook: source ${source.name} (${source.preset})`,
    description: `Configured in \`api.sources\` (preset \`${source.preset}\`): the signature is checked over the raw bytes as the CMS makes it, then the event's content type picks the templates that make its URLs and dirs. Events the source does not purge on answer 202 \`ignored\`. The CMS's event id, where it sends one, is the idempotency key (scope \`source:${source.name}\`).`,
    security: [{ [sourceSchemeName(source)]: [] }],
    response: {
      202: {
        description: 'accepted, a redelivery of an accepted event (`duplicate`), or ignored',
        content: {
          'application/json': {
            schema: { oneOf: [{ $ref: 'SourceEventAccepted#' }, { $ref: 'SourceEventIgnored#' }] },
            examples: {
              accepted: example('the templates made a purge', {
                id: '6f1c2a',
                cdns: ['vims-main'],
                eventId: 'd-1',
                urls: ['https://www.example.com/news/2026/launch'],
                dirs: [],
              }),
              ignored: example('not an event this source purges on', {
                ignored: true,
                reason: 'event "draft" is not one this source purges on (events: published)',
                eventId: 'd-2',
              }),
            },
          },
        },
      },
      ...errorResponses([
        'REQUEST_INVALID',
        'INVALID_JSON',
        'KIND_UNSUPPORTED',
        'SIGNATURE_INVALID',
        'IDEMPOTENCY_KEY_REUSED',
        'PAYLOAD_TOO_LARGE',
        'UNSUPPORTED_MEDIA_TYPE',
        'TEMPLATE_FIELD_MISSING',
        'QUOTA_EXCEEDED',
        'BACKLOG_FULL',
        'REDIS_UNAVAILABLE',
        'NOT_REPLICATED',
      ]),
    },
  };
}
