import type { FastifyInstance } from 'fastify';
import type { Runtime } from '../../runtime.ts';
import { withTimeout } from '../../with-timeout.ts';
import { livenessDoc, readinessDoc } from '../openapi/operations-docs.ts';

/** Liveness says the process answers; readiness says it can do its job (Redis answers, config loaded). */
export async function healthRoutes(app: FastifyInstance, { runtime }: { runtime: Runtime }) {
  app.get('/healthz', { schema: livenessDoc }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: readinessDoc }, async (_request, reply) => {
    try {
      await withTimeout(runtime.ping(), 2_000, 'Redis ping');
      return { status: 'ready', cdns: runtime.config.cdns.map((cdn) => cdn.id) };
    } catch (error) {
      return reply.code(503).send({ status: 'unavailable', reason: `Redis: ${(error as Error).message}` });
    }
  });
}
