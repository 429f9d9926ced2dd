import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { type ErrorCode, isPurgeError } from '../errors.ts';
import { NotReplicatedError } from '../queue/replicas.ts';
import { type DrainLimits, drainBody } from './drain.ts';
import { markRefused } from './refusals.ts';

/** HTTP status for each code the API can answer with. */
const STATUS: Partial<Record<ErrorCode, number>> = {
  REQUEST_INVALID: 400,
  INVALID_JSON: 400,
  KIND_UNSUPPORTED: 400,
  CALLBACK_URL_FORBIDDEN: 400,
  UNAUTHORIZED: 401,
  SIGNATURE_INVALID: 401,
  DASHBOARD_ACTION_FORBIDDEN: 403,
  NOT_FOUND: 404,
  IDEMPOTENCY_KEY_REUSED: 409,
  NOTHING_TO_REPLAY: 409,
  TEMPLATE_FIELD_MISSING: 422,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  QUOTA_EXCEEDED: 429,
  BACKLOG_FULL: 429,
  REDIS_UNAVAILABLE: 503,
  NOT_REPLICATED: 503,
  CALLBACK_CHECK_BUSY: 503,
};

/** Every code an HTTP route answers with: those with a status of their own, and INTERNAL. */
export const HTTP_ERROR_CODES: readonly ErrorCode[] = [...(Object.keys(STATUS) as ErrorCode[]), 'INTERNAL'];

/** The HTTP status an error code answers with (500 for one the API never sends itself). */
export function httpStatusOf(code: ErrorCode): number {
  return STATUS[code] ?? 500;
}

export interface ApiErrorBody {
  error: ErrorCode;
  message: string;
  /** The query or path parameter a refusal is about. */
  parameter?: string;
}

export function sendError(
  reply: FastifyReply,
  code: ErrorCode,
  message: string,
  parameter?: string,
): FastifyReply {
  const body: ApiErrorBody = { error: code, message, ...(parameter === undefined ? {} : { parameter }) };
  markRefused(reply, code);
  return reply.code(httpStatusOf(code)).send(body);
}

/**
 * Every failure leaves as `{"error": CODE, "message": ...}` with a precise status; internals are logged, not
 * sent. `drain` bounds how much of an oversize body is read so its client gets to read the 413.
 */
export function apiErrorHandler(drain: DrainLimits) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply) =>
    handleError(error, request, reply, drain);
}

function handleError(error: FastifyError, request: FastifyRequest, reply: FastifyReply, drain: DrainLimits) {
  if (error instanceof NotReplicatedError) return sendNotReplicated(reply, error);
  if (isPurgeError(error)) {
    // A refusal that says when to come back (a shed bulk purge): the client's retry waits that long.
    if (error.retryAfterMs !== undefined && httpStatusOf(error.code) === 429) {
      reply.header('retry-after', String(Math.max(1, Math.ceil(error.retryAfterMs / 1_000))));
    }
    return sendError(reply, error.code, error.message, error.parameter);
  }
  if (error.validation) {
    return sendError(
      reply,
      'REQUEST_INVALID',
      `${error.validationContext ?? 'body'}${formatValidation(error)}`,
    );
  }
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return refuseOversizeBody(request, reply, drain);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return sendError(reply, 'UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return sendError(reply, 'INVALID_JSON', 'request body is empty');
  }
  if (error.statusCode === 400 && (error instanceof SyntaxError || /JSON/i.test(error.message))) {
    return sendError(reply, 'INVALID_JSON', `request body is not valid JSON: ${error.message}`);
  }
  if (isRedisFailure(error)) {
    request.log.error({ err: error }, 'Redis unavailable');
    return sendError(reply, 'REDIS_UNAVAILABLE', 'Redis is not reachable; nothing was enqueued, retry later');
  }
  if (error.statusCode === 401) return sendError(reply, 'UNAUTHORIZED', error.message);
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    markRefused(reply, 'REQUEST_INVALID');
    return reply.code(error.statusCode).send({ error: 'REQUEST_INVALID', message: error.message });
  }
  request.log.error({ err: error }, 'unexpected error');
  return sendError(reply, 'INTERNAL', 'unexpected error');
}

/**
 * The purge is accepted (on the primary): the answer names it, so a caller without an idempotency key can
 * follow it with GET /v1/purges/:id instead of sending a new one.
 */
function sendNotReplicated(reply: FastifyReply, error: NotReplicatedError): FastifyReply {
  markRefused(reply, 'NOT_REPLICATED');
  return reply
    .code(STATUS.NOT_REPLICATED ?? 503)
    .header('retry-after', String(Math.ceil((error.retryAfterMs ?? 1_000) / 1_000)))
    .send({
      error: error.code,
      message: error.message,
      id: error.purgeId,
      cdns: error.cdns,
      replicas: { acknowledged: error.acknowledged, required: error.required },
    });
}

/**
 * Fastify refuses an oversize body before reading it (at once, on a declared length) and marks the answer
 * `connection: close`. Sent so while the client is still uploading, the answer is often lost (see
 * drain.ts). So the rest of the body is read first, within the drain limits, and the connection kept
 * when that worked; past the limits it closes, and such a client may see a reset instead of the 413.
 */
async function refuseOversizeBody(request: FastifyRequest, reply: FastifyReply, drain: DrainLimits) {
  const drained = await drainBody(request.raw, drain);
  if (drained) reply.removeHeader('connection');
  else reply.header('connection', 'close');
  return sendError(reply, 'PAYLOAD_TOO_LARGE', 'request body is over the configured limit');
}

function formatValidation(error: FastifyError): string {
  return (error.validation ?? [])
    .map((issue) => `${issue.instancePath || ''} ${issue.message ?? 'is invalid'}`.trimEnd())
    .join('; ');
}

/** Literal alternatives only, so linear in the message (which may quote what a client sent). */
export function isRedisFailure(error: Error): boolean {
  const text = `${error.name} ${error.message}`;
  return /ECONNREFUSED|Connection is closed|max retries per request|enableOfflineQueue|Command timed out|ETIMEDOUT/i.test(
    text,
  );
}
