import { ERROR_CODES, type ErrorCode } from '../../errors.ts';
import { httpStatusOf } from '../errors.ts';

/**
 * The error answers of one route for its OpenAPI document: per status, a body schema whose `error` is an
 * `enum` of exactly the codes the route can answer with that status, an example of each, and the headers
 * that come with some (WWW-Authenticate, Retry-After). Every route can also answer 500 INTERNAL.
 */
const EXAMPLE_MESSAGES: Partial<Record<ErrorCode, string>> = {
  REQUEST_INVALID: 'body/urls must be array',
  INVALID_JSON: 'request body is not valid JSON: Unexpected end of JSON input',
  KIND_UNSUPPORTED: 'CDN quantil-main (quantil) cannot purge by pattern',
  CALLBACK_URL_FORBIDDEN:
    'callbackUrl host hooks.internal.example resolves to 10.0.0.7: 10.0.0.7 is a private address (callbacks.allowHosts can allow it)',
  UNAUTHORIZED: 'a valid "Authorization: Bearer <token>" header is required',
  SIGNATURE_INVALID: 'signature does not match the body',
  NOT_FOUND: 'no purge 6f1c2a (unknown, or its status expired)',
  IDEMPOTENCY_KEY_REUSED:
    'idempotency key "cms-rev-8812" was already used for a different request; use a new key for a new request',
  NOTHING_TO_REPLAY:
    'purge 6f1c2a has nothing to replay: it ended succeeded (replay it with all to send all of it again)',
  PAYLOAD_TOO_LARGE: 'request body is over the configured limit',
  UNSUPPORTED_MEDIA_TYPE: 'send the body as application/json',
  TEMPLATE_FIELD_MISSING:
    'template https://www.example.com/news/{fields.slug.en-US} (content type "article") names field "fields.slug.en-US", which the event does not have (or is empty)',
  QUOTA_EXCEEDED:
    'CDN quantil-main: daily quota of 500 dirs would be exceeded (501 requested, 500 left today, UTC)',
  BACKLOG_FULL:
    'CDN vims-main: 5000 bulk targets are waiting (cdns[].maxBulkBacklog); bulk purges are refused until it drains, urgent and normal ones are not',
  REDIS_UNAVAILABLE: 'Redis is not reachable; nothing was enqueued, retry later',
  NOT_REPLICATED:
    'purge 6f1c2a is accepted on the Redis primary, but 0 of the 1 replicas asked for acknowledged it within 500 ms, so a failover could still lose it. Send the request again with the same idempotency key: it maps to this purge and enqueues nothing twice (without a key, a repeat is a new purge)',
  CALLBACK_CHECK_BUSY:
    'callbackUrl host hooks.example.net cannot be checked now: 2 host lookups already running; nothing was enqueued, retry shortly',
  INTERNAL: 'unexpected error',
};

/** What NOT_REPLICATED adds to the error body: the purge it accepted, so a caller can follow it. */
const NOT_REPLICATED_FIELDS = {
  id: { type: 'string', description: 'NOT_REPLICATED: the purge, accepted on the primary' },
  cdns: { type: 'array', items: { type: 'string' }, description: 'NOT_REPLICATED: its CDNs' },
  replicas: {
    type: 'object',
    description: 'NOT_REPLICATED: replicas that acknowledged it in time, of those required',
    required: ['acknowledged', 'required'],
    properties: { acknowledged: { type: 'integer' }, required: { type: 'integer' } },
  },
} as const;

/** Response headers as @fastify/swagger takes them: a JSON Schema each, its description lifted out. */
const RETRY_AFTER = { type: 'integer', description: 'seconds to wait before trying again' } as const;

export interface ErrorResponseOptions {
  /** The route sits behind the bearer token: its 401 carries `WWW-Authenticate`. */
  bearer?: boolean;
  /** Its 400 may name the query parameter it is about (`parameter`). */
  parameter?: boolean;
  /** Examples of this route's own for some codes, over the general ones. */
  examples?: Partial<Record<ErrorCode, Record<string, unknown>>>;
}

export function errorResponses(
  codes: readonly ErrorCode[],
  options: ErrorResponseOptions = {},
): Record<string, unknown> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of [...codes, 'INTERNAL' as const]) {
    const status = httpStatusOf(code);
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const responses: Record<string, unknown> = {};
  for (const [status, answered] of [...byStatus].sort(([a], [b]) => a - b)) {
    responses[String(status)] = {
      description: answered.map((code) => `\`${code}\`: ${ERROR_CODES[code]}`).join('\n\n'),
      ...headersOf(status, answered, options),
      content: {
        'application/json': {
          schema: errorBodySchema(status, answered, options),
          examples: Object.fromEntries(answered.map((code) => [code, exampleOf(code, options)])),
        },
      },
    };
  }
  return responses;
}

function errorBodySchema(status: number, codes: readonly ErrorCode[], options: ErrorResponseOptions) {
  return {
    type: 'object',
    required: ['error', 'message'],
    properties: {
      error: { type: 'string', enum: [...codes], description: 'the stable code: branch on it' },
      message: { type: 'string', description: 'for people; may change' },
      ...(status === 400 && options.parameter
        ? { parameter: { type: 'string', description: 'the query parameter refused' } }
        : {}),
      ...(codes.includes('NOT_REPLICATED') ? NOT_REPLICATED_FIELDS : {}),
    },
  };
}

function headersOf(status: number, codes: readonly ErrorCode[], options: ErrorResponseOptions) {
  if (status === 401 && options.bearer) {
    return { headers: { 'WWW-Authenticate': { type: 'string', enum: ['Bearer realm="purge-worker"'] } } };
  }
  if (codes.includes('BACKLOG_FULL') || codes.includes('NOT_REPLICATED')) {
    const which = codes.includes('BACKLOG_FULL') ? 'BACKLOG_FULL' : 'NOT_REPLICATED';
    return {
      headers: {
        'Retry-After': { ...RETRY_AFTER, description: `with ${which}: ${RETRY_AFTER.description}` },
      },
    };
  }
  return {};
}

function exampleOf(code: ErrorCode, options: ErrorResponseOptions) {
  const own = options.examples?.[code];
  const value = own ?? {
    error: code,
    message: EXAMPLE_MESSAGES[code] ?? ERROR_CODES[code],
    ...(code === 'NOT_REPLICATED'
      ? { id: '6f1c2a', cdns: ['vims-main'], replicas: { acknowledged: 0, required: 1 } }
      : {}),
  };
  return { summary: code, value };
}
