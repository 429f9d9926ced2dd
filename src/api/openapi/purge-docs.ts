import { DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT, PURGE_STATES } from '../../model/list-query.ts';
import { OPTIONAL_BODY } from './documented-only.ts';
import { errorResponses } from './error-responses.ts';
import { ACCEPTED, FORECAST, RUNNING_STATUS } from './purge-examples.ts';

/**
 * The OpenAPI parts of the purge routes (routes/purges.ts, purge-list.ts, replay.ts): what each answers, with
 * examples. Their request schemas are the ones Fastify validates with (schemas.ts).
 */
const BEARER = [{ bearerAuth: [] }];
const json = (schema: unknown, examples: Record<string, unknown>) => ({
  content: { 'application/json': { schema, examples } },
});
const example = (summary: string, value: unknown) => ({ summary, value });

export const createPurgeDoc = {
  operationId: 'createPurge',
  tags: ['Purges'],
  summary: 'Enqueue a purge',
  description:
    'Answers 202 once the purge is accepted in Redis (record, plan, quota and targets, in one Lua call), and with `redis.waitReplicas` once replicas acknowledged it. URLs and dirs are canonicalised at ingest. `idempotencyKey` (or the `Idempotency-Key` header) makes a repeat answer the first purge with `"duplicate": true`. With `"dryRun": true` nothing is written and the answer (200) says what accepting it now would do.',
  security: BEARER,
  response: {
    200: {
      description: 'dry run: what sending it for real would do now; nothing was written',
      ...json(
        { $ref: 'DryRunAnswer#' },
        {
          accepted: example('a dry run that would be accepted', {
            dryRun: true,
            outcome: 'accepted',
            wouldAnswer: 202,
            cdns: { 'quantil-main': FORECAST },
            wouldBeRefused: [],
          }),
        },
      ),
    },
    202: {
      description: 'accepted (or, with `duplicate`, the purge an earlier request with the same key made)',
      ...json(
        { $ref: 'PurgeAccepted#' },
        {
          accepted: example('a new purge', ACCEPTED),
          duplicate: example('the same request under the same key', { ...ACCEPTED, duplicate: true }),
        },
      ),
    },
    ...errorResponses(
      [
        'REQUEST_INVALID',
        'INVALID_JSON',
        'KIND_UNSUPPORTED',
        'CALLBACK_URL_FORBIDDEN',
        'UNAUTHORIZED',
        'IDEMPOTENCY_KEY_REUSED',
        'PAYLOAD_TOO_LARGE',
        'UNSUPPORTED_MEDIA_TYPE',
        'QUOTA_EXCEEDED',
        'BACKLOG_FULL',
        'REDIS_UNAVAILABLE',
        'NOT_REPLICATED',
        'CALLBACK_CHECK_BUSY',
      ],
      { bearer: true },
    ),
  },
} as const;

export const getPurgeDoc = {
  operationId: 'getPurge',
  tags: ['Purges'],
  summary: "A purge's status",
  description:
    'Per CDN, how many targets ended each way, and the CDN calls (batches) carrying them. `state` is `queued`, `running`, then `succeeded`, `failed` or `timed_out`. On a CDN that verifies at its edges, batches carry `verification` and the purge `verification` and `verified`.',
  security: BEARER,
  response: {
    200: {
      description: 'its status',
      ...json(
        { $ref: 'PurgeStatus#' },
        { running: example('one CDN done and verified, one still polling', RUNNING_STATUS) },
      ),
    },
    ...errorResponses(['REQUEST_INVALID', 'UNAUTHORIZED', 'NOT_FOUND', 'REDIS_UNAVAILABLE'], {
      bearer: true,
    }),
  },
} as const;

/**
 * Documented only: the query is read by the shared model (model/list-query.ts), which names the parameter of
 * each refusal, so purge-list.ts does not let Fastify validate with it. `explode: false` is how `state` and
 * `cdn` take several values: comma-separated.
 */
export const listQuerySchema = {
  type: 'object',
  style: 'form',
  explode: false,
  properties: {
    state: {
      type: 'array',
      items: { type: 'string', enum: [...PURGE_STATES] },
      description: 'any of these states, comma-separated',
    },
    cdn: { type: 'array', items: { type: 'string' }, description: 'sent to any of these CDN ids' },
    since: {
      type: 'string',
      description:
        'accepted at or after: an ISO 8601 date (UTC without an offset), epoch ms, or a span back (`1h`, `7d`)',
    },
    until: { type: 'string', description: 'accepted at or before, as `since`' },
    url: { type: 'string', minLength: 1, maxLength: 2048, description: 'text one of its targets contains' },
    limit: { type: 'integer', minimum: 1, maximum: MAX_LIST_LIMIT, default: DEFAULT_LIST_LIMIT },
    cursor: { type: 'string', maxLength: 256, description: 'the `nextCursor` of the page before' },
  },
} as const;

export const listPurgesDoc = {
  operationId: 'listPurges',
  tags: ['Purges'],
  summary: 'List purges, newest first',
  description:
    'One bounded page at a time: a page looks at no more than 10 × `limit` purges, so it can hold fewer than `limit` (even none) and still carry a `nextCursor`: follow it until there is none.',
  security: BEARER,
  response: {
    200: {
      description: 'a page',
      ...json(
        { $ref: 'PurgeListPage#' },
        {
          failed: example('failed and timed-out purges of the last hour', {
            purges: [
              {
                id: '9b3e77',
                state: 'failed',
                createdAt: 1795625094116,
                finishedAt: 1795625097301,
                label: 'https://www.example.com/news/today.html',
                request: { urls: 1, dirs: 0 },
                cdns: ['vims-main'],
                targets: { 'vims-main': { total: 1, succeeded: 0, failed: 1, timedOut: 0, pending: 0 } },
                errorCodes: ['CDN_TASK_FAILED'],
              },
            ],
            nextCursor: 'WzE3OTU2MjUwOTQxMTYsIjliM2U3NyJd',
          }),
        },
      ),
    },
    ...errorResponses(['REQUEST_INVALID', 'UNAUTHORIZED', 'REDIS_UNAVAILABLE'], {
      bearer: true,
      parameter: true,
      examples: {
        REQUEST_INVALID: {
          error: 'REQUEST_INVALID',
          message: 'since: "yesterday" is not an ISO 8601 date, epoch milliseconds or a span back from now',
          parameter: 'since',
        },
      },
    }),
  },
} as const;

/** Documented only, like the list's query: the body is optional, which a route's body schema cannot say. */
export const replayBodySchema = {
  type: 'object',
  properties: { all: { type: 'boolean', description: 'everything it asked for, not only what failed' } },
} as const;

export const replayPurgeDoc = {
  operationId: 'replayPurge',
  tags: ['Purges'],
  summary: 'Send a purge again',
  description:
    'A new purge naming it (`replayOf`): by default only the purge\'s own targets that rode its failed, timed-out and stale batches; with `{"all": true}` everything it asked of every CDN. The body is optional. Idempotent per origin within `api.idempotencyWindowSeconds`, whoever asks.',
  security: BEARER,
  [OPTIONAL_BODY]: true,
  response: {
    202: {
      description: 'the replay is accepted (with `duplicate`, the first replay of this purge)',
      ...json(
        { $ref: 'ReplayAccepted#' },
        {
          accepted: example('a new replay', { id: 'c41a05', cdns: ['vims-main'], replayOf: '9b3e77' }),
          duplicate: example('replayed before', {
            id: 'c41a05',
            cdns: ['vims-main'],
            replayOf: '9b3e77',
            duplicate: true,
          }),
        },
      ),
    },
    ...errorResponses(
      [
        'REQUEST_INVALID',
        'INVALID_JSON',
        'UNAUTHORIZED',
        'NOT_FOUND',
        'NOTHING_TO_REPLAY',
        'PAYLOAD_TOO_LARGE',
        'UNSUPPORTED_MEDIA_TYPE',
        'QUOTA_EXCEEDED',
        'REDIS_UNAVAILABLE',
        'NOT_REPLICATED',
      ],
      { bearer: true },
    ),
  },
} as const;
