import type { Priority } from '../model/purge.ts';

/**
 * JSON Schemas Fastify checks before a handler runs: shape and types only. What JSON Schema cannot say
 * (URL schemes, regex syntax, "at least one target") is checked by the shared zod model afterwards. Their
 * descriptions and `x-examples` are for the OpenAPI document (the app's Ajv knows `x-examples` as an
 * annotation).
 */
// Bounded here only coarsely (api.maxUrlLength is checked, with the index named, by the request model).
const urlList = { type: 'array', items: { type: 'string', maxLength: 16_384 } } as const;
const tagList = {
  type: 'array',
  items: { type: 'string', minLength: 1, maxLength: 128 },
  description:
    "surrogate keys / cache tags, where the CDN purges by them (Fastly, Cloudflare, Akamai); without cdns, every such CDN's",
} as const;
const priority = {
  type: 'string',
  enum: ['urgent', 'normal', 'bulk'],
  description: "the lane; without it, the routes' default for its hosts, else normal",
} as const;
const cdnList = {
  type: 'array',
  minItems: 1,
  items: { type: 'string', minLength: 1, maxLength: 63 },
  description: 'CDN ids; without them, each URL goes where its host routes',
} as const;
const callbackUrl = {
  type: 'string',
  minLength: 1,
  maxLength: 2048,
  description: 'a public http(s) URL the final status is POSTed to, signed',
} as const;

export const purgeBodySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    urls: { ...urlList, description: 'absolute http(s) URLs' },
    dirs: { ...urlList, description: 'directories: each ends in / once canonical' },
    pattern: { type: 'string', description: 'a regex, where the CDN supports it (VIMS)' },
    tags: tagList,
    all: { type: 'boolean', description: 'everything the CDN serves for this account' },
    cdns: cdnList,
    priority,
    idempotencyKey: {
      type: 'string',
      minLength: 1,
      maxLength: 256,
      description: "a repeat with this key (this token's) answers the first purge",
    },
    callbackUrl,
    dryRun: { type: 'boolean', description: 'answer what accepting would do (200), writing nothing' },
  },
  'x-examples': {
    urls: {
      summary: 'a URL, with an idempotency key',
      value: { urls: ['https://www.example.com/news/today.html'], idempotencyKey: 'cms-rev-8812' },
    },
    dirs: {
      summary: 'a directory, urgently, to one CDN',
      value: { dirs: ['https://www.example.com/sport/'], cdns: ['vims-main'], priority: 'urgent' },
    },
    dryRun: {
      summary: 'a dry run',
      value: { urls: ['https://www.example.com/news/today.html'], dryRun: true },
    },
  },
} as const;

export const publishEventSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['eventId'],
  // What a publish purges: its URLs, or its surrogate keys (or both); dirs may come with either.
  anyOf: [{ required: ['urls'] }, { required: ['tags'] }],
  properties: {
    eventId: {
      type: 'string',
      minLength: 1,
      maxLength: 256,
      description: 'the idempotency key: a redelivery answers the first purge',
    },
    urls: { ...urlList, minItems: 1 },
    dirs: urlList,
    tags: { ...tagList, minItems: 1 },
    cdns: cdnList,
    priority: { ...priority, description: "the lane; default api.webhook.priority, then the routes'" },
    callbackUrl,
  },
  'x-examples': {
    published: {
      summary: 'an article published',
      value: { eventId: 'article-42-published', urls: ['https://www.example.com/news/42.html'] },
    },
  },
} as const;

export const idempotencyHeader = {
  type: 'object',
  properties: {
    'idempotency-key': {
      type: 'string',
      minLength: 1,
      maxLength: 256,
      description: 'the same as the body field idempotencyKey (both, differing: 400)',
    },
  },
} as const;

export const purgeIdParams = {
  type: 'object',
  required: ['id'],
  properties: {
    id: {
      type: 'string',
      minLength: 1,
      maxLength: 128,
      pattern: '^[A-Za-z0-9_-]+$',
      description: 'the purge id a 202 named',
    },
  },
} as const;

export interface PurgeBody {
  urls?: string[];
  dirs?: string[];
  tags?: string[];
  pattern?: string;
  all?: boolean;
  cdns?: string[];
  priority?: Priority;
  idempotencyKey?: string;
  callbackUrl?: string;
  dryRun?: boolean;
}

export interface PublishEventBody {
  eventId: string;
  urls?: string[];
  dirs?: string[];
  tags?: string[];
  cdns?: string[];
  priority?: Priority;
  callbackUrl?: string;
}
