import type { FastifyInstance } from 'fastify';
import { PurgeError } from '../../errors.ts';
import { publicStatus } from '../../model/status.ts';
import type { Runtime } from '../../runtime.ts';
import { acceptPurge, dryRunPurge } from '../accept.ts';
import { dryRunAnswer } from '../dry-run-answer.ts';
import { sendError } from '../errors.ts';
import { createPurgeDoc, getPurgeDoc } from '../openapi/purge-docs.ts';
import { bearerAuth } from '../plugins/bearer-auth.ts';
import { idempotencyHeader, type PurgeBody, purgeBodySchema, purgeIdParams } from '../schemas.ts';

/** POST /v1/purges and GET /v1/purges/:id, behind bearer tokens. */
export async function purgeRoutes(app: FastifyInstance, { runtime }: { runtime: Runtime }) {
  app.addHook('onRequest', bearerAuth(runtime.config.api.tokens));

  app.post<{ Body: PurgeBody; Headers: { 'idempotency-key'?: string } }>(
    '/v1/purges',
    { schema: { ...createPurgeDoc, body: purgeBodySchema, headers: idempotencyHeader } },
    async (request, reply) => {
      const { idempotencyKey: bodyKey, dryRun, ...body } = request.body;
      const key = idempotencyKeyOf(bodyKey, request.headers['idempotency-key']);
      // Each token's keys are its own: another client's `rev-1`, or a CMS event id, is never this one's.
      const idempotency = key === undefined ? undefined : { scope: `api:${request.client}`, key };
      if (dryRun === true) {
        const answer = dryRunAnswer(await dryRunPurge(body, idempotency, runtime));
        request.log.info({ outcome: answer.outcome, wouldAnswer: answer.wouldAnswer }, 'purge dry run');
        return reply.code(200).send(answer);
      }
      const result = await acceptPurge(body, idempotency, runtime);
      request.log.info(
        { purgeId: result.id, cdns: result.cdns, duplicate: result.duplicate },
        'purge accepted',
      );
      return reply
        .code(202)
        .send({ id: result.id, cdns: result.cdns, ...(result.duplicate ? { duplicate: true } : {}) });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/purges/:id',
    { schema: { ...getPurgeDoc, params: purgeIdParams } },
    async (request, reply) => {
      const status = await runtime.store.get(request.params.id);
      if (!status)
        return sendError(
          reply,
          'NOT_FOUND',
          `no purge ${request.params.id} (unknown, or its status expired)`,
        );
      return reply.send(publicStatus(status));
    },
  );
}

/** The conventional Idempotency-Key header and the body field mean the same; two different keys are a 400. */
function idempotencyKeyOf(body: string | undefined, header: string | undefined): string | undefined {
  if (body !== undefined && header !== undefined && body !== header) {
    throw new PurgeError(
      'REQUEST_INVALID',
      'the Idempotency-Key header and the body field idempotencyKey differ: send one key',
    );
  }
  return body ?? header;
}
