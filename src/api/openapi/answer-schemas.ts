import { ERROR_CODES } from '../../errors.ts';

/**
 * JSON Schemas of the acceptances and the dry run (routes/*.ts, dry-run-answer.ts, queue/dry-run.ts), for the
 * OpenAPI document only, open like status-schemas.ts.
 */
const count = { type: 'integer', minimum: 0 } as const;
const strings = { type: 'array', items: { type: 'string' } } as const;
const duplicate = {
  type: 'boolean',
  enum: [true],
  description:
    'present on a repeat (same idempotency key or event id, same request): nothing new was enqueued',
} as const;

export const acceptedSchema = {
  $id: 'PurgeAccepted',
  type: 'object',
  description: 'The purge is accepted in Redis: follow it with GET /v1/purges/{id}.',
  required: ['id', 'cdns'],
  properties: { id: { type: 'string' }, cdns: { ...strings, description: 'the CDNs it goes to' }, duplicate },
} as const;

export const replayAcceptedSchema = {
  $id: 'ReplayAccepted',
  type: 'object',
  required: ['id', 'cdns', 'replayOf'],
  properties: {
    ...acceptedSchema.properties,
    replayOf: { type: 'string', description: 'the purge replayed' },
  },
} as const;

export const publishAcceptedSchema = {
  $id: 'PublishAccepted',
  type: 'object',
  required: ['id', 'cdns', 'eventId'],
  properties: { ...acceptedSchema.properties, eventId: { type: 'string' } },
} as const;

export const sourceAcceptedSchema = {
  $id: 'SourceEventAccepted',
  type: 'object',
  description: 'The event became a purge: the URLs and dirs its templates made.',
  required: ['id', 'cdns', 'urls', 'dirs'],
  properties: {
    ...acceptedSchema.properties,
    eventId: { type: 'string', description: "the CMS's event id, when its deliveries carry one" },
    urls: strings,
    dirs: strings,
  },
} as const;

export const sourceIgnoredSchema = {
  $id: 'SourceEventIgnored',
  type: 'object',
  description:
    'The event is not one the source purges on (`events`), or its content type has no template: nothing was written. A 2xx on purpose: a CMS counts a 4xx as a failed delivery.',
  required: ['ignored', 'reason'],
  properties: {
    ignored: { type: 'boolean', enum: [true] },
    reason: { type: 'string' },
    eventId: { type: 'string' },
  },
} as const;

const kindCounts = {
  type: 'object',
  required: ['urls', 'dirs', 'tags', 'pattern', 'all'],
  properties: { urls: count, dirs: count, tags: count, pattern: count, all: count },
} as const;

const quotaForecast = {
  type: 'object',
  required: ['limit', 'used', 'charge', 'left'],
  properties: { limit: count, used: count, charge: count, left: { type: 'integer' } },
} as const;

export const cdnForecastSchema = {
  $id: 'CdnForecast',
  type: 'object',
  description: 'What accepting the request now would do on one CDN.',
  required: ['targets', 'alreadyPending', 'pending', 'perCall', 'calls', 'callsComplete', 'quota'],
  properties: {
    targets: { ...kindCounts, description: 'what the request asks of it, canonical, duplicates dropped' },
    alreadyPending: { ...kindCounts, description: 'of those, the ones already waiting for a call' },
    pending: { ...count, description: 'targets waiting for this CDN now, from every purge' },
    perCall: {
      type: 'object',
      required: ['maxItems'],
      properties: {
        maxItems: count,
        maxChars: count,
        charsOf: { type: 'string', enum: ['path', 'url'] },
      },
    },
    calls: {
      type: 'array',
      description: 'the calls the next flushes would make, oldest first',
      items: {
        type: 'object',
        required: [...kindCounts.required, 'fromThisRequest'],
        properties: { ...kindCounts.properties, fromThisRequest: count },
      },
    },
    callsComplete: { type: 'boolean', description: 'false when over 10,000 targets are pending' },
    quota: {
      oneOf: [
        {
          type: 'object',
          required: ['limited'],
          properties: { limited: { type: 'boolean', enum: [false] } },
        },
        {
          type: 'object',
          required: ['limited', 'day'],
          properties: {
            limited: { type: 'boolean', enum: [true] },
            day: { type: 'string', description: 'the UTC day, YYYY-MM-DD' },
            urls: quotaForecast,
            dirs: quotaForecast,
          },
        },
      ],
    },
  },
} as const;

export const dryRunSchema = {
  $id: 'DryRunAnswer',
  type: 'object',
  description: 'What sending the same request for real would do now; nothing was written.',
  required: ['dryRun', 'outcome', 'wouldAnswer', 'cdns', 'wouldBeRefused'],
  properties: {
    dryRun: { type: 'boolean', enum: [true] },
    outcome: { type: 'string', enum: ['accepted', 'duplicate', 'refused'] },
    wouldAnswer: { type: 'integer', description: 'the status the real request would get' },
    duplicateOf: { type: 'string', description: 'with `duplicate`: the earlier purge its key maps to' },
    cdns: { type: 'object', additionalProperties: { $ref: 'CdnForecast#' }, description: 'by CDN id' },
    wouldBeRefused: {
      type: 'array',
      description: 'every refusal found, in the order a real request meets them',
      items: {
        type: 'object',
        required: ['code', 'status', 'message'],
        properties: {
          code: { type: 'string', enum: Object.keys(ERROR_CODES) },
          status: { type: 'integer' },
          message: { type: 'string' },
          cdn: { type: 'string' },
          kind: { type: 'string', enum: ['urls', 'dirs'] },
          limit: count,
          used: count,
          charge: count,
        },
      },
    },
  },
} as const;

export const ANSWER_SCHEMAS = [
  acceptedSchema,
  replayAcceptedSchema,
  publishAcceptedSchema,
  sourceAcceptedSchema,
  sourceIgnoredSchema,
  cdnForecastSchema,
  dryRunSchema,
] as const;
