import type { FastifyInstance } from 'fastify';
import type { Runtime } from '../../runtime.ts';

/** Liveness says the process answers; readiness says it can do its job (Redis answers, config loaded). */
export async function healthRoutes(app: FastifyInstance, { runtime }: { runtime: Runtime }) {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    try {
      await withTimeout(runtime.ping(), 2_000);
      return { status: 'ready', cdns: runtime.config.cdns.map((cdn) => cdn.id) };
    } catch (error) {
      return reply.code(503).send({ status: 'unavailable', reason: `Redis: ${(error as Error).message}` });
    }
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
