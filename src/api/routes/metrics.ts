import type { FastifyInstance } from 'fastify';
import type { Runtime } from '../../runtime.ts';
import { metricsDoc } from '../openapi/operations-docs.ts';

/** GET /metrics in Prometheus text format. Unauthenticated, like most exporters: keep the port internal. */
export async function metricsRoutes(app: FastifyInstance, { runtime }: { runtime: Runtime }) {
  const metrics = runtime.metrics();
  app.get('/metrics', { schema: metricsDoc }, async (_request, reply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.render();
  });
}
