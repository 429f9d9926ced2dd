import type { Priority } from '../model/purge.ts';

/**
 * JSON Schemas Fastify checks before a handler runs: shape and types only. What JSON Schema cannot say
 * (URL schemes, regex syntax, "at least one target") is checked by the shared zod model afterwards.
 */
// Bounded here only coarsely (api.maxUrlLength is checked, with the index named, by the request model).
const urlList = { type: 'array', items: { type: 'string', maxLength: 16_384 } } as const;
const priority = { type: 'string', enum: ['urgent', 'normal', 'bulk'] } as const;
const cdnList = {
  type: 'array',
  minItems: 1,
  items: { type: 'string', minLength: 1, maxLength: 63 },
} as const;

export const purgeBodySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    urls: urlList,
    dirs: urlList,
    pattern: { type: 'string' },
    all: { type: 'boolean' },
    cdns: cdnList,
    priority,
    idempotencyKey: { type: 'string', minLength: 1, maxLength: 256 },
    callbackUrl: { type: 'string', minLength: 1, maxLength: 2048 },
    dryRun: { type: 'boolean' },
  },
} as const;

export const publishEventSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['eventId', 'urls'],
  properties: {
    eventId: { type: 'string', minLength: 1, maxLength: 256 },
    urls: { ...urlList, minItems: 1 },
    dirs: urlList,
    cdns: cdnList,
    priority,
    callbackUrl: { type: 'string', minLength: 1, maxLength: 2048 },
  },
} as const;

export const idempotencyHeader = {
  type: 'object',
  properties: { 'idempotency-key': { type: 'string', minLength: 1, maxLength: 256 } },
} as const;

export const purgeIdParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_-]+$' } },
} as const;

export interface PurgeBody {
  urls?: string[];
  dirs?: string[];
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
  urls: string[];
  dirs?: string[];
  cdns?: string[];
  priority?: Priority;
  callbackUrl?: string;
}
