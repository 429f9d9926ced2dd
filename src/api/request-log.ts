import { type FastifyInstance, LogController } from 'fastify';

/** Fastify's own per-request lines, off (`disableRequestLogging: true`): logEachRequest writes ours. */
export function withoutFastifyRequestLog(): LogController {
  return new LogController({ disableRequestLogging: true });
}

/**
 * One log line per request, written when its answer has gone out. Fastify's own `incoming request` line is
 * written before the auth hook has named the client, so it could never carry `client`; this one uses
 * `request.log`, which does once a hook named it (a request refused before that simply has none). Pair
 * with `logController: withoutFastifyRequestLog()`.
 */
export function logEachRequest(app: FastifyInstance): void {
  app.addHook('onResponse', async (request, reply) => {
    request.log.info(
      {
        method: request.method,
        url: request.url,
        statusCode: reply.statusCode,
        responseTime: reply.elapsedTime,
      },
      'request completed',
    );
  });
}
