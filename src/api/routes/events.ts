import type { FastifyInstance, FastifyRequest } from 'fastify';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verify } from '../../callbacks/signature.ts';
import { PurgeError } from '../../errors.ts';
import type { Runtime } from '../../runtime.ts';
import { acceptPurge } from '../accept.ts';
import { publishEventDoc } from '../openapi/webhook-docs.ts';
import { identifyClient } from '../plugins/bearer-auth.ts';
import { type PublishEventBody, publishEventSchema } from '../schemas.ts';

/**
 * POST /v1/events/publish: the CMS webhook. Authenticated by an HMAC over the raw body, checked in the body
 * parser itself: an unsigned request is refused before its JSON is even parsed, so strangers can neither
 * make us parse their bodies nor learn anything about the schema. CMSs redeliver: the event id is the
 * idempotency key, and a repeat answers with the first purge's id (one whose body changed, with 409).
 */
export async function eventRoutes(
  app: FastifyInstance,
  { runtime, secret }: { runtime: Runtime; secret: string },
) {
  // Only a verified signature names the sender, so a stranger's request is never logged as the webhook's.
  // Marked in the parser, named in preValidation (the first hook after parsing, so a signed request with a
  // bad body is still logged as the webhook's): a bodiless request skips the parser and is never marked.
  const signedRequests = new WeakSet<FastifyRequest>();
  app.addHook('preValidation', async (request, reply) => {
    if (signedRequests.has(request)) identifyClient(request, reply, 'webhook');
  });
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'string' },
    (request: FastifyRequest, body, done) => {
      const raw = String(body);
      const signed = verify(
        secret,
        { timestamp: header(request, TIMESTAMP_HEADER), signature: header(request, SIGNATURE_HEADER) },
        raw,
        Math.floor(Date.now() / 1000),
        runtime.config.api.webhook.toleranceSeconds,
      );
      if (!signed.ok) return done(new PurgeError('SIGNATURE_INVALID', signed.reason), undefined);
      signedRequests.add(request);
      try {
        done(null, JSON.parse(raw));
      } catch (error) {
        done(
          new PurgeError('INVALID_JSON', `request body is not valid JSON: ${(error as Error).message}`),
          undefined,
        );
      }
    },
  );

  app.post<{ Body: PublishEventBody }>(
    '/v1/events/publish',
    { schema: { ...publishEventDoc, body: publishEventSchema } },
    async (request, reply) => {
      const { eventId, ...target } = request.body;
      // Event ids live in their own scope: no API client can take a CMS event's id first.
      const result = await acceptPurge(
        target,
        { scope: 'webhook', key: eventId },
        runtime,
        runtime.config.api.webhook.priority,
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
