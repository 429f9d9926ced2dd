import type { FastifyInstance, FastifyRequest } from 'fastify';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verify } from '../../callbacks/signature.ts';
import { PurgeError } from '../../errors.ts';
import type { Runtime } from '../../runtime.ts';
import { acceptPurge } from '../accept.ts';
import { sendError } from '../errors.ts';
import { type PublishEventBody, publishEventSchema } from '../schemas.ts';

declare module 'fastify' {
  interface FastifyRequest {
    rawBody?: string;
  }
}

/**
 * POST /v1/events/publish: the CMS webhook. Authenticated by an HMAC over the raw body (so the body is
 * kept as sent), checked before the body is validated, so strangers learn nothing about the schema.
 * CMSs redeliver: the event id is the idempotency key, and a repeat answers with the first purge's id.
 */
export async function eventRoutes(
  app: FastifyInstance,
  { runtime, secret }: { runtime: Runtime; secret: string },
) {
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'string' },
    (request: FastifyRequest, body, done) => {
      request.rawBody = String(body);
      try {
        done(null, JSON.parse(String(body)));
      } catch (error) {
        done(
          new PurgeError('INVALID_JSON', `request body is not valid JSON: ${(error as Error).message}`),
          undefined,
        );
      }
    },
  );

  app.addHook('preValidation', async (request, reply) => {
    const result = verify(
      secret,
      { timestamp: header(request, TIMESTAMP_HEADER), signature: header(request, SIGNATURE_HEADER) },
      request.rawBody ?? '',
      Math.floor(Date.now() / 1000),
      runtime.config.api.webhook.toleranceSeconds,
    );
    if (!result.ok) return sendError(reply, 'SIGNATURE_INVALID', result.reason);
  });

  app.post<{ Body: PublishEventBody }>(
    '/v1/events/publish',
    { schema: { body: publishEventSchema } },
    async (request, reply) => {
      const { eventId, ...target } = request.body;
      const result = await acceptPurge(
        { ...target, idempotencyKey: `event:${eventId}` },
        runtime.config,
        runtime.producer,
      );
      request.log.info(
        { purgeId: result.id, eventId, duplicate: result.duplicate },
        'publish event accepted',
      );
      return reply.code(202).send({
        id: result.id,
        cdns: result.cdns,
        eventId,
        ...(result.duplicate ? { duplicate: true } : {}),
      });
    },
  );
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
