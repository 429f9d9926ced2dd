import type { FastifyReply, FastifyRequest } from 'fastify';
import { matchesAny } from '../../callbacks/signature.ts';
import { sendError } from '../errors.ts';

/** An onRequest hook accepting `Authorization: Bearer <token>` for any configured token. */
export function bearerAuth(tokens: readonly string[]) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const token = bearerToken(request.headers.authorization ?? '');
    if (token === undefined || tokens.length === 0 || !matchesAny(token, tokens)) {
      reply.header('www-authenticate', 'Bearer realm="purge-worker"');
      return sendError(reply, 'UNAUTHORIZED', 'a valid "Authorization: Bearer <token>" header is required');
    }
  };
}

/**
 * The token of `Bearer <token>`, or undefined. Linear on any header: `\s+` and `\S+` share no character,
 * so there is only one way to split, and the anchors leave a single start.
 */
export function bearerToken(header: string): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(header)?.[1];
}
