import type { FastifyInstance } from 'fastify';
import { parseListQuery } from '../../model/list-query.ts';
import type { Runtime } from '../../runtime.ts';
import { documentedOnly } from '../openapi/documented-only.ts';
import { listPurgesDoc, listQuerySchema } from '../openapi/purge-docs.ts';
import { bearerAuth } from '../plugins/bearer-auth.ts';

/**
 * GET /v1/purges: purges newest first, filtered by state, CDN, time and URL text, a bounded page at a time.
 * The query is checked by the shared model (the CLI's `list` uses the same), not by a JSON Schema: each
 * refusal names its parameter (the query's schema is in the OpenAPI document only).
 */
export async function purgeListRoutes(app: FastifyInstance, { runtime }: { runtime: Runtime }) {
  app.addHook('onRequest', bearerAuth(runtime.config.api.tokens));
  const cdns = new Set(runtime.config.cdns.map((cdn) => cdn.id));

  const options = { schema: listPurgesDoc, config: documentedOnly({ querystring: listQuerySchema }) };
  app.get('/v1/purges', options, async (request, reply) => {
    const query = parseListQuery(request.query as Record<string, unknown>, { now: Date.now(), cdns });
    return reply.send(await runtime.store.list(query));
  });
}
