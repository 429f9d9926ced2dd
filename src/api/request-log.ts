import { type FastifyInstance, LogController } from 'fastify';

/** Fastify's own per-request lines, off (`disableRequestLogging: true`): logEachRequest writes ours. */
export function withoutFastifyRequestLog(): LogController {
  return new LogController({ disableRequestLogging: true });
}

/** Health probes (routes/health.ts), logged at debug. */
const PROBE_ROUTES: ReadonlySet<string> = new Set(['/healthz', '/readyz']);

/**
 * One log line per request, written when its answer has gone out. Fastify's own `incoming request` line is
 * written before the auth hook has named the client, so it could never carry `client`; this one uses
 * `request.log`, which does once a hook named it (a request refused before that simply has none). Pair
 * with `logController: withoutFastifyRequestLog()`.
 */
export function logEachRequest(app: FastifyInstance): void {
  app.addHook('onResponse', async (request, reply) => {
    // A load balancer or orchestrator probes every few seconds: at info those lines would bury the rest.
    const level = PROBE_ROUTES.has(request.routeOptions.url ?? '') ? 'debug' : 'info';
    request.log[level](
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
