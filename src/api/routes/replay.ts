import type { FastifyInstance } from 'fastify';
import { PurgeError } from '../../errors.ts';
import { replayPurge } from '../../queue/replay.ts';
import type { Runtime } from '../../runtime.ts';
import { documentedOnly } from '../openapi/documented-only.ts';
import { replayBodySchema, replayPurgeDoc } from '../openapi/purge-docs.ts';
import { bearerAuth } from '../plugins/bearer-auth.ts';
import { purgeIdParams } from '../schemas.ts';

/** The body is optional, which a JSON Schema on the route cannot say (it refuses a missing body). */
function replayAll(body: unknown): boolean {
  if (body === undefined || body === null) return false;
  if (typeof body !== 'object' || Array.isArray(body))
    throw new PurgeError('REQUEST_INVALID', 'body must be an object: {} or {"all": true}');
  const { all, ...rest } = body as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0)
    throw new PurgeError('REQUEST_INVALID', `body: unknown field ${JSON.stringify(unknown[0])} (only all)`);
  if (all !== undefined && typeof all !== 'boolean')
    throw new PurgeError('REQUEST_INVALID', 'body/all must be boolean');
  return all === true;
}

/**
 * POST /v1/purges/:id/replay: sends a purge again as a new purge naming it (`replayOf`), by default only
 * what failed or timed out, with `{"all": true}` all of it. The body is optional.
 */
export async function replayRoutes(app: FastifyInstance, { runtime }: { runtime: Runtime }) {
  app.addHook('onRequest', bearerAuth(runtime.config.api.tokens));

  app.post<{ Params: { id: string } }>(
    '/v1/purges/:id/replay',
    {
      schema: { ...replayPurgeDoc, params: purgeIdParams },
      config: documentedOnly({ body: replayBodySchema }),
    },
    async (request, reply) => {
      const all = replayAll(request.body);
      const result = await replayPurge(request.params.id, { all }, runtime);
      request.log.info(
        {
          purgeId: result.id,
          replayOf: result.replayOf,
          all,
          cdns: result.cdns,
          duplicate: result.duplicate,
        },
        'purge replay accepted',
      );
      return reply.code(202).send({
        id: result.id,
        cdns: result.cdns,
        replayOf: result.replayOf,
        ...(result.duplicate ? { duplicate: true } : {}),
      });
    },
  );
}
