import { ERROR_CODES } from '../../errors.ts';
import { PURGE_STATES } from '../../model/list-query.ts';
import { PRIORITIES } from '../../model/purge.ts';
import { BATCH_STATES } from '../../model/status.ts';

/**
 * JSON Schemas of what GET /v1/purges/:id and GET /v1/purges answer (model/status.ts, status/list.ts), for
 * the OpenAPI document only: responses are not serialized through them (see plain-json.ts), so a field
 * missing here is missing from the document, never from an answer. Objects stay open
 * (no `additionalProperties: false`) so a client generated from the document survives a field added later;
 * the tests check real answers against them closed.
 */
const epochMs = { type: 'integer', description: 'epoch milliseconds' } as const;
const count = { type: 'integer', minimum: 0 } as const;
const strings = { type: 'array', items: { type: 'string' } } as const;
const errorCode = { type: 'string', enum: Object.keys(ERROR_CODES) } as const;

export const targetCountsSchema = {
  $id: 'TargetCounts',
  type: 'object',
  description: "Per CDN, how many of the purge's targets ended each way, and how many are still pending.",
  required: ['total', 'succeeded', 'failed', 'timedOut', 'pending'],
  properties: { total: count, succeeded: count, failed: count, timedOut: count, pending: count },
} as const;

export const purgeRequestSchema = {
  $id: 'PurgeRequestCounts',
  type: 'object',
  description: 'What the purge asked for: how many URLs and dirs, its pattern, whether all.',
  required: ['urls', 'dirs'],
  properties: { urls: count, dirs: count, pattern: { type: 'string' }, all: { type: 'boolean' } },
} as const;

export const edgeCheckSchema = {
  $id: 'EdgeCheck',
  type: 'object',
  description: 'One URL as one edge served it, judged.',
  required: ['url', 'edge', 'verdict', 'reason'],
  properties: {
    url: { type: 'string' },
    edge: { type: 'string', description: 'the edge asked: `address:port`, with its name where known' },
    verdict: { type: 'string', enum: ['fresh', 'stale', 'unverified'] },
    reason: { type: 'string' },
  },
} as const;

export const batchVerificationSchema = {
  $id: 'BatchVerification',
  type: 'object',
  description:
    "What checking a batch at its CDN's edges found (`cdns[].verify`): `waiting` and `repurging` while it runs, then `fresh`, `unverified`, `stale` or `skipped`.",
  required: ['state', 'rounds', 'repurges'],
  properties: {
    state: { type: 'string', enum: ['waiting', 'repurging', 'fresh', 'unverified', 'stale', 'skipped'] },
    rounds: { ...count, description: 'check rounds done (the first, and one after each re-purge)' },
    repurges: { ...count, description: 're-purges sent, each a purge of its own (`repurgeOf` this batch)' },
    repurgeIds: { ...strings, description: 'the purge ids of those re-purges' },
    checkedAt: { ...epochMs, description: 'when the last round was checked (epoch ms)' },
    edges: { ...strings, description: 'the edges the last round asked' },
    counts: {
      type: 'object',
      description: "the last round's verdicts, URL by edge",
      required: ['fresh', 'stale', 'unverified'],
      properties: { fresh: count, stale: count, unverified: count },
    },
    stale: { type: 'array', items: { $ref: 'EdgeCheck#' }, description: 'at most 20' },
    unverified: { type: 'array', items: { $ref: 'EdgeCheck#' }, description: 'at most 20' },
    secondsToFresh: {
      type: 'number',
      description: "from the oldest target's acceptance to the round that found every check fresh",
    },
    note: { type: 'string', description: 'why the verification ended as it did, or what it waits for' },
  },
} as const;

export const purgeBatchSchema = {
  $id: 'PurgeBatchStatus',
  type: 'object',
  description:
    "One CDN call carrying the purge's targets (and, coalesced, other purges'): `share` of its `items` are this purge's.",
  required: ['batchId', 'cdnId', 'state', 'items', 'attempts', 'polls', 'queuedAt', 'updatedAt', 'share'],
  properties: {
    batchId: { type: 'string' },
    cdnId: { type: 'string' },
    state: { type: 'string', enum: [...BATCH_STATES] },
    items: count,
    share: { ...count, description: "how many of the batch's items are this purge's" },
    purges: { ...count, description: 'how many purges this CDN call carries' },
    lane: { type: 'string', enum: [...PRIORITIES], description: 'the most urgent lane among its targets' },
    remoteId: { type: 'string', description: "the CDN's task id" },
    progress: { type: 'number', minimum: 0, maximum: 100, description: 'as the CDN reports it' },
    attempts: { ...count, description: 'submit calls made, retries included' },
    polls: count,
    error: { type: 'string', description: 'why it failed, timed out or is being retried' },
    errorCode: { ...errorCode, description: 'the stable code of `error` (README "Error codes")' },
    queuedAt: epochMs,
    submittedAt: epochMs,
    finishedAt: epochMs,
    updatedAt: epochMs,
    acceptedAt: { ...epochMs, description: 'when its oldest target was accepted (epoch ms)' },
    deadlineAt: { ...epochMs, description: 'when it ends `timed_out` if not ended otherwise (epoch ms)' },
    verification: { $ref: 'BatchVerification#' },
    completion: {
      type: 'string',
      description:
        'set when the CDN has no status to poll (Fastly, Cloudflare, Akamai, Varnish): how the batch was judged done',
    },
  },
} as const;

const purgeFields = {
  id: { type: 'string' },
  state: { type: 'string', enum: [...PURGE_STATES] },
  createdAt: { ...epochMs, description: 'accepted at (epoch ms)' },
  finishedAt: epochMs,
  label: { type: 'string', maxLength: 200, description: 'its first target' },
  replayOf: { type: 'string', description: 'the purge this one replays' },
  request: { $ref: 'PurgeRequestCounts#' },
  cdns: strings,
  targets: { type: 'object', additionalProperties: { $ref: 'TargetCounts#' }, description: 'by CDN id' },
} as const;

export const purgeStatusSchema = {
  $id: 'PurgeStatus',
  type: 'object',
  description: 'Where a purge stands, per CDN and per CDN call.',
  required: ['id', 'state', 'createdAt', 'request', 'cdns', 'targets', 'batches'],
  properties: {
    ...purgeFields,
    priority: { type: 'string', enum: [...PRIORITIES], description: 'its lane' },
    batches: { type: 'array', items: { $ref: 'PurgeBatchStatus#' } },
    repurgeOf: { type: 'string', description: 'on a re-purge verification sent: the batch it repairs' },
    verification: {
      type: 'object',
      description: 'per CDN that verifies (`cdns[].verify`): the worst of its batches',
      additionalProperties: { type: 'string', enum: ['checking', 'fresh', 'unverified', 'stale', 'skipped'] },
    },
    verified: {
      type: 'boolean',
      description: "with `verification`: true once every such CDN's edges were fresh",
    },
  },
} as const;

export const purgeSummarySchema = {
  $id: 'PurgeSummary',
  type: 'object',
  description: 'A purge as the list shows it: its status without the batches, and the codes it ended with.',
  required: ['id', 'state', 'createdAt', 'request', 'cdns', 'targets', 'errorCodes'],
  properties: {
    ...purgeFields,
    errorCodes: { type: 'array', items: errorCode, description: 'of its failed and timed-out batches' },
    matches: { ...strings, maxItems: 3, description: 'with `url`: the targets that contain the text' },
  },
} as const;

export const purgeListSchema = {
  $id: 'PurgeListPage',
  type: 'object',
  required: ['purges'],
  properties: {
    purges: { type: 'array', items: { $ref: 'PurgeSummary#' } },
    nextCursor: {
      type: 'string',
      description: 'present while there is more to look at: pass it as `cursor`',
    },
  },
} as const;
