import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from '../observability/logger.ts';
import type { Runtime } from '../runtime.ts';
import { apiErrorHandler, sendError } from './errors.ts';
import { serializeResponsesAsJson } from './openapi/documented-only.ts';
import { DASHBOARD_PATH, dashboardPlugin } from './plugins/dashboard.ts';
import { registerOpenApi } from './plugins/openapi.ts';
import { purgeExplorerPlugin } from './plugins/purge-explorer.ts';
import { countRefusals } from './refusals.ts';
import { logEachRequest, withoutFastifyRequestLog } from './request-log.ts';
import { eventRoutes } from './routes/events.ts';
import { healthRoutes } from './routes/health.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { purgeListRoutes } from './routes/purge-list.ts';
import { purgeRoutes } from './routes/purges.ts';
import { replayRoutes } from './routes/replay.ts';
import { sourceRoutes } from './routes/sources.ts';

export interface AppDeps {
  runtime: Runtime;
  log: Logger;
}

/**
 * A worker-only process's own small server: /metrics (its counters: submits, polls, outcomes) and the
 * health checks, so workers scaled apart from the API can be scraped too.
 */
export async function buildMetricsApp({ runtime, log }: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    logController: withoutFastifyRequestLog(),
  });
  // Now, not at the first scrape: the counters count from the moment the metrics exist.
  runtime.metrics();
  logEachRequest(app);
  serializeResponsesAsJson(app);
  await app.register(healthRoutes, { runtime });
  await app.register(metricsRoutes, { runtime });
  return app;
}

/** Builds the HTTP API; never listens by itself, so tests drive it with inject() or their own listen(). */
export async function buildApp({ runtime, log }: AppDeps): Promise<FastifyInstance> {
  const { api } = runtime.config;
  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    // Our own line per request instead (request-log.ts): Fastify's is written before auth names the client.
    logController: withoutFastifyRequestLog(),
    bodyLimit: api.bodyLimitBytes,
    // Fastify's Ajv defaults coerce types and strip unknown keys; a wrong type must be an error instead.
    // `x-examples` (request examples for the OpenAPI document) is an annotation, never checked.
    ajv: {
      customOptions: {
        coerceTypes: false,
        removeAdditional: false,
        allErrors: true,
        keywords: ['x-examples'],
      },
    },
  });
  // JSON only: a text/plain body would otherwise reach the schema as a string and get a vaguer 400.
  app.removeContentTypeParser('text/plain');
  app.decorateRequest('client', '');
  // Now, not at the first scrape: a refusal answered before anyone scraped is counted too.
  runtime.metrics();
  countRefusals(app, runtime.events);
  logEachRequest(app);
  app.setErrorHandler(apiErrorHandler({ limitBytes: api.drainLimitBytes, timeoutMs: api.drainTimeoutMs }));
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, 'NOT_FOUND', `no route ${request.method} ${request.url}`),
  );
  serializeResponsesAsJson(app);
  // First: it documents the routes registered after it.
  await registerOpenApi(app, runtime.config);

  await app.register(healthRoutes, { runtime });
  await app.register(purgeRoutes, { runtime });
  await app.register(purgeListRoutes, { runtime });
  await app.register(replayRoutes, { runtime });
  await app.register(metricsRoutes, { runtime });
  const secret = api.webhook.secret;
  if (secret) await app.register(eventRoutes, { runtime, secret });
  if (api.sources.length > 0) await app.register(sourceRoutes, { runtime });
  if (api.tokens.length === 0)
    log.warn(
      'no api.tokens configured: every call to /v1/purges is refused (401 UNAUTHORIZED); add one to api.tokens',
    );
  const { dashboard } = runtime.config;
  if (dashboard.users.length > 0) {
    await app.register(dashboardPlugin, { runtime, users: dashboard.users, readOnly: dashboard.readOnly });
    await app.register(purgeExplorerPlugin, {
      runtime,
      users: dashboard.users,
      readOnly: dashboard.readOnly,
    });
  } else {
    log.warn(
      `no dashboard.users configured: the queue dashboard (${DASHBOARD_PATH}) and the purge explorer are not mounted`,
    );
  }
  return app;
}
