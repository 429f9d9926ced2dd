import type { FastifyReply, FastifyRequest } from 'fastify';
import { matchesAny } from '../../callbacks/signature.ts';
import { sendError } from '../errors.ts';

/** An onRequest hook accepting `Authorization: Bearer <token>` for any configured token. */
export function bearerAuth(tokens: readonly string[]) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const header = request.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match?.[1] || tokens.length === 0 || !matchesAny(match[1], tokens)) {
      reply.header('www-authenticate', 'Bearer realm="purge-worker"');
      return sendError(reply, 'UNAUTHORIZED', 'a valid "Authorization: Bearer <token>" header is required');
    }
  };
}
